package session

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/jingle"
	"mellium.im/xmpp/jid"
)

// Defaults of Config. See the package documentation for why.
const (
	DefaultIQTimeout             = 60 * time.Second
	DefaultMaxEarlyTransportInfo = 32
	DefaultIDPrefix              = "jingle"
)

// NSRTPInfo is the namespace of the XEP-0167 §7 session-info payloads
// (<ringing/>, <active/>, <hold/>, <mute/>, …), the only ones understood.
const NSRTPInfo = `urn:xmpp:jingle:apps:rtp:info:1`

// Stanza errors the package answers with besides those of package jingle.
var (
	// ResourceConstraint refuses an early transport-info beyond
	// Config.MaxEarlyTransportInfo (RFC 6120 §8.3.3.18: type wait, so a
	// client may retry it once the session-initiate is through).
	ResourceConstraint = jingle.StanzaError{Type: "wait", Condition: "resource-constraint"}
	// FeatureNotImplemented refuses an action this engine does not carry
	// out (content-modify, content-remove, description-info,
	// security-info).
	FeatureNotImplemented = jingle.StanzaError{Type: "cancel", Condition: "feature-not-implemented"}
)

// Config configures a Machine. The zero Config works but for Account.
type Config struct {
	// Account is this device's full JID.
	Account jid.JID
	// IQTimeout is how long an IQ set waits for its answer (zero:
	// DefaultIQTimeout). A session-initiate or session-accept left
	// unanswered ends the session.
	IQTimeout time.Duration
	// MaxEarlyTransportInfo is how many transport-info of one session are
	// kept while they cannot be used yet (zero:
	// DefaultMaxEarlyTransportInfo).
	MaxEarlyTransportInfo int
	// IDPrefix starts the id of every IQ set the Machine sends (zero:
	// DefaultIDPrefix); a client gives each connection its own, so that a
	// late answer to an earlier run matches nothing.
	IDPrefix string
}

// Errors for local misuse, returned by Handle.
var (
	// ErrUnknownSession: a local action names a sid with no session here.
	ErrUnknownSession = errors.New("session: unknown session")
	// ErrInvalidState: a local action that the session's role or state does
	// not allow, such as Accept on the initiator's side.
	ErrInvalidState = errors.New("session: action not allowed in this state")
	// ErrInvalidInput: an input with missing or unusable data (no sid,
	// contents that do not match the call's media, an unknown content).
	ErrInvalidInput = errors.New("session: invalid input")
)

// Role is this device's part in a session.
type Role uint8

// The roles of XEP-0166 §4.
const (
	RoleUnknown Role = iota
	// RoleInitiator: this device sends session-initiate (it proposed the
	// JMI call, XEP-0353 §3.6).
	RoleInitiator
	// RoleResponder: this device answered the JMI call and waits for the
	// session-initiate.
	RoleResponder
)

var roleNames = [...]string{"unknown", "initiator", "responder"}

// String returns "initiator", "responder" or "unknown".
func (r Role) String() string {
	if int(r) < len(roleNames) {
		return roleNames[r]
	}
	return "unknown"
}

// State is the state of a session as XEP-0166 §5 draws it, with one more
// before it: the JMI call is answered and the session-initiate is due.
type State uint8

// The states of a session.
const (
	StateUnknown State = iota
	// StateAwaiting: the call was answered with this device; the initiator
	// is to send session-initiate, the responder waits for it.
	StateAwaiting
	// StatePending: session-initiate went out (initiator) or was
	// acknowledged (responder); no session-accept yet.
	StatePending
	// StateActive: session-accept went out or was acknowledged.
	StateActive
	// StateEnded: terminated; a Machine forgets an ended session at once,
	// so Info never reports it, but the simulator's checks name it.
	StateEnded
)

var stateNames = [...]string{"unknown", "awaiting", "pending", "active", "ended"}

