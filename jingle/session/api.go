package session

import (
	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/jingle"
	"mellium.im/xmpp/jid"
)

// Input is something that happens to a Machine. The set is closed: the
// network's IQReceived and ReplyReceived; the JMI call's CallAnswered and
// CallEnded; the local Initiate, Accept, Terminate and LocalCandidates;
// Resumed after a lost connection; and Tick.
type Input interface{ isInput() }

// IQReceived is a Jingle IQ of type set that this device received, with its
// addresses, id and type as read and the decoded <jingle/>.
type IQReceived struct{ IQ jingle.IQ }

// ReplyReceived is the result or error that answers an IQ this Machine
// sent (one of its SendIQ effects of type set), matched by the IQ id.
type ReplyReceived struct{ IQ jingle.IQ }

// CallAnswered says the JMI call SID was answered (call.EventProceeded):
// by Self, the device of this account in the call, with Remote, the other
// party's device: the one that proceeded, for an outgoing call, or the one
// that proposed, for an incoming one. Only when Self is this device does a
// session follow: then this device is the Jingle initiator of an Outgoing
// call (XEP-0353 §3.6) and the responder otherwise. With Self another device,
// the call goes on elsewhere and any session of this device for it ends.
type CallAnswered struct {
	SID      string
	Self     jid.JID
	Remote   jid.JID
	Outgoing bool
	// Media are the media of the propose ("audio", "video"); the session's
	// contents must carry exactly these. Empty: not known, not checked.
	Media []string
}

// CallEnded says the JMI call SID ended (finished, withdrawn, declined,
// missed, or lost a tie-break), on this device or on another one. A session
// still under way is terminated. MigratedTo names the call that replaces
// it: the new call of a migration (XEP-0353 §4.2) or the surviving call of a
// crossed call (§4.1), as call.Event.MigratedTo does; the session-terminate
// then says <alternative-session/> with that sid.
type CallEnded struct {
	SID string
	// Reason is the JMI reason, used in the session-terminate when there is
	// no MigratedTo; nil means <success/>.
	Reason     *jmi.Reason
	MigratedTo string
}

// Initiate starts the session of an answered outgoing call: Contents are
// the local offer (one content per media of the call, each with an RTP
// description and an ICE-UDP transport). Only the initiator may.
type Initiate struct {
	SID      string
	Contents []jingle.Content
}

// Accept answers the remote offer of a pending session: Contents are the
// local answer, content names from the offer. Only the responder may.
type Accept struct {
	SID      string
	Contents []jingle.Content
}

// Terminate ends the session from this side (the user hangs up, or the
// media failed). A nil Reason means <success/>.
type Terminate struct {
	SID    string
	Reason *jmi.Reason
}

// LocalCandidates are ICE candidates (or new credentials) that the media
// layer gathered for the content named Content; they go to the peer in one
// transport-info once the offer (initiator) or the answer (responder) went
// out.
type LocalCandidates struct {
	SID       string
	Content   string
	Transport jingle.Transport
}

// Resumed says the connection came back after it was lost: what was in
// flight may be lost, a session-terminate of the peer among it (Dino sends
// no <finish/> to find in the archive). Each session under way is pinged
// with an empty session-info (XEP-0166 §6.8); a peer that no longer knows
// it answers unknown-session, which ends it.
type Resumed struct{}

// Tick says time has passed; Handle's now is the current time. IQs sent
// and not answered within Config.IQTimeout time out.
type Tick struct{}

func (IQReceived) isInput()      {}
func (ReplyReceived) isInput()   {}
func (CallAnswered) isInput()    {}
func (CallEnded) isInput()       {}
func (Initiate) isInput()        {}
func (Accept) isInput()          {}
func (Terminate) isInput()       {}
func (LocalCandidates) isInput() {}
func (Resumed) isInput()         {}
func (Tick) isInput()            {}

// Effect is something the Machine asks its owner to do, in order. The set
// is closed: SendIQ, StartMedia, MediaAnswered, AddRemoteCandidates,
// StopMedia, FinishCall and Ignored.
type Effect interface{ isEffect() }

// SendIQ asks for IQ to be sent: a result or error answering a received IQ,
// or a Jingle IQ set, whose answer comes back as ReplyReceived. Why says, for
// the log, why an IQ was refused; it is never sent.
type SendIQ struct {
	IQ  jingle.IQ
	Why string
}

// StartMedia hands the remote offer of a session to the media layer of the
// responder: it opens its media session with Offer and answers with Accept.
// The offer's candidates are those AddRemoteCandidates would pass.
type StartMedia struct {
	SID    string
	Remote jid.JID
	Offer  []jingle.Content
}

// MediaAnswered hands the remote answer to the media layer of the
// initiator, whose media session opened with its Initiate: media may flow.
type MediaAnswered struct {
	SID    string
	Answer []jingle.Content
}

// AddRemoteCandidates hands the peer's ICE candidates for one content to the
// media layer, always after the remote description (StartMedia or
// MediaAnswered): pion refuses candidates before it, so earlier ones are kept
// and handed over then. Only candidates of component 1 over UDP are passed;
// Transport may also carry new credentials (an ICE restart).
type AddRemoteCandidates struct {
	SID       string
	Content   string
	Transport jingle.Transport
}

// StopMedia closes the media session of SID (opened by Initiate or
// StartMedia).
type StopMedia struct {
	SID    string
	Reason *jmi.Reason
}

// FinishCall asks the owner to end the JMI call SID with Reason
// (call.UserFinish): the peer sent session-terminate, or the session failed.
// Reason is the session-terminate's, nil when the peer gave none. Conversations and
// Dino hang up only with session-terminate, so JMI learns of their hang-up
// only from it.
type FinishCall struct {
	SID    string
	Reason *jmi.Reason
}

// Ignored reports an input that had no effect, for the log: a reply that
// matches no IQ sent, or one from the wrong address.
type Ignored struct {
	SID string
	Why string
}

func (SendIQ) isEffect()              {}
func (StartMedia) isEffect()          {}
func (MediaAnswered) isEffect()       {}
func (AddRemoteCandidates) isEffect() {}
func (StopMedia) isEffect()           {}
func (FinishCall) isEffect()          {}
func (Ignored) isEffect()             {}
