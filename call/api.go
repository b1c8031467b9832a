package call

import (
	"time"

	"github.com/jmi-xmpp/jmi"
	"mellium.im/xmpp/jid"
)

// Via says how a signal reached this device.
type Via uint8

// The ways a signal arrives. The zero Via is ViaLive.
const (
	// ViaLive: delivered directly to this device while it was online.
	ViaLive Via = iota
	// ViaSentCarbon: another device of this account sent it (XEP-0280).
	ViaSentCarbon
	// ViaReceivedCarbon: a copy of a message another device of this account
	// received (XEP-0280).
	ViaReceivedCarbon
	// ViaArchive: a result of an archive query (XEP-0313), during catch-up.
	ViaArchive
	// ViaOffline: stored by the server while the device was offline and
	// delivered at login, with a <delay/> stamp.
	ViaOffline
)

var viaNames = [...]string{"live", "sent-carbon", "received-carbon", "archive", "offline"}

// String returns a short name: "live", "sent-carbon", "received-carbon",
// "archive" or "offline".
func (v Via) String() string {
	if int(v) < len(viaNames) {
		return viaNames[v]
	}
	return "unknown"
}

// Input is something that happens to a Machine. The set is closed: Signal,
// the user actions (UserPropose, UserProceed, UserReject, UserRetract,
// UserFinish), CatchUpStarted, CatchUpEnded, Tick and Bounced.
type Input interface{ isInput() }

// Signal is a JMI element seen by this device, already unwrapped from its
// carbon or archive result by the client.
type Signal struct {
	// From and To are the addresses of the message that carried the element
	// (of the inner, forwarded message for carbons and archive results).
	From, To jid.JID
	// Via is how it arrived.
	Via Via
	// Stamp is when the message was originally sent (<delay/> or the archive
	// time); zero means "now".
	Stamp time.Time
	// Element is the JMI element.
	Element jmi.Element
	// Trusted says the application trusts the sender of a propose: it may
	// ring and be told that this device rings (XEP-0353 §6). Untrusted calls
	// are recorded silently, and count against Config.MaxUntrustedPerPeer
	// and MaxUntrusted. On another signal that may come before its propose
	// (a callee's answer by carbon to a call another device of ours placed),
	// Trusted keeps the call it opens out of those limits, so that a
	// stranger's flood cannot make this device miss a trusted callee's
	// answer; false is always safe.
	Trusted bool
	// PresenceShared says this account and the sender already share presence,
	// so that no directed presence is needed after proceed.
	PresenceShared bool
}

// UserPropose places a call from this device.
type UserPropose struct {
	// To is the callee; its bare JID is used.
	To jid.JID
	// ID is the new session id (the client makes a UUIDv4).
	ID string
	// Descriptions are the media of the call; at least one.
	Descriptions []jmi.Description
	// PresenceShared says the callee already shares presence with us.
	PresenceShared bool
}

// UserProceed answers an incoming call on this device.
type UserProceed struct{ ID string }

// UserReject declines an incoming call. A nil Reason means <busy/>.
type UserReject struct {
	ID     string
	Reason *jmi.Reason
}

// UserRetract withdraws an outgoing call. A nil Reason means <cancel/>.
type UserRetract struct {
	ID     string
	Reason *jmi.Reason
}

// UserFinish hangs up an answered call. A nil Reason means <success/>.
// Hanging up a call the other side has just finished (the two crossed) is
// success, with no effect.
type UserFinish struct {
	ID     string
	Reason *jmi.Reason
}

// CatchUpStarted says an archive catch-up begins: nothing rings until it
// ends.
type CatchUpStarted struct{}

// CatchUpEnded says the archive catch-up is complete.
type CatchUpEnded struct{}

// Tick says time has passed; Handle's now is the current time. Deadlines due
// by then fire.
type Tick struct{}

func (Signal) isInput()         {}
func (UserPropose) isInput()    {}
func (UserProceed) isInput()    {}
func (UserReject) isInput()     {}
func (UserRetract) isInput()    {}
func (UserFinish) isInput()     {}
func (CatchUpStarted) isInput() {}
func (CatchUpEnded) isInput()   {}
func (Tick) isInput()           {}

