package call

import (
	"bytes"
	"container/heap"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jmi-xmpp/jmi"
	"mellium.im/xmpp/jid"
)

// Defaults of Config. See the package documentation for why.
const (
	DefaultRingTimeout    = 45 * time.Second
	DefaultRingWindow     = 60 * time.Second
	DefaultSessionTimeout = 24 * time.Hour
)

// Config configures a Machine. The zero Config works but for Account.
type Config struct {
	// Account is this device's full JID.
	Account jid.JID
	// RingTimeout is how long the caller waits for an answer before it
	// withdraws the call (zero: DefaultRingTimeout).
	RingTimeout time.Duration
	// RingWindow is how long a device rings for a propose, counted from the
	// propose's original time, and so how fresh a propose found in catch-up
	// must be to ring (zero: DefaultRingWindow).
	RingWindow time.Duration
	// SessionTimeout is how long an answered call lasts with no finish from
	// either side (XEP-0353 §5), and how long an ended call is remembered so
	// that late copies of its messages have no effect (zero:
	// DefaultSessionTimeout).
	SessionTimeout time.Duration
	// BareJIDResponses sends ringing, proceed, reject and finish to the
	// other party's bare JID, as versions 0.6 and 0.7 said, instead of its
	// full JID (0.8).
	BareJIDResponses bool
	// NoLegacyAccept stops the <accept/> to our own bare JID that goes with
	// every proceed so that older clients on our other devices (Dino,
	// Tigase) stop ringing.
	NoLegacyAccept bool
	// MaxUntrustedPerPeer is how many untrusted calls (calls from callers
	// the application does not trust, and strangers' signals for calls
	// whose propose was not seen) are remembered per peer (zero:
	// DefaultMaxUntrustedPerPeer); MaxUntrusted is how many in all (zero:
	// DefaultMaxUntrusted). When a limit is reached the oldest untrusted call
	// that has ended is forgotten, and if none has, the new one is dropped
	// and counted in the next overflow summary: one EventIgnored with Count,
	// at most one per RingWindow. Trusted calls never count. About 1 KiB per
	// call, so the defaults bound a flood's memory to about 1 MiB.
	MaxUntrustedPerPeer, MaxUntrusted int
}

// Errors for local misuse, returned by Handle.
var (
	// ErrUnknownCall: a user action names a session id the Machine does
	// not know.
	ErrUnknownCall = errors.New("call: unknown call")
	// ErrInvalidState: a user action that the call's state does not allow,
	// such as proceeding an outgoing call or finishing one that rings.
	ErrInvalidState = errors.New("call: action not allowed in this state")
	// ErrInvalidInput: a user action with missing or duplicate data (no id,
	// an id already in use, no description, no callee).
	ErrInvalidInput = errors.New("call: invalid input")
)

// State is the state of a call as this device sees it.
type State uint8

// The states of a call.
const (
	StateUnknown State = iota
	// StateProposing: an outgoing call waits for an answer.
	StateProposing
	// StateRinging: an incoming call rings on this device.
	StateRinging
	// StatePending: an incoming call that does not ring here: during
	// catch-up, from an untrusted caller, or while a crossed call or a
	// migration on another device of ours decides it.
	StatePending
	// StateActive: the call was answered (Info.Elsewhere: on another device
	// of this account).
	StateActive
	// StateEnded: the call is over; Info.Outcome says how.
	StateEnded
)

var stateNames = [...]string{"unknown", "proposing", "ringing", "pending", "active", "ended"}

// String returns the state's name.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// Info is a snapshot of one call.
type Info struct {
	ID        string
	Direction Direction
	// Peer is the bare JID of the other party.
	Peer jid.JID
	// Device is the full JID of the remote device that proposed (incoming)
	// or proceeded (outgoing): the Jingle session goes to it.
	Device jid.JID
	// Self is the device of this account in the call: this device or, with
	// Elsewhere, another one; zero before anyone answered.
	Self         jid.JID
	State        State
	Media        []string
	Descriptions []jmi.Description
	// Started is the propose's original time; Answered and Ended are zero
	// until then.
	Started, Answered, Ended time.Time
	// Outcome is the type of the event that ended the call.
	Outcome EventType
	// Elsewhere says another device of this account placed or answered the
	// call.
	Elsewhere bool
	// Trusted says the caller of an incoming call was trusted.
	Trusted bool
}

// sigKey identifies one message for deduplication: the same message seen
// live, by carbon and again in the archive has one effect (§5).
type sigKey struct {
	kind jmi.Kind
	from string
}

type callState struct {
	Info
	proposeSeen bool // false for a call known only from later signals
	ours        bool // this device placed or answered it
	deferred    bool // pending only because of catch-up; set only by setDeferred
	// wonCrossing: a deferred incoming call that crossed ours and won the
	// tie-break (§4.1) while the catch-up held it; answered, not rung, when
	// the catch-up ends.
	wonCrossing    bool
	final          bool // withdrawn by the caller or finished: nothing reopens it
	presenceShared bool
	deadline       time.Time // when the call needs a Tick; set only by setDeadline
	slot           int       // 1 + the call's index in its deadline queue; 0: in none
	seen           []sigKey
	rang           []string // remote devices that reported ringing
	// The peer index (see index.go): the peer's entry, the queue of it
	// the call is in and its place there (1 + index; 0: in none).
	pidx  *peerIndex
	pq    *peerQueue
	pslot int
	// counted: counted against the limits on untrusted calls (see
	// admitUntrusted).
	counted bool
	// silent: a call known only from a stranger's signals (a received
	// carbon, the archive): its events are held until its propose is
	// seen, so that noise from strangers never reaches the history (see
	// hold).
	silent bool
	held   []Event
}

// maxSeen and maxRang bound what one call keeps for deduplication: a
// legitimate call has a few senders (the caller, each device of the
// callee); past the bound, repeats are still harmless, each handler being
// idempotent on the call's state.
const (
	maxSeen = 32
	maxRang = 32
)

// Machine is the XEP-0353 engine of one device: it takes Inputs and returns
// Effects. It does no I/O and is not safe for concurrent use: one goroutine
// owns it.
type Machine struct {
	cfg        Config
	self, bare jid.JID
	calls      map[string]*callState
	byPeer     map[string]*peerIndex // by the peer's bare JID
	catchingUp bool
	// untrusted counts the calls counted against MaxUntrusted;
	// endedUntrusted holds those that ended, oldest first.
	untrusted      int
	endedUntrusted callFIFO
	over           overflow
	// The calls with a deadline, by deadline, so that NextDeadline and Tick
	// do not scan every remembered call (ended calls are remembered for
	// SessionTimeout, thousands on a busy device). Deferred calls have a
	// queue of their own because their deadlines do not count while
	// catching up. See setDeadline.
	due, dueDeferred deadlineQueue
}