// String returns the state's name.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Info is a snapshot of one session.
type Info struct {
	SID   string
	Role  Role
	State State
	// Remote is the peer's full JID: every Jingle IQ of the session comes
	// from it and goes to it.
	Remote jid.JID
	// Media are the call's media.
	Media []string
	// MediaOpen says the media layer holds a media session for it: since
	// Initiate (initiator) or StartMedia (responder), until StopMedia.
	MediaOpen bool
	// RemoteDescription says the peer's offer or answer was handed over
	// (StartMedia or MediaAnswered): remote candidates can be used.
	RemoteDescription bool
	// Early is how many transport-info are kept for later.
	Early int
	// InFlight is how many IQ sets of the session wait for their answer.
	InFlight int
	// Deadline is when the session next needs a Tick: the end of the wait
	// for the session-initiate (awaiting), or the time-out of its oldest IQ
	// in flight; zero for none.
	Deadline time.Time
}

type session struct {
	Info
	serial uint64 // tells a session from an earlier one with the same sid
	// awaitUntil is when an awaiting session gives up on its
	// session-initiate.
	awaitUntil time.Time
	local      []jingle.Content
	offer      []jingle.Content // the remote offer, on the responder
	// ice are the peer's ICE credentials by content name, so that a
	// transport-info repeating them is not taken for an ICE restart.
	ice   map[string][2]string
	early []*jingle.Jingle
}

// pendingIQ is an IQ set we sent that waits for its answer.
type pendingIQ struct {
	sid      string
	serial   uint64
	action   jingle.Action
	to       jid.JID
	deadline time.Time
}

// Machine is the Jingle session engine of one device: it takes Inputs and
// returns Effects. It does no I/O and is not safe for concurrent use: one
// goroutine owns it.
type Machine struct {
	cfg      Config
	self     string
	sessions map[string]*session
	pending  map[string]*pendingIQ
	seq      uint64
	serials  uint64
}

// deadline is when s next needs a Tick.
func (m *Machine) deadline(s *session) (next time.Time, inFlight int) {
	if s.State == StateAwaiting {
		next = s.awaitUntil
	}
	for _, p := range m.pending {
		if p.sid == s.SID && p.serial == s.serial {
			inFlight++
			if next.IsZero() || p.deadline.Before(next) {
				next = p.deadline
			}
		}
	}
	return next, inFlight
}

// New returns a Machine for the device cfg.Account.
func New(cfg Config) *Machine {
	if cfg.IQTimeout <= 0 {
		cfg.IQTimeout = DefaultIQTimeout
	}
	if cfg.MaxEarlyTransportInfo <= 0 {
		cfg.MaxEarlyTransportInfo = DefaultMaxEarlyTransportInfo
	}
	if cfg.IDPrefix == "" {
		cfg.IDPrefix = DefaultIDPrefix
	}
	return &Machine{cfg: cfg, self: cfg.Account.String(), sessions: map[string]*session{}, pending: map[string]*pendingIQ{}}
}

// Session returns a snapshot of the session sid, if there is one.
func (m *Machine) Session(sid string) (Info, bool) {
	s := m.sessions[sid]
	if s == nil {
		return Info{}, false
	}
	return m.snapshot(s), true
}

// Sessions returns snapshots of every session, by sid.
func (m *Machine) Sessions() []Info {
	out := make([]Info, 0, len(m.sessions))
	for _, s := range m.sessions {
		out = append(out, m.snapshot(s))
	}
	slices.SortFunc(out, func(a, b Info) int { return strings.Compare(a.SID, b.SID) })
	return out
}

func (m *Machine) snapshot(s *session) Info {
	i := s.Info
	i.Media = slices.Clone(s.Media)
	i.Early = len(s.early)
	i.Deadline, i.InFlight = m.deadline(s)
	return i
}

