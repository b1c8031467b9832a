package call

import "fmt"

// IgnoreReason classifies why an input was ignored (EventIgnored), for an
// application to count and branch on; Event.Reason keeps the words.
//
// The classes say how far the blame reaches. IgnoreTieBreak is the protocol
// working as it should; IgnoreUnknownCall and IgnoreState are what late,
// replayed or crossed messages give; IgnoreWrongParty, IgnoreIDConflict,
// IgnoreForged and IgnoreOverLimit are what a confused or hostile sender
// gives; IgnoreMalformed, IgnoreBadAddress and IgnoreNotSignal are input
// that is no signal at all. A duplicate of a signal already seen gives no
// event (one effect per message, XEP-0353 §5), so it has no class.
type IgnoreReason uint8

// The ignore reasons. The zero IgnoreReason is IgnoreNone: the event is not
// an EventIgnored.
const (
	// IgnoreNone: not an ignored input.
	IgnoreNone IgnoreReason = iota
	// IgnoreUnknownCall: a signal, or the error bounce of one, for a call
	// this device does not know and that cannot be about a call of this
	// account (a ringing, proceed, reject, retract or finish for no call).
	IgnoreUnknownCall
	// IgnoreWrongParty: a signal from someone who is not the call's party
	// in that role (a proceed, ringing or reject not from the callee, a
	// retract not from the caller, a finish from neither), a propose
	// addressed to another account, our own account acting where it
	// cannot (a proceed or reject for a call it placed, a retract for a
	// call it received), the bounce of a propose from one device of the
	// callee.
	IgnoreWrongParty
	// IgnoreIDConflict: a session id already used for a call with another
	// peer.
	IgnoreIDConflict
	// IgnoreState: the call's state does not allow the input (the bounce
	// of a propose or proceed for a call already answered or over).
	IgnoreState
	// IgnoreTieBreak: the other side's propose of a crossed call with our
	// own session id, which our call wins (§4.1): expected, no fault.
	IgnoreTieBreak
	// IgnoreOverLimit: the summary (Event.Count) of the signals from
	// untrusted senders dropped over Config.MaxUntrustedPerPeer or
	// Config.MaxUntrusted.
	IgnoreOverLimit
	// IgnoreMalformed: the stanza or its JMI element does not decode, is
	// over the size limit, carries several JMI elements or none, an
	// element of the namespace this engine does not know, or an empty
	// session id.
	IgnoreMalformed
	// IgnoreBadAddress: an address of the stanza does not parse, or the
	// sender is missing.
	IgnoreBadAddress
	// IgnoreForged: a carbon or an archive result that does not come from
	// our own account (anyone can send one), or a sent carbon of a message
	// that is not from our account.
	IgnoreForged
	// IgnoreOtherQuery: an archive result for another query than the
	// catch-up under way (a late or replayed one).
	IgnoreOtherQuery
	// IgnoreNotSignal: a JMI element inside an error (a message of type
	// error that is no bounce of ours, a forwarded error message).
	IgnoreNotSignal
)

var ignoreNames = [...]string{
	IgnoreNone:        "none",
	IgnoreUnknownCall: "unknown-call",
	IgnoreWrongParty:  "wrong-party",
	IgnoreIDConflict:  "id-conflict",
	IgnoreState:       "state",
	IgnoreTieBreak:    "tie-break",
	IgnoreOverLimit:   "over-limit",
	IgnoreMalformed:   "malformed",
	IgnoreBadAddress:  "bad-address",
	IgnoreForged:      "forged",
	IgnoreOtherQuery:  "other-query",
	IgnoreNotSignal:   "not-signal",
}

// String returns the reason's name: "none", "unknown-call", "wrong-party",
// "id-conflict", "state", "tie-break", "over-limit", "malformed",
// "bad-address", "forged", "other-query" or "not-signal". These names are
// the "ignored" field of the JSON events.
func (r IgnoreReason) String() string {
	if int(r) < len(ignoreNames) {
		return ignoreNames[r]
	}
	return fmt.Sprintf("IgnoreReason(%d)", uint8(r))
}

// ParseIgnoreReason returns the IgnoreReason whose String is name.
func ParseIgnoreReason(name string) (IgnoreReason, bool) {
	for r, n := range ignoreNames {
		if n == name {
			return IgnoreReason(r), true
		}
	}
	return IgnoreNone, false
}