// deadlineQueue is a binary min-heap (container/heap) of calls by deadline.
// Each call knows its place in it (callState.slot), so that a changed
// deadline moves its call, and a call leaves the queue as soon as it has no
// deadline or is forgotten: the queue holds no stale entries.
type deadlineQueue []*callState

func (q deadlineQueue) Len() int           { return len(q) }
func (q deadlineQueue) Less(i, j int) bool { return q[i].deadline.Before(q[j].deadline) }
func (q deadlineQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].slot, q[j].slot = i+1, j+1
}
func (q *deadlineQueue) Push(x any) {
	c := x.(*callState)
	c.slot = len(*q) + 1
	*q = append(*q, c)
}
func (q *deadlineQueue) Pop() any {
	old := *q
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	c.slot = 0
	return c
}

// first returns the earliest deadline in q, or the zero time.
func (q deadlineQueue) first() time.Time {
	if len(q) == 0 {
		return time.Time{}
	}
	return q[0].deadline
}

// collect appends the calls of q whose deadline is not after now, visiting
// only them and their children.
func (q deadlineQueue) collect(now time.Time, i int, into []*callState) []*callState {
	if i >= len(q) || q[i].deadline.After(now) {
		return into
	}
	into = append(into, q[i])
	into = q.collect(now, 2*i+1, into)
	return q.collect(now, 2*i+2, into)
}

// setDeadline is the only way to change c.deadline (zero: none): it keeps
// the deadline queues in step, in O(log n).
//
// The queues' invariant: a call is in a queue exactly when it is remembered
// (in m.calls) and has a deadline, once, in dueDeferred if it is deferred
// and in due otherwise. So they never hold stale entries and together are
// never longer than m.calls (bounded by SessionTimeout, like it); their
// backing arrays keep the length of the busiest moment, as the map does.
func (m *Machine) setDeadline(c *callState, t time.Time) {
	c.deadline = t
	m.requeue(c)
}

// setDeferred is the only way to change c.deferred: it moves c to the queue
// of its new kind.
func (m *Machine) setDeferred(c *callState, deferred bool) {
	if c.deferred == deferred {
		return
	}
	m.unqueue(c)
	c.deferred = deferred
	m.requeue(c)
	m.reindex(c)
}

func (m *Machine) queueOf(c *callState) *deadlineQueue {
	if c.deferred {
		return &m.dueDeferred
	}
	return &m.due
}

// requeue puts c where its deadline says: out of the queues without one,
// else at its place in the queue of its kind.
func (m *Machine) requeue(c *callState) {
	switch {
	case c.deadline.IsZero():
		m.unqueue(c)
	case c.slot != 0:
		heap.Fix(m.queueOf(c), c.slot-1)
	default:
		heap.Push(m.queueOf(c), c)
	}
}

func (m *Machine) unqueue(c *callState) {
	if c.slot != 0 {
		heap.Remove(m.queueOf(c), c.slot-1)
	}
}

func (m *Machine) add(c *callState) {
	m.calls[c.ID] = c
	m.linkPeer(c)
}

// remove forgets c, and its deadline with it.
func (m *Machine) remove(c *callState) {
	m.setDeadline(c, time.Time{})
	delete(m.calls, c.ID)
	m.vouch(c)
	m.unlinkPeer(c)
}

// learnPeer sets the peer of a call known so far only from a legacy
// <accept/> to our own account, which does not name it.
func (m *Machine) learnPeer(c *callState, peer jid.JID) {
	if c.proposeSeen || !c.Peer.Equal(jid.JID{}) {
		return
	}
	m.unlinkPeer(c)
	c.Peer = peer
	m.linkPeer(c)
}

func sortCalls(cs []*callState) {
	sort.Slice(cs, func(i, j int) bool {
		if !cs[i].Started.Equal(cs[j].Started) {
			return cs[i].Started.Before(cs[j].Started)
		}
		return cs[i].ID < cs[j].ID
	})
}

// New returns a Machine for the device cfg.Account.
func New(cfg Config) *Machine {
	if cfg.RingTimeout <= 0 {
		cfg.RingTimeout = DefaultRingTimeout
	}
	if cfg.RingWindow <= 0 {
		cfg.RingWindow = DefaultRingWindow
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = DefaultSessionTimeout
	}
	if cfg.MaxUntrustedPerPeer <= 0 {
		cfg.MaxUntrustedPerPeer = DefaultMaxUntrustedPerPeer
	}
	if cfg.MaxUntrusted <= 0 {
		cfg.MaxUntrusted = DefaultMaxUntrusted
	}
	return &Machine{cfg: cfg, self: cfg.Account, bare: cfg.Account.Bare(), calls: make(map[string]*callState), byPeer: make(map[string]*peerIndex)}
}

// Call returns a snapshot of the call id.
func (m *Machine) Call(id string) (Info, bool) {
	c, ok := m.calls[id]
	if !ok {
		return Info{}, false
	}
	return c.snapshot(), true
}

// Calls returns snapshots of every call remembered, by start time then id.
func (m *Machine) Calls() []Info {
	out := make([]Info, 0, len(m.calls))
	for _, c := range m.sorted() {
		out = append(out, c.snapshot())
	}
	return out
}

func (c *callState) snapshot() Info {
	i := c.Info
	i.Media = append([]string(nil), c.Media...)
	i.Descriptions = append([]jmi.Description(nil), c.Descriptions...)
	return i
}

func (m *Machine) sorted() []*callState {
	cs := make([]*callState, 0, len(m.calls))
	for _, c := range m.calls {
		cs = append(cs, c)
	}
	sortCalls(cs)
	return cs
}

// NextDeadline returns when the Machine next needs a Tick, or the zero time.
// It takes constant time, whatever the number of calls remembered.
func (m *Machine) NextDeadline() time.Time {
	next := m.due.first()
	if m.over.count > 0 && (next.IsZero() || m.over.due.Before(next)) {
		next = m.over.due
	}
	if m.catchingUp {
		return next // deferred calls are decided when catch-up ends, not by the clock
	}
	if d := m.dueDeferred.first(); !d.IsZero() && (next.IsZero() || d.Before(next)) {
		next = d
	}
	return next
}