// NextDeadline returns when the Machine next needs a Tick (the time-out of
// the oldest IQ waiting for its answer, or of a wait for a
// session-initiate), or the zero time. It scans the sessions and the IQs in
// flight, a handful per call answered here.
func (m *Machine) NextDeadline() time.Time {
	var next time.Time
	for _, p := range m.pending {
		if next.IsZero() || p.deadline.Before(next) {
			next = p.deadline
		}
	}
	for _, s := range m.sessions {
		if s.State == StateAwaiting && (next.IsZero() || s.awaitUntil.Before(next)) {
			next = s.awaitUntil
		}
	}
	return next
}

// Handle applies one input at time now and returns what to do, in order. It
// returns an error, and no effect, only for local misuse; bad input from the
// network is answered with an IQ error and changes nothing else.
func (m *Machine) Handle(now time.Time, in Input) ([]Effect, error) {
	var out effects
	var err error
	switch in := in.(type) {
	case IQReceived:
		m.received(now, in.IQ, &out)
	case ReplyReceived:
		m.replied(in.IQ, &out)
	case CallAnswered:
		err = m.callAnswered(now, in, &out)
	case CallEnded:
		m.callEnded(now, in, &out)
	case Initiate:
		err = m.initiate(now, in, &out)
	case Accept:
		err = m.accept(now, in, &out)
	case Terminate:
		err = m.terminate(now, in, &out)
	case LocalCandidates:
		err = m.localCandidates(now, in, &out)
	case Resumed:
		m.resumed(now, &out)
	case Tick:
		m.tick(now, &out)
	default:
		err = fmt.Errorf("%w: input %T", ErrInvalidInput, in)
	}
	if err != nil {
		return nil, err
	}
	return out.list, nil
}

type effects struct{ list []Effect }

func (e *effects) add(x Effect) { e.list = append(e.list, x) }

func refuse(out *effects, iq jingle.IQ, e jingle.StanzaError, why string) {
	out.add(SendIQ{IQ: iq.ErrorReply(e), Why: why})
}

