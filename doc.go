// Package jmi implements the wire format of XEP-0353: Jingle Message
// Initiation (JMI), the messages with which XMPP clients start, answer,
// decline, withdraw, end and move calls across all of a person's devices.
//
// Each element of the namespace urn:xmpp:jingle-message:0 is a Go type:
// Propose, Ringing, Retract, Proceed, Reject, Finish, and the legacy Accept.
// They implement Element. Parse and DecodeMessage read them with their
// <message/> envelope; Marshal, MarshalMessage, Wrap and the TokenReader,
// WriteXML and MarshalXML methods write them. The package knows nothing of
// sessions: the call engine is package call, the XMPP client package client.
//
// # Starting a call: propose, ringing, proceed
//
// The caller sends a propose to the callee's bare JID, so that the server
// hands it to every device (§3.1). Its id is the session id and later the
// Jingle sid; NewID makes a UUIDv4 as the spec recommends. There is one
// description per media type:
//
//	<message to='juliet@capulet.example' type='chat'>
//	  <propose xmlns='urn:xmpp:jingle-message:0' id='ca3cf894-…'>
//	    <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>
//	  </propose>
//	  <store xmlns='urn:xmpp:hints'/>
//	</message>
//
// Each device of the callee that rings says so with <ringing id='…'/> to the
// caller's full JID (§3.2). The device that answers sends <proceed id='…'/> to
// the caller's full JID (§3.4); the server's carbons tell the callee's other
// devices, which stop ringing. Older clients (Dino, Tigase) instead send the
// legacy <accept id='…'/> to their own bare JID for the same purpose.
//
// # Withdrawing: retract
//
// The caller gives up with <retract id='…'/> to the callee's bare JID, with a
// <reason/> whose condition should be cancel (§3.3).
//
// # Declining: reject
//
// The callee declines with <reject id='…'/> to the caller's full JID, with a
// reason that should be busy (§3.5).
//
// # Ending: finish
//
// When an answered call ends, both parties send <finish id='…'/> to the other
// party's full JID with a reason, success by default (§3.7).
//
// # Crossed calls: tie-break
//
// When both sides proposed at once, the lower id (bytewise) wins (§4.1). The
// side that receives the lower id retracts its own call with <tie-break/> and
// the reason expired; the side that receives the higher id rejects it the same
// way:
//
//	<reject xmlns='urn:xmpp:jingle-message:0' id='fecbea35-…'>
//	  <reason xmlns='urn:xmpp:jingle:1'><expired/></reason>
//	  <tie-break/>
//	</reject>
//
// # Moving a call: migration
//
// A propose from a party already in an answered call with us is taken as the
// same call moving to another device (§4.2): the old session is finished with
// the reason expired and <migrated to='NEW-ID'/>, and the new one proceeded.
//
// # Lenient reading, strict writing
//
// Decoding accepts what deployed clients send: the namespace
// urn:xmpp:jingle-message:1 of versions 0.4 and 0.5 (Message.Namespace says
// which was read), <accept/>, elements without a reason, <tie-break/> in a
// retract (the spec's text asks for it although its schema has no room),
// <migrated/> in the Jingle namespace (Monal), prefixed namespaces, ids that
// are not UUIDs (Conversations uses 22 characters of base64), messages without
// a type or a <store/> hint (Dino, slixmpp), and unknown children, kept whole
// in Extra (Conversations' OMEMO <device/> in proceed, its empty <description/>
// in retract and reject). Reason conditions outside the 17 of XEP-0166 are
// kept as read.
//
// Encoding is strict: always namespace NS, and MarshalMessage and Wrap always
// write type chat with a <store xmlns='urn:xmpp:hints'/> hint, which the spec
// requires of every JMI message (§3) so that carbons copy it and the archive
// keeps it.
//
// # Bad input
//
// The decoders never panic. They refuse, with an exported error matched by
// errors.Is, a message without a JMI element (ErrNoElement) or with two
// (ErrMultipleElements), an undefined element (ErrUnknownElement), a missing
// or empty id (ErrMissingID), an id longer than MaxIDLength (ErrIDTooLong), a
// propose without description (ErrNoDescription) or with more than
// MaxDescriptions (ErrTooManyDescriptions), malformed XML (ErrMalformed), a
// DTD or entity declaration (ErrDTD), input beyond MaxStanzaSize, MaxDepth or
// MaxTokens (ErrTooLarge), and an address that is not a JID (ErrBadAddress).
package jmi