// Handle applies one input at time now and returns what to do, in order. It
// returns an error only for local misuse (a user action that does not fit);
// bad input from the network is answered with an EventIgnored.
func (m *Machine) Handle(now time.Time, in Input) ([]Effect, error) {
	var out effects
	var err error
	switch in := in.(type) {
	case Signal:
		m.signal(now, in, &out)
	case UserPropose:
		err = m.userPropose(now, in, &out)
	case UserProceed:
		err = m.userProceed(now, in, &out)
	case UserReject:
		err = m.userReject(now, in, &out)
	case UserRetract:
		err = m.userRetract(now, in, &out)
	case UserFinish:
		err = m.userFinish(now, in, &out)
	case CatchUpStarted:
		m.catchingUp = true
	case CatchUpEnded:
		m.catchUpEnded(now, &out)
	case Tick:
		m.tick(now, &out)
	case Bounced:
		m.bounced(now, in, &out)
	default:
		err = fmt.Errorf("%w: input %T", ErrInvalidInput, in)
	}
	m.hold(&out)
	if selfCheck != nil {
		if cerr := selfCheck(m); cerr != nil {
			panic(fmt.Sprintf("call: after %T: %v", in, cerr))
		}
	}
	return out.list, err
}

// selfCheck, when set (by the package's tests only), checks the Machine's
// indexes after every input.
var selfCheck func(*Machine) error

// hold moves the events of silent calls (known only from strangers'
// signals) out of out into the calls, until their propose is seen (see
// release): "record a call only once its propose was seen or a device of
// this account acted on it".
func (m *Machine) hold(out *effects) {
	kept := out.list[:0]
	for _, e := range out.list {
		if n, ok := e.(Notify); ok && n.Event.Type != EventIgnored {
			if c := m.calls[n.Event.ID]; c != nil && c.silent {
				c.held = append(c.held, n.Event)
				continue
			}
		}
		kept = append(kept, e)
	}
	clear(out.list[len(kept):])
	out.list = kept
}

// release ends c's silence, now that its propose is seen or this account
// acted on it, and gives its held events, with the media now known.
func (m *Machine) release(c *callState, out *effects) {
	if !c.silent {
		return
	}
	c.silent = false
	for _, ev := range c.held {
		ev.Media = append([]string(nil), c.Media...)
		out.notify(ev)
	}
	c.held = nil
}

// effects collects what one input asks for.
type effects struct{ list []Effect }

func (e *effects) send(to jid.JID, el jmi.Element) {
	e.list = append(e.list, Send{To: to, Element: el})
}
func (e *effects) presence(to jid.JID) { e.list = append(e.list, SendPresence{To: to}) }
func (e *effects) notify(ev Event)     { e.list = append(e.list, Notify{Event: ev}) }

// event makes an event about c.
func (c *callState) event(t EventType, at time.Time) Event {
	return Event{Type: t, ID: c.ID, Direction: c.Direction, Peer: c.Peer, Media: append([]string(nil), c.Media...), At: at, Elsewhere: c.Elsewhere}
}

func ignored(out *effects, at time.Time, s Signal, class IgnoreReason, why string) {
	ev := Event{Type: EventIgnored, Reason: why, Ignored: class, Device: s.From, At: at}
	if s.Element != nil {
		ev.ID = s.Element.SessionID()
	}
	if !s.From.Equal(jid.JID{}) {
		ev.Peer = s.From.Bare()
	}
	out.notify(ev)
}

// respondTo is where ringing, proceed, reject and finish go: the other
// party's full JID (XEP-0353 0.8.0 §3.2, §3.4, §3.5, §3.7), or its bare JID
// with BareJIDResponses.
func (m *Machine) respondTo(device jid.JID) jid.JID {
	if m.cfg.BareJIDResponses {
		return device.Bare()
	}
	return device
}

// end ends c with the terminal event t at time at, and keeps it until the
// retention time so that late copies of its messages have no effect.
func (m *Machine) end(c *callState, t EventType, at, now time.Time) {
	c.State = StateEnded
	c.Outcome = t
	c.Ended = at
	// Ended: nothing left for the catch-up's end to decide, and its
	// retention counts during the next catch-up too.
	m.setDeferred(c, false)
	m.setDeadline(c, now.Add(m.cfg.SessionTimeout))
	m.reindex(c)
	m.queueEnded(c)
}

func (m *Machine) isOwn(j jid.JID) bool { return j.Bare().Equal(m.bare) }

// addressedHere reports whether a message to "to" is for this device: to
// its full JID, the account's bare JID, or no JID at all. A message to
// another full JID of the account reached us only by carbon or by the
// fallback of RFC 6121 §8.5.3.2.1, and concerns another device.
func (m *Machine) addressedHere(to jid.JID) bool {
	return to.Equal(jid.JID{}) || to.Equal(m.self) || to.Equal(m.bare)
}

func (m *Machine) signal(now time.Time, s Signal, out *effects) {
	if s.Element == nil {
		ignored(out, now, s, IgnoreMalformed, "no JMI element")
		return
	}
	at := s.Stamp
	if at.IsZero() {
		at = now
	}
	id := s.Element.SessionID()
	if id == "" {
		ignored(out, at, s, IgnoreMalformed, "empty session id")
		return
	}
	if s.From.Equal(jid.JID{}) {
		ignored(out, at, s, IgnoreBadAddress, "message without a sender")
		return
	}
	own := m.isOwn(s.From)
	if s.Via == ViaSentCarbon && !own {
		ignored(out, at, s, IgnoreForged, "sent carbon of a message not from this account")
		return
	}
	c := m.calls[id]
	if c != nil {
		key := sigKey{kind: s.Element.Kind(), from: s.From.String()}
		for _, k := range c.seen {
			if k == key {
				return // the same message again: one effect (§5)
			}
		}
		if own && s.Element.Kind() != jmi.KindPropose {
			// A device of this account acted on the call: it is no
			// stranger's noise. (A propose of ours vouches for it once
			// it is known to fit, and gives its own event first.)
			m.vouch(c)
			m.release(c, out)
		}
	}
	switch el := s.Element.(type) {
	case *jmi.Propose:
		m.propose(now, at, s, el, c, out)
	case *jmi.Ringing:
		m.ringing(at, s, c, out)
	case *jmi.Proceed:
		m.proceed(now, at, s, c, out)
	case *jmi.Accept:
		m.proceed(now, at, s, c, out)
	case *jmi.Reject:
		m.reject(now, at, s, el, c, out)
	case *jmi.Retract:
		m.retract(now, at, s, el, c, out)
	case *jmi.Finish:
		m.finish(now, at, s, el, c, out)
	default:
		ignored(out, at, s, IgnoreMalformed, "unknown element")
		return
	}
	if c = m.calls[id]; c != nil {
		key := sigKey{kind: s.Element.Kind(), from: s.From.String()}
		seen := false
		for _, k := range c.seen {
			seen = seen || k == key
		}
		if !seen && len(c.seen) < maxSeen {
			c.seen = append(c.seen, key)
		}
	}
}