// received handles a Jingle IQ set: who may send it (only the peer device
// of the call, XEP-0166 §7.1: initiator and sid identify a session), in
// which state, and what it starts.
func (m *Machine) received(now time.Time, iq jingle.IQ, out *effects) {
	switch {
	case iq.ID == "":
		// RFC 6120 §8.1.3: an IQ without id cannot be answered (an answer
		// repeats the id), so it is dropped.
		out.add(Ignored{Why: "an IQ without id"})
		return
	case iq.Type == "result" || iq.Type == "error":
		out.add(Ignored{Why: "an IQ " + iq.Type + " is no request (RFC 6120 §8.2.3)"})
		return
	case iq.Type != "set" || iq.Jingle == nil:
		refuse(out, iq, jingle.BadRequest, "a Jingle request is an IQ set with a <jingle/>")
		return
	}
	j := iq.Jingle
	s := m.sessions[j.SID]
	if s == nil {
		// XEP-0166 §10: an action for a session the receiver does not know.
		// A session-initiate too: jmi starts sessions only for a call
		// answered here (XEP-0353 §3.6), never a bare Jingle call.
		refuse(out, iq, jingle.UnknownSession, "no call answered on this device has sid "+j.SID)
		return
	}
	if !sameJID(iq, s.Remote) {
		// The session is the one with its peer device (XEP-0166 §7.1); for
		// anyone else, including another device of the peer, it does not
		// exist.
		refuse(out, iq, jingle.UnknownSession, "sid "+j.SID+" is a session with "+s.Remote.String()+", not with "+iq.From)
		return
	}
	switch j.Action {
	case jingle.ActionSessionInitiate:
		m.sessionInitiate(iq, s, out)
	case jingle.ActionSessionAccept:
		m.sessionAccept(now, iq, s, out)
	case jingle.ActionTransportInfo:
		m.transportInfo(iq, s, out)
	case jingle.ActionSessionTerminate:
		// XEP-0166 §6.7: acknowledge, then the session is over. The JMI call
		// ends with it: Conversations and Dino hang up only this way.
		out.add(SendIQ{IQ: iq.Result()})
		m.end(now, s, false, j.Reason, true, out)
	case jingle.ActionSessionInfo:
		// XEP-0166 §7.2.9: an empty session-info is a ping; XEP-0167 §7
		// payloads are understood and need nothing here; others are not.
		for _, x := range j.Extra {
			if x.XMLName.Space != NSRTPInfo {
				refuse(out, iq, jingle.UnsupportedInfo, "session-info with <"+x.XMLName.Local+"/> in "+x.XMLName.Space)
				return
			}
		}
		out.add(SendIQ{IQ: iq.Result()})
	case jingle.ActionContentAdd:
		if s.State == StateAwaiting {
			refuse(out, iq, jingle.OutOfOrder, "content-add before the session-initiate")
			return
		}
		// A call carries the media of its propose and no more (Conversations
		// and Monal refuse video in an audio call): acknowledge, then
		// content-reject (XEP-0166 §7.2.4).
		out.add(SendIQ{IQ: iq.Result()})
		rej := &jingle.Jingle{Action: jingle.ActionContentReject, SID: s.SID, Reason: &jmi.Reason{Condition: jmi.FailedApplication, Text: "no media beyond the call's"}}
		for _, c := range j.Contents {
			rej.Contents = append(rej.Contents, jingle.Content{Creator: c.Creator, Name: c.Name, Senders: c.Senders})
		}
		m.sendSet(now, s, rej, out)
	case jingle.ActionTransportReplace:
		if s.State == StateAwaiting {
			refuse(out, iq, jingle.OutOfOrder, "transport-replace before the session-initiate")
			return
		}
		// ICE-UDP is the one transport: acknowledge, then transport-reject
		// (XEP-0166 §7.2.14).
		out.add(SendIQ{IQ: iq.Result()})
		rej := &jingle.Jingle{Action: jingle.ActionTransportReject, SID: s.SID, Contents: cloneContents(j.Contents)}
		m.sendSet(now, s, rej, out)
	case jingle.ActionContentAccept, jingle.ActionContentReject, jingle.ActionTransportAccept, jingle.ActionTransportReject:
		// Answers to a content-add or transport-replace, which jmi never
		// sends.
		refuse(out, iq, jingle.OutOfOrder, j.Action.String()+" answers nothing this device sent")
	default:
		refuse(out, iq, FeatureNotImplemented, j.Action.String()+" is not supported")
	}
}

// sessionInitiate handles session-initiate on the responder (XEP-0166 §6.2,
// §6.3).
func (m *Machine) sessionInitiate(iq jingle.IQ, s *session, out *effects) {
	switch {
	case s.Role == RoleInitiator:
		// Both sides initiate: XEP-0166 §7.2.16 answers <conflict/> with
		// <tie-break/>. Who initiates is not for the two to race over: JMI
		// settled it (the device that proposed, XEP-0353 §3.6), so ours
		// stands.
		refuse(out, iq, jingle.TieBreak, "this device proposed the call and initiates its session (XEP-0353 §3.6)")
		return
	case s.State != StateAwaiting:
		refuse(out, iq, jingle.OutOfOrder, "session-initiate for a session already "+s.State.String())
		return
	}
	if why := checkContents(iq.Jingle.Contents, s.Media, nil); why != "" {
		// XEP-0166 §6.3.2: a malformed request is refused with
		// <bad-request/>. A session-initiate whose media are not the
		// proposed ones counts as one (Conversations ends such a session
		// with security-error). Nothing is left to wait for: the call ends.
		refuse(out, iq, jingle.BadRequest, "session-initiate: "+why)
		m.end(time.Time{}, s, false, &jmi.Reason{Condition: jmi.FailedApplication, Text: why}, true, out)
		return
	}
	// XEP-0166 §6.3.1: acknowledge first; the session is pending on both
	// sides. The session-accept follows once the media layer has answered.
	out.add(SendIQ{IQ: iq.Result()})
	s.State = StatePending
	s.offer = cloneContents(iq.Jingle.Contents)
	s.MediaOpen, s.RemoteDescription = true, true
	s.learnICE(s.offer)
	out.add(StartMedia{SID: s.SID, Remote: s.Remote, Offer: usable(s.offer)})
	m.replay(s, out)
}

