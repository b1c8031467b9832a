package call

import (
	"time"

	"github.com/jmi-xmpp/jmi"
	"mellium.im/xmpp/jid"
)

// Bounced says a message this device sent came back as an error: a
// <message type='error'/> (RFC 6120 §8.3) from the address it went to,
// which could not take it. An error is never a
// signal: XEP-0353 has no element for "it did not arrive". The bounce of
// the propose of a call placed here, or of the proceed of a call answered
// here, ends that call on this device as failed: EventFinished with Failed
// set, never answered, and the error condition as Reason. Any other bounce
// is ignored.
type Bounced struct {
	// ID is the session id of the call the bounced message belongs to.
	ID string
	// Kind is the kind of JMI element the bounced message carried.
	Kind jmi.Kind
	// From is the address that returned the error: the one the message was
	// sent to (the callee's bare JID for a propose, the caller's device for
	// a proceed).
	From jid.JID
	// Condition is the stanza error condition (RFC 6120 §8.3.3), such as
	// "service-unavailable"; Text its human-readable text, if any.
	Condition, Text string
}

func (Bounced) isInput() {}

// bounced ends the call whose propose or proceed came back as an error.
func (m *Machine) bounced(now time.Time, b Bounced, out *effects) {
	c := m.calls[b.ID]
	ignore := func(class IgnoreReason, why string) {
		ev := Event{Type: EventIgnored, ID: b.ID, Reason: why, Ignored: class, Device: b.From, At: now}
		if !b.From.Equal(jid.JID{}) {
			ev.Peer = b.From.Bare()
		}
		out.notify(ev)
	}
	if c == nil || !c.ours {
		ignore(IgnoreUnknownCall, "error bounce for a call not placed or answered here")
		return
	}
	switch {
	case b.Kind == jmi.KindPropose && c.Direction == Outgoing && c.State == StateProposing && b.From.Equal(c.Peer):
		// The propose went to the callee's bare JID, and the error comes
		// from that address: the callee's server refused it, so nothing
		// rings anywhere. An error from one device of the callee (a full
		// JID) says nothing of the others, which may ring: it is ignored
		// below.
	case b.Kind == jmi.KindProceed && c.Direction == Incoming && c.State == StateActive && !c.Elsewhere && (b.From.Equal(c.Device) || b.From.Equal(c.Device.Bare())):
		// The proceed went to the caller's device (or, with
		// BareJIDResponses, its bare JID): the caller never got our answer.
	case b.Kind == jmi.KindPropose && c.Direction == Outgoing && c.State == StateProposing:
		ignore(IgnoreWrongParty, "error bounce of a propose that ends no call")
		return
	default:
		ignore(IgnoreState, "error bounce of a "+b.Kind.String()+" that ends no call")
		return
	}
	m.end(c, EventFinished, now, now)
	c.final = true
	c.Answered = time.Time{}
	ev := c.event(EventFinished, now)
	ev.Device, ev.Reason, ev.Text, ev.Failed = b.From, b.Condition, b.Text, true
	out.notify(ev)
}