func mediaOf(p *jmi.Propose) []string { return p.Media() }

// propose handles <propose/> (§3.1), crossed calls (§4.1) and migration
// (§4.2).
func (m *Machine) propose(now, at time.Time, s Signal, p *jmi.Propose, c *callState, out *effects) {
	own := m.isOwn(s.From)
	if own {
		// Another device of this account placed a call (sent carbon or
		// archive). It never rings here.
		peer := s.To.Bare()
		if c != nil {
			m.learnPeer(c, peer)
			if c.proposeSeen || !c.Peer.Equal(peer) {
				if !c.Peer.Equal(peer) {
					ignored(out, at, s, IgnoreIDConflict, "session id already used with another peer")
				}
				return
			}
			c.Direction = Outgoing
			m.fill(c, p, at)
			m.vouch(c)
			if c.silent {
				// The callee's answer came first, by carbon: the call
				// is ours after all, and its history begins here.
				ev := c.event(EventProposed, c.Started)
				ev.Elsewhere = !s.From.Equal(m.self)
				out.notify(ev)
				m.release(c, out)
			}
			return
		}
		c = &callState{Info: Info{ID: p.ID, Direction: Outgoing, Peer: peer, State: StateProposing, Elsewhere: !s.From.Equal(m.self), Self: s.From, Started: at}, proposeSeen: true}
		c.fill(p, at)
		m.add(c)
		m.setDeadline(c, at.Add(m.cfg.SessionTimeout))
		out.notify(c.event(EventProposed, at))
		return
	}
	peer := s.From.Bare()
	if !m.addressedHere(s.To) && !m.isOwn(s.To) {
		ignored(out, at, s, IgnoreWrongParty, "propose addressed to another account")
		return
	}
	if c != nil {
		m.learnPeer(c, peer)
		switch {
		case !c.Peer.Equal(peer):
			ignored(out, at, s, IgnoreIDConflict, "session id collides with a call of another peer")
		case c.Direction == Outgoing && c.proposeSeen && c.State == StateProposing:
			// Both sides chose the same id: the lower JID wins (§4.1).
			// A retract would name the surviving call too, so the loser
			// only answers; the winner ignores the other propose.
			if TieBreak(c.ID, p.ID, m.self, s.From) == Ours {
				ignored(out, at, s, IgnoreTieBreak, "crossed propose with our own id: ours wins by the lower JID")
				return
			}
			c.Direction, c.Device, c.Trusted, c.ours = Incoming, s.From, true, false
			m.answer(now, at, c, out)
		case !c.proposeSeen:
			// Signals for this call came first (out of order, §3.3): the
			// call is already decided and must not ring.
			c.Direction, c.Device = Incoming, s.From
			m.fill(c, p, at)
			if s.Trusted {
				m.vouch(c)
			}
			m.release(c, out)
		}
		return
	}
	if !s.Trusted && !m.admitUntrusted(peer) {
		m.drop(now, peer)
		return
	}
	// §5: nothing is decided during catch-up: a later message of the same
	// catch-up may withdraw this propose.
	c = m.newIncoming(at, s, p, StatePending, m.catchingUp)
	if c.deferred {
		return
	}
	m.decide(now, c, out)
}

// decide settles a new incoming call c that is pending: a crossed call
// (§4.1), a migration (§4.2), too old to ring (§5), ringing if the caller is
// trusted, silence otherwise (§6).
func (m *Machine) decide(now time.Time, c *callState, out *effects) {
	// The first call with the peer, by start, that waits for its answer or
	// is answered: found in the peer's index in constant time.
	if o := m.answeringWith(c.Peer); o != nil && o != c {
		switch {
		case o.Direction == Outgoing && o.State == StateProposing:
			// §4.1: both sides proposed and nobody answered. The device of
			// ours that proposed decides; the others wait for it.
			if o.ours {
				m.crossed(now, c.Started, c, o, out)
			}
			return
		case o.State == StateActive:
			// §4.2: a propose from a party we are in an answered call with.
			// The device in the call moves it; the others wait.
			if o.ours {
				m.migrate(now, c.Started, c, o, out)
			}
			return
		}
	}
	switch {
	case now.Sub(c.Started) > m.cfg.RingWindow:
		// Offline delivery or catch-up of an old propose: too late to ring.
		m.end(c, EventMissed, c.Started, now)
		ev := c.event(EventMissed, c.Started)
		ev.Device, ev.Reason = c.Device, "stale"
		out.notify(ev)
	case c.wonCrossing:
		// The user placed a call to this peer: proceed, as crossed does.
		c.Trusted = true
		m.answer(now, now, c, out)
	case c.Trusted:
		m.ring(c, out)
	default:
		// §6: nothing goes back to an untrusted caller unless the user
		// acts; the call is recorded silently.
	}
}

// heldCrossing returns the call of o's peer that the catch-up holds and
// that wins the tie-break against our call o (§4.1), the first by start,
// or nil. It looks only at the deferred calls, and only when a tie-break
// ends a call of ours.
func (m *Machine) heldCrossing(o *callState) *callState {
	var won *callState
	for _, c := range m.dueDeferred {
		if c.State != StatePending || c.Direction != Incoming || !c.Peer.Equal(o.Peer) || TieBreak(o.ID, c.ID, m.self, c.Device) != Theirs {
			continue
		}
		if won == nil || c.Started.Before(won.Started) || c.Started.Equal(won.Started) && c.ID < won.ID {
			won = c
		}
	}
	return won
}

func (c *callState) fill(p *jmi.Propose, at time.Time) {
	c.proposeSeen = true
	c.Media = mediaOf(p)
	c.Descriptions = append([]jmi.Description(nil), p.Descriptions...)
	if c.Started.IsZero() || at.Before(c.Started) {
		c.Started = at
	}
}

// fill fills in a remembered call from its propose, and reindexes it.
func (m *Machine) fill(c *callState, p *jmi.Propose, at time.Time) {
	c.fill(p, at)
	m.reindex(c)
}

func (m *Machine) newIncoming(at time.Time, s Signal, p *jmi.Propose, st State, deferred bool) *callState {
	c := &callState{Info: Info{ID: p.ID, Direction: Incoming, Peer: s.From.Bare(), Device: s.From, State: st, Trusted: s.Trusted, Started: at}, presenceShared: s.PresenceShared}
	c.fill(p, at)
	m.add(c)
	if !s.Trusted {
		m.count(c)
	}
	m.setDeferred(c, deferred) // before the deadline: the call goes straight to its queue
	m.setDeadline(c, at.Add(m.cfg.RingWindow))
	return c
}