// sessionAccept handles session-accept on the initiator (XEP-0166 §6.5).
func (m *Machine) sessionAccept(now time.Time, iq jingle.IQ, s *session, out *effects) {
	if s.Role != RoleInitiator || s.State != StatePending {
		refuse(out, iq, jingle.OutOfOrder, "session-accept for a session of which this device is the "+s.Role.String()+", "+s.State.String())
		return
	}
	if why := checkContents(iq.Jingle.Contents, s.Media, s.local); why != "" {
		refuse(out, iq, jingle.BadRequest, "session-accept: "+why)
		m.end(now, s, true, &jmi.Reason{Condition: jmi.IncompatibleParameters, Text: why}, true, out)
		return
	}
	out.add(SendIQ{IQ: iq.Result()})
	s.State, s.RemoteDescription = StateActive, true
	s.learnICE(iq.Jingle.Contents)
	out.add(MediaAnswered{SID: s.SID, Answer: usable(iq.Jingle.Contents)})
	m.replay(s, out)
}

// transportInfo handles transport-info (XEP-0166 §7.2.13, XEP-0176 §5).
func (m *Machine) transportInfo(iq jingle.IQ, s *session, out *effects) {
	if s.Role == RoleInitiator && s.State == StateAwaiting {
		refuse(out, iq, jingle.OutOfOrder, "transport-info before this device's session-initiate")
		return
	}
	if !s.RemoteDescription {
		// Before the session-initiate (on the responder) or the
		// session-accept (on the initiator) the candidates cannot be used:
		// pion's AddICECandidate fails before SetRemoteDescription. XEP-0166
		// §6.2 would answer <unknown-session/>, but Conversations and Monal
		// send candidates that overtake the initiate, and keep and replay
		// them; so does jmi, up to a cap.
		if len(s.early) >= m.cfg.MaxEarlyTransportInfo {
			refuse(out, iq, ResourceConstraint, "more than "+strconv.Itoa(m.cfg.MaxEarlyTransportInfo)+" transport-info before the session-initiate")
			return
		}
		out.add(SendIQ{IQ: iq.Result()})
		j := *iq.Jingle
		j.Contents = cloneContents(j.Contents)
		s.early = append(s.early, &j)
		return
	}
	out.add(SendIQ{IQ: iq.Result()})
	m.candidates(s, iq.Jingle, out)
}

// replay hands over the transport-info kept before the remote description.
func (m *Machine) replay(s *session, out *effects) {
	for _, j := range s.early {
		m.candidates(s, j, out)
	}
	s.early = nil
}

// candidates emits the usable candidates of a transport-info: those of a
// content of the session, for component 1 over UDP. Dino sends component 2
// (RTCP) too and Monal TCP candidates; jmi multiplexes RTCP and uses UDP.
func (m *Machine) candidates(s *session, j *jingle.Jingle, out *effects) {
	for _, c := range j.Contents {
		if c.Transport == nil || !hasContent(s.offerOrLocal(), c.Name) {
			continue
		}
		t := usableTransport(c.Transport)
		creds := [2]string{t.Ufrag, t.Pwd}
		restart := t.Ufrag != "" && creds != s.ice[c.Name]
		if len(t.Candidates) == 0 && !restart {
			continue // nothing new: Dino repeats its credentials beside a component-2 candidate
		}
		if restart {
			// New credentials: an ICE restart (Conversations restarts so
			// after a failure), for the media layer to answer.
			s.ice[c.Name] = creds
		}
		out.add(AddRemoteCandidates{SID: s.SID, Content: c.Name, Transport: t})
	}
}

