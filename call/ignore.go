package call

import "fmt"

// IgnoreReason classifies why an input was ignored (EventIgnored), for an
// application to count and branch on; Event.Reason keeps the words.
type IgnoreReason uint8

// The ignore reasons. The zero IgnoreReason is IgnoreNone: the event is not
// an EventIgnored.
const (
	// IgnoreNone: not an ignored input.
	IgnoreNone IgnoreReason = iota
	// IgnoreProtocol: the engine refused a signal that decoded: for a call
	// it does not know, from a party that is not the call's, a session id
	// reused with another peer, our own account acting where it cannot.
	IgnoreProtocol
	// IgnoreMalformed: the stanza or its JMI element does not decode, is
	// over the size limit, or carries several JMI elements.
	IgnoreMalformed
	// IgnoreBadAddress: an address of the stanza does not parse.
	IgnoreBadAddress
	// IgnoreForged: a carbon or an archive result that does not come from
	// our own account (anyone can send one).
	IgnoreForged
	// IgnoreOtherQuery: an archive result for another query than the
	// catch-up under way (a late or replayed one).
	IgnoreOtherQuery
	// IgnoreNotSignal: a JMI element inside an error (a message of type
	// error that is no bounce of ours, a forwarded error message).
	IgnoreNotSignal
)

// String returns the reason's name: "none", "protocol", "malformed",
// "bad-address", "forged", "other-query" or "not-signal".
func (r IgnoreReason) String() string {
	switch r {
	case IgnoreNone:
		return "none"
	case IgnoreProtocol:
		return "protocol"
	case IgnoreMalformed:
		return "malformed"
	case IgnoreBadAddress:
		return "bad-address"
	case IgnoreForged:
		return "forged"
	case IgnoreOtherQuery:
		return "other-query"
	case IgnoreNotSignal:
		return "not-signal"
	}
	return fmt.Sprintf("IgnoreReason(%d)", uint8(r))
}