// ring makes c ring here and tells the caller (§3.2).
func (m *Machine) ring(c *callState, out *effects) {
	c.State = StateRinging
	m.reindex(c)
	m.setDeadline(c, c.Started.Add(m.cfg.RingWindow))
	out.send(m.respondTo(c.Device), &jmi.Ringing{ID: c.ID})
	ev := c.event(EventIncoming, c.Started)
	ev.Device = c.Device
	out.notify(ev)
}

// Winner says which of two crossed proposals survives.
type Winner uint8

// The outcomes of TieBreak.
const (
	// Ours: our proposal wins; reject theirs with <tie-break/>.
	Ours Winner = iota + 1
	// Theirs: their proposal wins; retract ours with <tie-break/> and
	// answer theirs.
	Theirs
)

// TieBreak decides a crossed call (XEP-0353 §4.1): "the lower of the two
// session IDs MUST overrule the other action, where by 'lower' is meant the
// session ID that is sorted first using 'i;octet' collation" — bytewise, never
// as UUIDs, because not every client uses UUIDs — "in the unlikely event that
// the random session IDs are the same, the action sent by the lower of the
// JabberIDs MUST overrule the other action."
func TieBreak(ourID, theirID string, ourJID, theirJID jid.JID) Winner {
	switch c := bytes.Compare([]byte(ourID), []byte(theirID)); {
	case c < 0:
		return Ours
	case c > 0:
		return Theirs
	}
	if bytes.Compare([]byte(ourJID.Bare().String()), []byte(theirJID.Bare().String())) <= 0 {
		return Ours
	}
	return Theirs
}

// crossed resolves our proposing call o against their incoming call c
// (§4.1).
func (m *Machine) crossed(now, at time.Time, c, o *callState, out *effects) {
	expired := &jmi.Reason{Condition: jmi.Expired, Text: "Tie-Break"}
	if TieBreak(o.ID, c.ID, m.self, c.Device) == Ours {
		// "The party that receives the <propose/> action with the higher of
		// the two session IDs MUST return a <reject/> message to the other
		// party with a <tie-break/> child element alongside of a <reason/>
		// element carrying the condition <expired/>."
		out.send(m.respondTo(c.Device), &jmi.Reject{ID: c.ID, Reason: expired, TieBreak: true})
		c.final, c.ours, c.Self = true, true, m.self
		m.vouch(c)
		m.end(c, EventRejected, at, now)
		ev := c.event(EventRejected, at)
		ev.Device, ev.Reason, ev.TieBreak = m.self, string(jmi.Expired), true
		out.notify(ev)
		return
	}
	// "The party that receives the <propose/> action with the lower of the
	// two session IDs MUST send a <retract/> message for the higher session
	// ID to the other party with a <tie-break/> child element alongside of a
	// <reason/> element carrying the condition <expired/> and then eventually
	// respond with an <proceed/> or <reject/> message."
	// The user already asked for a call with this peer, so jmi proceeds.
	out.send(o.Peer, &jmi.Retract{ID: o.ID, Reason: expired, TieBreak: true})
	m.end(o, EventRetracted, at, now)
	o.final = true
	ev := o.event(EventRetracted, at)
	// Ours is replaced by theirs, answered here next: the application
	// follows the call it placed to the one that survives.
	ev.Reason, ev.TieBreak, ev.MigratedTo = string(jmi.Expired), true, c.ID
	out.notify(ev)
	c.Trusted = true
	m.answer(now, at, c, out)
}

// migrate moves the answered call o to the new propose p (§4.2): finish the
// old one with <expired/> and <migrated/>, then proceed the new one.
func (m *Machine) migrate(now, at time.Time, c, o *callState, out *effects) {
	out.send(m.respondTo(o.Device), &jmi.Finish{ID: o.ID, Reason: &jmi.Reason{Condition: jmi.Expired, Text: "Session migrated"}, MigratedTo: c.ID})
	m.end(o, EventFinished, at, now)
	o.final = true
	ev := o.event(EventFinished, at)
	ev.Device, ev.Reason, ev.MigratedTo = o.Device, string(jmi.Expired), c.ID
	out.notify(ev)
	c.Trusted = true
	c.presenceShared = true
	m.answer(now, at, c, out)
}

// answer proceeds the incoming call c from this device (§3.4).
func (m *Machine) answer(now, at time.Time, c *callState, out *effects) {
	out.send(m.respondTo(c.Device), &jmi.Proceed{ID: c.ID})
	if !m.cfg.NoLegacyAccept {
		out.send(m.bare, &jmi.Accept{ID: c.ID})
	}
	if !c.presenceShared {
		out.presence(c.Device)
	}
	c.State, c.ours, c.Elsewhere, c.Self, c.Answered = StateActive, true, false, m.self, at
	m.vouch(c)
	m.reindex(c)
	m.setDeadline(c, at.Add(m.cfg.SessionTimeout))
	ev := c.event(EventProceeded, at)
	ev.Device = m.self
	out.notify(ev)
}

// ringing handles <ringing/> (§3.2): a device of the callee rings.
func (m *Machine) ringing(at time.Time, s Signal, c *callState, out *effects) {
	if m.isOwn(s.From) {
		return // our own device rang for an incoming call: nothing to do
	}
	if c == nil {
		ignored(out, at, s, IgnoreUnknownCall, "ringing for an unknown call")
		return
	}
	if c.Direction != Outgoing || !c.Peer.Equal(s.From.Bare()) {
		ignored(out, at, s, IgnoreWrongParty, "ringing from someone who is not the callee")
		return
	}
	if c.State != StateProposing {
		return // late: the call is already answered or over
	}
	for _, d := range c.rang {
		if d == s.From.String() {
			return
		}
	}
	if len(c.rang) >= maxRang {
		return // no callee has that many devices
	}
	c.rang = append(c.rang, s.From.String())
	ev := c.event(EventRinging, at)
	ev.Device = s.From
	out.notify(ev)
}

// stub remembers a call known only from a signal of this account that came
// before its propose (§3.3: signals may come in any order).
func (m *Machine) stub(at time.Time, s Signal, dir Direction, peer jid.JID) *callState {
	c := &callState{Info: Info{ID: s.Element.SessionID(), Direction: dir, Peer: peer, Started: at}}
	m.add(c)
	return c
}