// learnICE keeps the peer's ICE credentials of its offer or answer.
func (s *session) learnICE(cs []jingle.Content) {
	s.ice = map[string][2]string{}
	for _, c := range cs {
		if c.Transport != nil {
			s.ice[c.Name] = [2]string{c.Transport.Ufrag, c.Transport.Pwd}
		}
	}
}

// usableTransport is t with only its candidates of component 1 over UDP.
func usableTransport(t *jingle.Transport) jingle.Transport {
	u := *t
	u.Candidates = nil
	for _, c := range t.Candidates {
		if c.Component == 1 && strings.EqualFold(c.Protocol, "udp") {
			u.Candidates = append(u.Candidates, c)
		}
	}
	return u
}

// usable copies an offer or answer for the media layer, with only the
// candidates it can use (Monal puts TCP candidates in its session-initiate).
func usable(cs []jingle.Content) []jingle.Content {
	cs = cloneContents(cs)
	for i := range cs {
		if cs[i].Transport != nil {
			t := usableTransport(cs[i].Transport)
			cs[i].Transport = &t
		}
	}
	return cs
}

// offerOrLocal is the contents of the offer: the initiator's own, or the
// one received by the responder.
func (s *session) offerOrLocal() []jingle.Content {
	if s.Role == RoleResponder {
		return s.offer
	}
	return s.local
}

// replied handles the answer to an IQ set we sent.
func (m *Machine) replied(iq jingle.IQ, out *effects) {
	p := m.pending[iq.ID]
	if p == nil {
		out.add(Ignored{Why: "an answer to no IQ in flight (id " + iq.ID + ")"})
		return
	}
	if !sameJID(iq, p.to) {
		// Only the addressee (or the server on its behalf, which writes the
		// addressee's JID) answers: nobody else can end our session.
		out.add(Ignored{SID: p.sid, Why: "an answer from " + iq.From + " to an IQ sent to " + p.to.String()})
		return
	}
	if iq.Type != "result" && iq.Type != "error" {
		out.add(Ignored{SID: p.sid, Why: "an answer of type " + iq.Type})
		return
	}
	delete(m.pending, iq.ID)
	s := m.sessions[p.sid]
	if iq.Type == "result" || s == nil || s.serial != p.serial {
		return
	}
	var cond, jcond string
	if iq.Error != nil {
		cond, jcond = iq.Error.Condition, iq.Error.JingleCondition
	}
	switch {
	case peerGone(cond, jcond):
		// The peer has no such session, or its device is offline (the
		// server answers for it): the session is over.
		m.end(time.Time{}, s, false, &jmi.Reason{Condition: jmi.Gone, Text: p.action.String() + " refused: " + cond}, true, out)
	case p.action == jingle.ActionSessionInitiate || p.action == jingle.ActionSessionAccept:
		// XEP-0166 §6.3.2: the peer refused the session.
		m.end(time.Time{}, s, false, &jmi.Reason{Condition: jmi.GeneralError, Text: p.action.String() + " refused: " + cond}, true, out)
	default:
		out.add(Ignored{SID: s.SID, Why: p.action.String() + " refused with " + cond + " " + jcond})
	}
}

// sameJID reports whether iq is from j. The address as written is compared
// first, and parsed only when it differs (a peer may write it unnormalised):
// parsing a JID costs most of the time of handling an IQ.
func sameJID(iq jingle.IQ, j jid.JID) bool {
	if iq.From == j.String() {
		return true
	}
	from, err := iq.FromJID()
	return err == nil && from.Equal(j)
}

// peerGone reports an error that says the peer has no session: it does not
// know the sid (XEP-0166 §10), or its device is offline (RFC 6120 §8.3.3).
func peerGone(cond, jcond string) bool {
	switch {
	case jcond == "unknown-session":
		return true
	case cond == "service-unavailable", cond == "recipient-unavailable", cond == "remote-server-not-found", cond == "item-not-found":
		return true
	}
	return false
}