// Effect is something the Machine asks its owner to do, in order: Send,
// SendPresence or Notify. The set is closed.
type Effect interface{ isEffect() }

// Send asks for a message of type chat with a <store/> hint, carrying
// Element, to be sent to To.
type Send struct {
	To      jid.JID
	Element jmi.Element
}

// SendPresence asks for directed presence to To (XEP-0353 §3.1, §3.4).
type SendPresence struct{ To jid.JID }

// Notify tells the application what happened.
type Notify struct{ Event Event }

func (Send) isEffect()         {}
func (SendPresence) isEffect() {}
func (Notify) isEffect()       {}

// EventType names what happened to a call, as the application sees it. The
// names are those of the JSON event schema.
type EventType uint8

// The event types.
const (
	EventUnknown EventType = iota
	// EventProposed: an outgoing call was placed, by this device or, with
	// Elsewhere, by another device of the account.
	EventProposed
	// EventIncoming: this device rings for an incoming call.
	EventIncoming
	// EventRinging: a device of the callee rings (Device names it).
	EventRinging
	// EventProceeded: the call was answered (Elsewhere: on another device of
	// this account).
	EventProceeded
	// EventRejected: the call was declined.
	EventRejected
	// EventRetracted: the caller withdrew the call.
	EventRetracted
	// EventFinished: an answered call ended.
	EventFinished
	// EventMissed: an incoming call ended unanswered on every device, or was
	// found too late in catch-up.
	EventMissed
	// EventIgnored: an input was refused; Reason says why. State is unchanged.
	EventIgnored
)

var eventNames = [...]string{"unknown", "proposed", "incoming", "ringing", "proceeded", "rejected", "retracted", "finished", "missed", "ignored"}

// String returns the event's JSON name ("incoming", "proceeded", …).
func (t EventType) String() string {
	if int(t) < len(eventNames) {
		return eventNames[t]
	}
	return "unknown"
}

// Direction is the direction of a call from this account's point of view.
type Direction uint8

// The directions.
const (
	DirectionUnknown Direction = iota
	Outgoing
	Incoming
)

// Event is one thing that happened to a call.
type Event struct {
	Type EventType
	// ID is the session id.
	ID string
	// Direction of the call.
	Direction Direction
	// Peer is the bare JID of the other party.
	Peer jid.JID
	// Device is the full JID of the device that acted (rang, answered,
	// declined, …), where one did.
	Device jid.JID
	// Reason is the condition carried by the signal, or the engine's reason
	// (for EventIgnored a readable explanation).
	Reason string
	// Ignored classifies an EventIgnored (IgnoreNone for every other event).
	Ignored IgnoreReason
	// Text is the human-readable text of the signal's reason, if any.
	Text     string
	TieBreak bool
	// MigratedTo is the id of the session that replaces this one: the new
	// session of a migration (§4.2), or, on the retract of a call that lost
	// a tie-break (§4.1), the peer's call this device answered instead; on
	// the peer's tie-break reject of our call during a catch-up, the peer's
	// call that the catch-up holds, which this device answers when the
	// catch-up ends (until then it is StatePending).
	MigratedTo string
	// Elsewhere says another device of this account acted.
	Elsewhere bool
	// Failed, on EventFinished, says the call failed: a message of it
	// bounced (see Bounced), and Reason is the stanza error condition.
	Failed bool
	// Media lists the media of the call ("audio", "video").
	Media []string
	// At is when it happened: the original time of the signal that caused
	// the event (its <delay/> or archive time, for what was found in
	// catch-up), or the time of the input otherwise.
	At time.Time
	// Count is set only on the EventIgnored that sums up the signals the
	// limits on untrusted calls dropped (Config.MaxUntrustedPerPeer,
	// MaxUntrusted): how many, since the previous summary. There is at most
	// one such summary per RingWindow, so that a flood gives one log line
	// and one history entry, not one per message; Peer names the sender
	// when all came from one. It has no ID.
	Count int
}