// strangerStub remembers a call known only from a signal of someone else
// that may come before the propose: the callee's answer to a call another
// device of ours placed, by received carbon or to our bare JID, before the
// sent carbon of its propose; a caller's retract read during catch-up
// before the archive's propose. It is silent until the propose is seen or
// this account acts on it (see hold), and counts as untrusted until then
// unless the application trusts the sender (Signal.Trusted): anyone can
// send such a signal. It returns nil when a limit dropped it.
func (m *Machine) strangerStub(now, at time.Time, s Signal, dir Direction) *callState {
	peer := s.From.Bare()
	if !s.Trusted && !m.admitUntrusted(peer) {
		m.drop(now, peer)
		return nil
	}
	c := m.stub(at, s, dir, peer)
	c.silent = true
	if !s.Trusted {
		m.count(c)
	}
	return c
}

// strangerMayOpen says whether s, the callee's proceed or reject for a call
// this device does not know, may be about a call of this account. Sent to
// this very device live or from offline storage, it is noise: a call placed
// here is known here. A copy of a message to another device of ours (a
// received carbon, the archive, the fallback of RFC 6121 §8.5.3.2.1), or
// one to our bare JID (0.6/0.7 peers), may answer a call another device
// placed whose propose has not reached us yet.
func (m *Machine) strangerMayOpen(s Signal) bool {
	if !m.isOwn(s.To) {
		return false
	}
	return !s.To.Equal(m.self) || s.Via == ViaReceivedCarbon || s.Via == ViaArchive
}

// proceed handles <proceed/> and the legacy <accept/> (§3.4).
func (m *Machine) proceed(now, at time.Time, s Signal, c *callState, out *effects) {
	if m.isOwn(s.From) {
		if s.From.Equal(m.self) && c != nil && c.ours {
			return // our own proceed, read back from the archive
		}
		// Another device of ours answered an incoming call.
		if c == nil {
			if s.Element.Kind() == jmi.KindAccept {
				c = m.stub(at, s, Incoming, jid.JID{})
			} else {
				c = m.stub(at, s, Incoming, s.To.Bare())
				c.Device = s.To
			}
		}
		if c.Direction == Outgoing && c.proposeSeen {
			ignored(out, at, s, IgnoreWrongParty, "proceed from our own account for our outgoing call")
			return
		}
		switch {
		case c.State == StateActive && c.ours && bytes.Compare([]byte(s.From.String()), []byte(m.self.String())) > 0:
			// Two of our devices answered at once: the one with the lower
			// full JID keeps the call, on every device and for the caller.
			return
		case c.State == StateActive && !c.ours:
			return
		case c.State == StateEnded && (c.final || c.Outcome == EventFinished):
			return
		}
		// From this very device, it is its own answer of an earlier run,
		// read back from the archive: answered here, not elsewhere, and
		// this device may hang it up (and answers the peer's finish).
		c.ours = s.From.Equal(m.self)
		c.State, c.Elsewhere, c.Self, c.Answered = StateActive, !c.ours, s.From, at
		m.reindex(c)
		m.setDeferred(c, false) // answered: nothing left for the catch-up's end to decide
		m.setDeadline(c, at.Add(m.cfg.SessionTimeout))
		ev := c.event(EventProceeded, at)
		ev.Device = s.From
		out.notify(ev)
		return
	}
	peer := s.From.Bare()
	if c == nil {
		if !m.strangerMayOpen(s) {
			ignored(out, at, s, IgnoreUnknownCall, "proceed for an unknown call")
			return
		}
		// The answer to a call another device of ours placed, before we saw
		// its propose.
		if c = m.strangerStub(now, at, s, Outgoing); c == nil {
			return
		}
	}
	switch {
	case !c.Peer.Equal(peer) || c.Direction != Outgoing:
		ignored(out, at, s, IgnoreWrongParty, "proceed from someone who is not the callee")
		return
	case c.State == StateEnded && c.Outcome == EventRejected && c.Answered.IsZero() && !c.final:
		// Declined on one device of the callee and answered on another at
		// the same moment: the answer wins, whatever order the two arrive
		// in, so that every device of both sides ends up agreeing.
		c.Outcome = EventUnknown
	case c.State == StateEnded:
		return
	case c.State == StateActive:
		if c.Device.Equal(s.From) || bytes.Compare([]byte(s.From.String()), []byte(c.Device.String())) > 0 {
			return
		}
		// Two devices of the callee answered at once: the lower full JID
		// keeps the call, as the callee's devices decide too.
	}
	c.State, c.Device, c.Answered = StateActive, s.From, at
	m.reindex(c)
	// For this device when it placed the call (in this run, or in an
	// earlier one whose propose the archive gave back) and the answer is
	// addressed to it (or to the account, as 0.6/0.7 peers do); otherwise
	// another device of ours placed it and we saw the answer by carbon.
	placedHere := c.ours || (c.proposeSeen && c.Self.Equal(m.self))
	if placedHere && m.addressedHere(s.To) {
		c.Self, c.ours = m.self, true
	} else {
		c.Elsewhere, c.ours = true, false
	}
	m.setDeadline(c, at.Add(m.cfg.SessionTimeout))
	ev := c.event(EventProceeded, at)
	ev.Device = s.From
	out.notify(ev)
}

func reasonOf(r *jmi.Reason) (cond, text string) {
	if r == nil {
		return "", ""
	}
	return string(r.Condition), r.Text
}