// callAnswered opens a session for a call answered with this device, or
// ends this device's session when the call goes on elsewhere.
func (m *Machine) callAnswered(now time.Time, in CallAnswered, out *effects) error {
	if in.SID == "" {
		return fmt.Errorf("%w: call answered without a sid", ErrInvalidInput)
	}
	s := m.sessions[in.SID]
	if !in.Self.Equal(m.cfg.Account) {
		if s != nil {
			m.end(now, s, true, &jmi.Reason{Condition: jmi.Cancel, Text: "answered on another device"}, false, out)
		}
		return nil
	}
	if in.Remote.Equal(jid.JID{}) || in.Remote.Resourcepart() == "" {
		return fmt.Errorf("%w: call %q answered without the peer's device", ErrInvalidInput, in.SID)
	}
	role := RoleResponder
	if in.Outgoing {
		role = RoleInitiator
	}
	if s != nil {
		if s.Role == role && s.Remote.Equal(in.Remote) {
			return nil // the same answer, seen again
		}
		// The call moved to another device of the peer: two of its devices
		// answered at once and the lower full JID keeps the call, as the
		// JMI engine decides. The session goes where the call goes.
		m.end(now, s, true, &jmi.Reason{Condition: jmi.Cancel, Text: "the call goes on with " + in.Remote.String()}, false, out)
	}
	m.serials++
	m.sessions[in.SID] = &session{Info: Info{SID: in.SID, Role: role, State: StateAwaiting, Remote: in.Remote, Media: slices.Clone(in.Media)}, serial: m.serials, awaitUntil: now.Add(m.cfg.IQTimeout)}
	return nil
}

// callEnded terminates the session of a call that ended: JMI's finish goes
// with session-terminate, which is all Conversations and Dino hang up on.
func (m *Machine) callEnded(now time.Time, in CallEnded, out *effects) {
	s := m.sessions[in.SID]
	if s == nil {
		return
	}
	r := in.Reason
	if in.MigratedTo != "" {
		// XEP-0166 §7.4: <alternative-session/> names the session that
		// replaces this one (XEP-0353 §4.1 and §4.2).
		r = &jmi.Reason{Condition: jmi.AlternativeSession, SID: in.MigratedTo}
	}
	if r == nil {
		r = &jmi.Reason{Condition: jmi.Success}
	}
	m.end(now, s, true, r, false, out)
}

// end ends s: a session-terminate to the peer if it knows of the session
// (and terminate is set), StopMedia if media is open, FinishCall if finish
// is set; then s is forgotten.
func (m *Machine) end(now time.Time, s *session, terminate bool, r *jmi.Reason, finish bool, out *effects) {
	if terminate && (s.State == StatePending || s.State == StateActive) {
		m.sendSet(now, s, &jingle.Jingle{Action: jingle.ActionSessionTerminate, SID: s.SID, Reason: r}, out)
	}
	if s.MediaOpen {
		out.add(StopMedia{SID: s.SID, Reason: r})
	}
	if finish {
		out.add(FinishCall{SID: s.SID, Reason: r})
	}
	s.State = StateEnded
	delete(m.sessions, s.SID)
}

// sendSet sends j to the peer of s and waits for its answer, until
// Config.IQTimeout after now.
func (m *Machine) sendSet(now time.Time, s *session, j *jingle.Jingle, out *effects) {
	m.seq++
	id := m.cfg.IDPrefix + "-" + strconv.FormatUint(m.seq, 10)
	m.pending[id] = &pendingIQ{sid: s.SID, serial: s.serial, action: j.Action, to: s.Remote, deadline: now.Add(m.cfg.IQTimeout)}
	out.add(SendIQ{IQ: jingle.IQ{ID: id, Type: "set", From: m.self, To: s.Remote.String(), Jingle: j}})
}

func (m *Machine) mine(sid string) (*session, error) {
	s := m.sessions[sid]
	if s == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownSession, sid)
	}
	return s, nil
}
