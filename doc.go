// Package jmi implements the wire format of XEP-0353: Jingle Message
// Initiation, the messages with which XMPP clients start, answer, decline,
// withdraw, end and move calls across all of a person's devices.
//
// Each element of the namespace urn:xmpp:jingle-message:0 is a Go type
// (Propose, Ringing, Retract, Proceed, Reject, Finish, and the legacy Accept).
// Reading is lenient where deployed clients need it; writing is strict.
//
// The call engine is package call; the XMPP client is package client.
package jmi
