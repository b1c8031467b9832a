// Package call is the engine of XEP-0353 Jingle Message Initiation: the
// complete behaviour of the calls of one device as a deterministic state
// machine. It does no I/O, reads no clock and draws no random numbers: every
// input carries its time, and everything the engine wants done comes out as
// data (Effects).
package call