// reject handles <reject/> (§3.5).
func (m *Machine) reject(now, at time.Time, s Signal, r *jmi.Reject, c *callState, out *effects) {
	own := m.isOwn(s.From)
	switch {
	case own && c == nil:
		c = m.stub(at, s, Incoming, s.To.Bare())
		c.Device = s.To
	case c == nil:
		if !m.strangerMayOpen(s) {
			ignored(out, at, s, IgnoreUnknownCall, "reject for an unknown call")
			return
		}
		if c = m.strangerStub(now, at, s, Outgoing); c == nil {
			return
		}
	case own && c.Direction == Outgoing && c.proposeSeen:
		ignored(out, at, s, IgnoreWrongParty, "reject from our own account for our outgoing call")
		return
	case !own && (c.Direction != Outgoing || !c.Peer.Equal(s.From.Bare())):
		ignored(out, at, s, IgnoreWrongParty, "reject from someone who is not the callee")
		return
	}
	if c.State == StateEnded {
		c.final = c.final || r.TieBreak
		if r.TieBreak && c.Outcome == EventFinished {
			// The tie-break crossed an answer: the protocol's resolution
			// wins (§4.1), on every device.
			c.Outcome, c.final = EventRejected, true
			ev := c.event(EventRejected, at)
			ev.Device, ev.TieBreak = s.From, true
			ev.Reason, ev.Text = reasonOf(r.Reason)
			out.notify(ev)
		}
		return
	}
	if c.State == StateActive && !r.TieBreak {
		// Answered: a decline that crossed the answer (on another device
		// of the callee) loses to it, in whatever order they arrive.
		return
	}
	m.end(c, EventRejected, at, now)
	// A tie-break is the protocol's own resolution of a crossed call
	// (§4.1): it ends the call even if another device answered it, and
	// nothing reopens it.
	c.final = r.TieBreak
	ev := c.event(EventRejected, at)
	ev.Device, ev.TieBreak = s.From, r.TieBreak
	ev.Reason, ev.Text = reasonOf(r.Reason)
	if r.TieBreak && !own && c.ours {
		if w := m.heldCrossing(c); w != nil {
			// §4.1 while the catch-up holds their propose (§5): the peer
			// resolved the crossing first. Theirs goes on, answered when the
			// catch-up ends, and the application follows it there.
			w.wonCrossing = true
			ev.MigratedTo = w.ID
		}
	}
	// Our own reject is from another device, unless the archive gives
	// back this device's own of an earlier run.
	ev.Elsewhere = own && !s.From.Equal(m.self)
	c.Elsewhere = ev.Elsewhere
	out.notify(ev)
}

// retract handles <retract/> (§3.3).
func (m *Machine) retract(now, at time.Time, s Signal, r *jmi.Retract, c *callState, out *effects) {
	own := m.isOwn(s.From)
	if own && s.From.Equal(m.self) && c != nil && c.ours && c.State == StateEnded {
		return // our own retract, read back
	}
	switch {
	case c == nil && own:
		c = m.stub(at, s, Outgoing, s.To.Bare())
	case c == nil:
		// The caller's messages reach us in the order it sent them, so its
		// retract comes after its propose, which we would know, except
		// during catch-up: the live retract may come before the archive
		// gives the propose (and the archive's copy may come after a
		// catch-up that began later). Otherwise it is noise.
		if !m.catchingUp && s.Via != ViaArchive && s.Via != ViaReceivedCarbon {
			ignored(out, at, s, IgnoreUnknownCall, "retract for an unknown call")
			return
		}
		if c = m.strangerStub(now, at, s, Incoming); c == nil {
			return
		}
		c.Device = s.From
	case own && c.Direction != Outgoing:
		ignored(out, at, s, IgnoreWrongParty, "retract from our own account for an incoming call")
		return
	case !own && (c.Direction != Incoming || !c.Peer.Equal(s.From.Bare())):
		ignored(out, at, s, IgnoreWrongParty, "retract from someone who is not the caller")
		return
	}
	if c.State == StateEnded {
		c.final = true
		if c.Outcome == EventFinished {
			// The caller withdrew before it saw the answer, which crossed
			// its retract: the call never happened. The caller's word is
			// final, so that every device of both sides agrees.
			c.Outcome = EventRetracted
			ev := c.event(EventRetracted, at)
			ev.Device = s.From
			ev.Reason, ev.Text = reasonOf(r.Reason)
			out.notify(ev)
		}
		return
	}
	t := EventRetracted
	if c.Direction == Incoming && c.State != StateActive && !r.TieBreak {
		t = EventMissed // withdrawn before anyone answered
	}
	m.end(c, t, at, now)
	c.final = true
	ev := c.event(t, at)
	ev.Device, ev.TieBreak = s.From, r.TieBreak
	ev.Reason, ev.Text = reasonOf(r.Reason)
	ev.Elsewhere = own && !s.From.Equal(m.self)
	out.notify(ev)
}

// finish handles <finish/> (§3.7): the other side's finish ends the call on
// every device of the account, and the device in the call answers with its
// own.
func (m *Machine) finish(now, at time.Time, s Signal, f *jmi.Finish, c *callState, out *effects) {
	own := m.isOwn(s.From)
	if c == nil {
		ignored(out, at, s, IgnoreUnknownCall, "finish for an unknown call")
		return
	}
	if own && s.From.Equal(m.self) && c.ours && c.State == StateEnded {
		return // our own finish, read back
	}
	if !own && !c.Peer.Equal(s.From.Bare()) {
		ignored(out, at, s, IgnoreWrongParty, "finish from someone who is not a party")
		return
	}
	if c.State == StateEnded {
		if !c.final && c.Outcome != EventFinished {
			// A decline or a local time-out that crossed an answer: the
			// finish shows the call happened (§3.7).
			c.Outcome = EventFinished
			ev := c.event(EventFinished, at)
			ev.Device, ev.MigratedTo = s.From, f.MigratedTo
			ev.Reason, ev.Text = reasonOf(f.Reason)
			ev.Elsewhere = (own && !s.From.Equal(m.self)) || c.Elsewhere
			out.notify(ev)
		}
		c.final = true
		return
	}
	if !own && c.ours && c.State == StateActive && f.MigratedTo == "" {
		out.send(m.respondTo(s.From), &jmi.Finish{ID: c.ID, Reason: &jmi.Reason{Condition: jmi.Success}})
	}
	// A finish is only sent for an answered session (§3.7): seen before
	// the proceed (reordered, or in catch-up), it still means the call
	// happened.
	t := EventFinished
	m.end(c, t, at, now)
	c.final = true
	ev := c.event(t, at)
	ev.Device, ev.MigratedTo = s.From, f.MigratedTo
	ev.Reason, ev.Text = reasonOf(f.Reason)
	ev.Elsewhere = (own && !s.From.Equal(m.self)) || c.Elsewhere
	out.notify(ev)
}

func (m *Machine) catchUpEnded(now time.Time, out *effects) {
	m.catchingUp = false
	// §3.3: a propose with no retract, finish, proceed or reject is still
	// active; it rings only if it is fresh.
	// The deferred calls are the ones in their deadline queue: no scan of
	// every remembered call.
	var deferred []*callState
	for _, c := range m.dueDeferred {
		if c.State == StatePending {
			deferred = append(deferred, c)
		}
	}
	sortCalls(deferred)
	for _, c := range deferred {
		m.setDeferred(c, false)
		m.decide(now, c, out)
	}
}

func (m *Machine) tick(now time.Time, out *effects) {
	// Every call whose deadline has come, deferred ones too (those that
	// ring or wait are skipped below while catching up), found in the
	// queues in time proportional to their number.
	m.reportOverflow(now, out)
	due := m.due.collect(now, 0, nil)
	due = m.dueDeferred.collect(now, 0, due)
	sortCalls(due)
	for _, c := range due {
		switch {
		case c.State == StateEnded:
			m.remove(c) // retention over
		case c.State == StateProposing && c.ours:
			// The caller gives up (RingTimeout).
			out.send(c.Peer, &jmi.Retract{ID: c.ID, Reason: &jmi.Reason{Condition: jmi.Timeout}})
			m.end(c, EventRetracted, now, now)
			c.final = true
			ev := c.event(EventRetracted, now)
			ev.Reason = string(jmi.Timeout)
			out.notify(ev)
		case c.State == StateRinging || c.State == StatePending:
			if c.deferred && m.catchingUp {
				continue
			}
			m.end(c, EventMissed, now, now)
			ev := c.event(EventMissed, now)
			ev.Device, ev.Reason = c.Device, string(jmi.Timeout)
			if !c.Trusted {
				ev.Reason = "untrusted"
			}
			out.notify(ev)
		case c.State == StateActive || c.State == StateProposing:
			// §5: no finish from either side within SessionTimeout.
			t := EventFinished
			if c.State == StateProposing {
				t = EventRetracted
			}
			m.end(c, t, now, now)
			ev := c.event(t, now)
			ev.Reason = string(jmi.Expired)
			out.notify(ev)
		default:
			m.setDeadline(c, time.Time{})
		}
	}
}

func (m *Machine) userPropose(now time.Time, in UserPropose, out *effects) error {
	switch {
	case in.ID == "":
		return fmt.Errorf("%w: propose without a session id", ErrInvalidInput)
	case m.calls[in.ID] != nil:
		return fmt.Errorf("%w: session id %q is in use", ErrInvalidInput, in.ID)
	case len(in.Descriptions) == 0:
		return fmt.Errorf("%w: propose without a description", ErrInvalidInput)
	case in.To.Equal(jid.JID{}) || in.To.Domainpart() == "":
		return fmt.Errorf("%w: propose without a callee", ErrInvalidInput)
	}
	p := &jmi.Propose{ID: in.ID, Descriptions: append([]jmi.Description(nil), in.Descriptions...)}
	c := &callState{Info: Info{ID: in.ID, Direction: Outgoing, Peer: in.To.Bare(), State: StateProposing, Self: m.self, Started: now}, ours: true, presenceShared: in.PresenceShared}
	c.fill(p, now)
	m.add(c)
	m.setDeadline(c, now.Add(m.cfg.RingTimeout))
	// §3.1: to the callee's bare JID, so that every device rings.
	out.send(c.Peer, p)
	if !in.PresenceShared {
		out.presence(c.Peer)
	}
	out.notify(c.event(EventProposed, now))
	// Calling back a peer whose call rings here is a crossed call too
	// (§4.1), only seen in the other order: this device already received
	// their propose. Resolve it now, as if theirs had just arrived, so that
	// the same call survives whichever was first; waiting for the peer's
	// tie-break would leave their call ringing here.
	if o := m.waitingFrom(c.Peer); o != nil {
		// Presence is shared, or went to the peer's bare JID just
		// above: an answer needs no more.
		o.presenceShared = true
		m.crossed(now, now, o, c, out)
	}
	return nil
}

func (m *Machine) mine(id string) (*callState, error) {
	c := m.calls[id]
	if c == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownCall, id)
	}
	return c, nil
}

func (m *Machine) userProceed(now time.Time, in UserProceed, out *effects) error {
	c, err := m.mine(in.ID)
	if err != nil {
		return err
	}
	if c.Direction != Incoming || !c.proposeSeen || (c.State != StateRinging && c.State != StatePending) {
		return fmt.Errorf("%w: proceed on a %s %s call", ErrInvalidState, c.State, directionName(c.Direction))
	}
	m.setDeferred(c, false)
	m.answer(now, now, c, out)
	return nil
}

func (m *Machine) userReject(now time.Time, in UserReject, out *effects) error {
	c, err := m.mine(in.ID)
	if err != nil {
		return err
	}
	if c.Direction != Incoming || !c.proposeSeen || (c.State != StateRinging && c.State != StatePending) {
		return fmt.Errorf("%w: reject on a %s %s call", ErrInvalidState, c.State, directionName(c.Direction))
	}
	r := in.Reason
	if r == nil {
		r = &jmi.Reason{Condition: jmi.Busy}
	}
	out.send(m.respondTo(c.Device), &jmi.Reject{ID: c.ID, Reason: r})
	c.ours, c.Self = true, m.self
	m.vouch(c)
	m.end(c, EventRejected, now, now)
	ev := c.event(EventRejected, now)
	ev.Device, ev.Reason, ev.Text = m.self, string(r.Condition), r.Text
	out.notify(ev)
	return nil
}

func (m *Machine) userRetract(now time.Time, in UserRetract, out *effects) error {
	c, err := m.mine(in.ID)
	if err != nil {
		return err
	}
	if c.Direction != Outgoing || !c.ours || c.State != StateProposing {
		return fmt.Errorf("%w: retract on a %s %s call", ErrInvalidState, c.State, directionName(c.Direction))
	}
	r := in.Reason
	if r == nil {
		r = &jmi.Reason{Condition: jmi.Cancel}
	}
	out.send(c.Peer, &jmi.Retract{ID: c.ID, Reason: r})
	m.end(c, EventRetracted, now, now)
	c.final = true
	ev := c.event(EventRetracted, now)
	ev.Reason, ev.Text = string(r.Condition), r.Text
	out.notify(ev)
	return nil
}

func (m *Machine) userFinish(now time.Time, in UserFinish, out *effects) error {
	c, err := m.mine(in.ID)
	if err != nil {
		return err
	}
	if c.ours && c.State == StateEnded && c.Outcome == EventFinished {
		// The other side hung up at the same moment (its finish came
		// first, and was answered with ours), or this device already did:
		// the call is over, as the user asked. Nothing more to send (§3.7).
		return nil
	}
	if !c.ours || c.State != StateActive {
		return fmt.Errorf("%w: finish on a %s call not answered here", ErrInvalidState, c.State)
	}
	r := in.Reason
	if r == nil {
		r = &jmi.Reason{Condition: jmi.Success}
	}
	out.send(m.respondTo(c.Device), &jmi.Finish{ID: c.ID, Reason: r})
	m.end(c, EventFinished, now, now)
	c.final = true
	ev := c.event(EventFinished, now)
	ev.Device, ev.Reason, ev.Text = m.self, string(r.Condition), r.Text
	out.notify(ev)
	return nil
}

func directionName(d Direction) string {
	switch d {
	case Incoming:
		return "incoming"
	case Outgoing:
		return "outgoing"
	}
	return "unknown"
}
