package client

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/jingle/session"
	"github.com/pion/webrtc/v4"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/carbons"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/roster"
	"mellium.im/xmpp/stanza"
	"mellium.im/xmpp/stream"
)

// Config configures a Client. JID and Password are required; the zero value
// of every other field is a sensible default.
type Config struct {
	// JID is the account and the resource of this device
	// (juliet@capulet.example/phone). Without a resource, "jmi" is used.
	JID jid.JID
	// Password of the account.
	Password string
	// Server is host:port to connect to instead of looking the domain up.
	Server string
	// TLS is how the connection is secured (default STARTTLS).
	TLS TLSMode
	// CAFile, when set, is the only certificate authority trusted for the
	// server's certificate; otherwise the system's roots are.
	CAFile string
	// Engine tunes the call engine (time-outs, addressing).
	Engine call.Config
	// Trust decides whether a caller (bare JID) may make this device ring.
	// Nil: the roster decides, trusting contacts with a presence
	// subscription from or both (XEP-0353 §6).
	Trust func(peer jid.JID) bool
	// CatchUpWindow is how far back the first archive catch-up reads
	// (default 24 hours); later ones read on from the last archive id seen.
	CatchUpWindow time.Duration
	// Logger receives every ignored input with its reason (Warn) and what
	// the client does (Debug). Nil: silent.
	Logger *slog.Logger
	// Recorder, when set, records every event before it is delivered, so a
	// call history never misses what the user was shown. When it fails,
	// the event is delivered all the same and RecordErr says so.
	Recorder Recorder
	// MuxOptions register an application's handlers (a media stack's
	// Jingle IQs) on the session Dial runs: an IQ get or set goes to the
	// one registered for its type and payload before the client's own
	// answers, and every message is handed to them too (jmi reads its own
	// in any case). Their features are listed in disco#info.
	MuxOptions []mux.Option
	// Features are added to what disco#info lists (and to the
	// capabilities of the presence).
	Features []info.Feature
	// StateFile, when set, keeps the id of the last archive result this
	// device read, so that the catch-up after a restart reads on from there
	// instead of CatchUpWindow back.
	StateFile string
	// Position, when set, keeps the archive position instead of StateFile
	// (in the application's own database, say).
	Position ArchivePosition
	// Media turns on audio for the calls of this device (see MediaConfig).
	// Nil: signalling only, and a Jingle session-initiate for a call
	// answered here is refused with <unsupported-applications/>.
	Media *MediaConfig
}

// Recorder records every event of every call, before it is delivered: a
// *calllog.Log is one.
type Recorder interface {
	Record(call.Event) error
}

// ArchivePosition keeps where a device's archive catch-up reads on from,
// between runs. Load finds a zero Position when nothing was saved yet.
// Save must replace the position atomically: a crash leaves the old one or
// the new one. Both are called from the client's goroutines, one at a time.
type ArchivePosition interface {
	LoadPosition() (Position, error)
	SavePosition(Position) error
}

// Position is where the archive catch-up reads on from.
type Position struct {
	// LastArchiveID is the id of the last archive result read.
	LastArchiveID string
	// CaughtUpAt is when the last complete catch-up began: the next one,
	// when the archive no longer has LastArchiveID, reads from then.
	CaughtUpAt time.Time
}

// StateFile keeps the archive position in the JSON file at path, written
// atomically (what Config.StateFile uses).
func StateFile(path string) ArchivePosition { return stateFile(path) }

type stateFile string

func (f stateFile) LoadPosition() (Position, error) {
	st, err := loadState(string(f))
	return Position(st), err
}

func (f stateFile) SavePosition(p Position) error { return saveState(string(f), state(p)) }

// ErrClosed is returned by calls on a closed Client.
var ErrClosed = errors.New("client: closed")

// ErrConflict is why a client stops when the server ends its stream with
// <conflict/> (RFC 6120 §4.9.3.3): another session logged in with the same
// full JID and took its place. Reconnecting would take the place back and
// start a fight that never ends (both reconnecting several times a second),
// so the client stops: Err returns an error wrapping ErrConflict and Events
// closes.
var ErrConflict = errors.New("client: another session logged in with this device's full JID")

// Client is one device of an XMPP account placing and answering calls.
// Its methods are safe for concurrent use.
type Client struct {
	cfg Config
	log *slog.Logger
	dev *Device // owned by the loop goroutine

	// life is never cancelled before Close. Every session operation uses
	// it: mellium v0.22.0 arms a goroutine per write that, if the context
	// given is cancelled just as the write ends, sets the connection's
	// deadline in the past and breaks the next write or read.
	life context.Context
	stop context.CancelFunc

	inbox chan func()
	done  chan struct{} // closed when the client begins to stop
	// loopDone is closed when the loop has returned: nothing in inbox
	// runs after it.
	loopDone chan struct{}
	ready    chan struct{} // closed when the first catch-up ended
	// caughtUpAt is when the last complete catch-up began; owned by the
	// catch-up goroutine (one at a time) and the loop it posts to.
	caughtUpAt time.Time
	readyOnce  sync.Once
	wg         sync.WaitGroup
	closed     sync.Once

	events *eventQueue

	// logins counts the sessions established, the first one included.
	logins atomic.Int64

	mu  sync.Mutex
	err error // why the client stopped on its own; see Err
	// recordErr is the first failure of cfg.Recorder, recordFailures
	// their number; see RecordErr.
	recordErr      error
	recordFailures int
	roster         map[string]string  // bare JID → subscription
	session        *xmpp.Session      // replaced on reconnect; read through sess
	served         chan struct{}      // closed when serve stops reading session
	serverICE      []webrtc.ICEServer // the server's STUN and TURN (XEP-0215), with media
	pending        [][]byte           // stanzas the loop could not send while offline
	// embedded: made by New, on the application's session, which the
	// client neither closes nor replaces.
	embedded      bool
	extra         *mux.ServeMux // of cfg.MuxOptions; nil without any
	status        Status
	statusChanged chan struct{} // closed and replaced at each change of status
	// media holds the media session of each call that has one, by call
	// id: written by the loop, read by MediaStats.
	media map[string]*callMedia
	// flow is the Jingle flow of a client with media (nil without),
	// owned by the loop.
	flow        *jingleFlow
	sendIQEnded func() // tests only: called when a SendIQ stops waiting for its answer
}

// sess returns the current session.
func (c *Client) sess() *xmpp.Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// Dial connects cfg.JID, binds its resource, sends initial presence,
// enables carbons, fetches the roster and starts the archive catch-up.
// Events arrive on Events until Close.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.JID.Resourcepart() == "" {
		j, err := cfg.JID.WithResource("jmi")
		if err != nil {
			return nil, fmt.Errorf("client: %w", err)
		}
		cfg.JID = j
	}
	if cfg.CatchUpWindow <= 0 {
		cfg.CatchUpWindow = 24 * time.Hour
	}
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	s, err := dialSession(ctx, cfg.JID, cfg.Password, cfg.Server, cfg.TLS, cfg.CAFile)
	if err != nil {
		c.stop()
		c.events.end()
		return nil, classifyLoginError(err)
	}
	c.session, c.served = s, make(chan struct{})
	c.logins.Add(1)
	c.startLoop()
	c.wg.Add(1)
	go c.serve()
	if err := c.setUp(c.life, s); err != nil {
		c.Close()
		return nil, err
	}
	c.setStatus(ConnOnline, nil)
	return c, nil
}

// newClient builds a client that is not connected: its loop is not
// started and it has no session (what it sends is queued as offline).
func newClient(cfg Config) (*Client, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	life, stop := context.WithCancel(context.Background())
	c := &Client{ready: make(chan struct{}), life: life, stop: stop, cfg: cfg, log: log.With("component", "jmi", "account", cfg.JID.String()), inbox: make(chan func(), 256), done: make(chan struct{}), loopDone: make(chan struct{}), events: newEventQueue(), roster: map[string]string{}, statusChanged: make(chan struct{})}
	c.extra = newExtraMux(cfg.MuxOptions)
	trust := cfg.Trust
	if trust == nil {
		trust = c.rosterTrust
	}
	if cfg.Media != nil {
		c.flow = newJingleFlow(cfg.JID, trust)
	}
	c.dev = NewDevice(DeviceConfig{Account: cfg.JID, Engine: cfg.Engine, Trust: trust, SharesPresence: c.sharesPresence})
	if cfg.Position == nil && cfg.StateFile != "" {
		c.cfg.Position = stateFile(cfg.StateFile)
	}
	if c.cfg.Position != nil {
		st, err := c.cfg.Position.LoadPosition()
		if err != nil {
			stop()
			c.events.end()
			return nil, err
		}
		c.dev.SetLastArchiveID(st.LastArchiveID)
		c.caughtUpAt = st.CaughtUpAt
	}
	return c, nil
}

// startLoop starts the goroutine that owns the Device.
func (c *Client) startLoop() {
	c.wg.Add(1)
	go c.loop()
}

// setUp runs what a device does after login, in the order that makes no
// call ring twice or too late: roster (for trust), carbons, the start of
// the catch-up, presence, then the archive query.
func (c *Client) setUp(ctx context.Context, s *xmpp.Session) error {
	// The fetched roster replaces the one we had: a contact removed while
	// we were offline is trusted no more. It is swapped in before the
	// iterator is closed: mellium reads the stream on only then, so no push
	// that followed the answer can be overwritten by it.
	iter := roster.Fetch(ctx, s)
	fetched := map[string]string{}
	for iter.Next() {
		item := iter.Item()
		fetched[item.JID.Bare().String()] = item.Subscription
	}
	if err := iter.Err(); err != nil {
		c.log.Warn("fetching the roster; trust stays as it was", "err", err)
	} else {
		c.mu.Lock()
		c.roster = fetched
		c.mu.Unlock()
	}
	iter.Close()
	if err := carbons.Enable(ctx, s); err != nil {
		return fmt.Errorf("client: enabling carbons: %w", err)
	}
	// The catch-up begins before the presence: the server hands over what
	// it stored offline as soon as it has it, and none of that may ring
	// before the archive has told how each call ended (XEP-0353 §3.3).
	qid := "jmi-" + jmi.NewID()[:8]
	var after string
	if err := c.run(ctx, func() {
		after = c.dev.LastArchiveID()
		c.apply(c.dev.StartCatchUp(time.Now(), qid))
	}); err != nil {
		return err
	}
	if err := s.Send(ctx, stanza.Presence{}.Wrap(c.capsElement())); err != nil {
		return fmt.Errorf("client: sending presence: %w", err)
	}
	// What the user did while we were offline goes out now, in order.
	c.mu.Lock()
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, b := range pending {
		if err := s.Send(ctx, xml.NewDecoder(bytes.NewReader(b))); err != nil {
			return fmt.Errorf("client: sending what was queued offline: %w", err)
		}
	}
	c.wg.Add(1)
	go c.catchUp(qid, after)
	if c.cfg.Media != nil {
		c.wg.Add(1)
		go c.lookUpICEServers(s)
	}
	return nil
}

func (c *Client) rosterTrust(peer jid.JID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	sub := c.roster[peer.Bare().String()]
	return sub == "from" || sub == "both"
}

func (c *Client) sharesPresence(peer jid.JID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.roster[peer.Bare().String()] == "both"
}

// Events returns the channel on which every event of every call arrives,
// in the order the engine produced them. None is dropped while the client
// runs: undelivered events queue up. When the client stops on its own (see
// Err), the channel closes after the events queued before; Close drops the
// events not read by then and closes it before it returns.
func (c *Client) Events() <-chan call.Event { return c.events.out }

// Account returns this device's full JID, with the resource the server
// bound.
func (c *Client) Account() jid.JID {
	if s := c.sess(); s != nil {
		return s.LocalAddr()
	}
	return c.cfg.JID
}

// Call proposes a call to peer with the given media ("audio", "video";
// default audio) and returns it once the propose is sent. What
// happens to the call arrives as events with its id. The call may go on as
// another session, answered on this device: when the peer called at the
// same moment and their call won the tie-break (XEP-0353 §4.1), or when the
// peer moved the call to another of their devices (§4.2). The event that
// ends this call then names the other in MigratedTo: follow it with
// CallByID(ev.MigratedTo). A Call never follows on its own: one Call is one
// session id.
func (c *Client) Call(ctx context.Context, peer jid.JID, media ...string) (*Call, error) {
	if len(media) == 0 {
		media = []string{"audio"}
	}
	var descs []jmi.Description
	for _, m := range media {
		descs = append(descs, jmi.RTP(m))
	}
	id := jmi.NewID()
	if _, err := jmi.Marshal(&jmi.Propose{ID: id, Descriptions: descs}); err != nil {
		// Refused before the engine takes it: a propose that cannot be
		// written would leave a call ringing nowhere.
		return nil, fmt.Errorf("client: %w", err)
	}
	if err := c.do(ctx, call.UserPropose{To: peer.Bare(), ID: id, Descriptions: descs, PresenceShared: c.sharesPresence(peer)}); err != nil {
		return nil, err
	}
	return c.CallByID(id), nil
}

// CallByID returns the call with session id id, as named by an event.
// Acting on a call the device does not know gives call.ErrUnknownCall.
func (c *Client) CallByID(id string) *Call { return &Call{c: c, id: id} }

// Call is one call session, incoming or outgoing, named by its session id.
// When the call goes on under another id (a tie-break, a migration), the
// event that ends this one names the other in MigratedTo. Its methods are
// safe for concurrent use.
type Call struct {
	c  *Client
	id string
}

// ID is the session id: the propose's id, and the sid of the Jingle session
// that follows (XEP-0353 §3.6).
func (h *Call) ID() string { return h.id }

// Answer proceeds the incoming call on this device.
func (h *Call) Answer(ctx context.Context) error {
	return h.c.do(ctx, call.UserProceed{ID: h.id})
}

// Decline rejects the incoming call (reason busy when nil).
func (h *Call) Decline(ctx context.Context, reason *jmi.Reason) error {
	if err := checkReason(reason); err != nil {
		return err
	}
	return h.c.do(ctx, call.UserReject{ID: h.id, Reason: reason})
}

// Withdraw retracts the outgoing call (reason cancel when nil).
func (h *Call) Withdraw(ctx context.Context, reason *jmi.Reason) error {
	if err := checkReason(reason); err != nil {
		return err
	}
	return h.c.do(ctx, call.UserRetract{ID: h.id, Reason: reason})
}

// HangUp finishes the answered call (reason success when nil). With media,
// the Jingle session-terminate goes out first and the <finish/> right
// after it: Conversations and Dino hang up on the first, Monal and jmi
// without media on the second.
func (h *Call) HangUp(ctx context.Context, reason *jmi.Reason) error {
	if err := checkReason(reason); err != nil {
		return err
	}
	if h.c.flow != nil {
		var err error
		if rerr := h.c.run(ctx, func() { err = h.c.hangUpWithMedia(h.id, reason) }); rerr != nil {
			return rerr
		}
		return err
	}
	return h.c.do(ctx, call.UserFinish{ID: h.id, Reason: reason})
}

// checkReason refuses a reason that cannot be written (jmi.ErrNotXMLText)
// before the engine acts on it: the call would end here while the peer
// never heard of it.
func checkReason(r *jmi.Reason) error {
	if r == nil {
		return nil
	}
	if _, err := jmi.Marshal(&jmi.Finish{ID: "check", Reason: r}); err != nil {
		return fmt.Errorf("client: %w", err)
	}
	return nil
}

// Info returns a snapshot of the call; ok is false when the device does not
// know it.
func (h *Call) Info(ctx context.Context) (info call.Info, ok bool, err error) {
	err = h.c.run(ctx, func() { info, ok = h.c.dev.Call(h.id) })
	return info, ok, err
}

// Jingle returns what a Jingle session (XEP-0166) for the answered call
// needs: its sid, which is the propose id (XEP-0353 §3.6), and the full JID
// of the remote device, the one that proceeded (our outgoing call) or that
// proposed (our incoming call). ok is false unless the call is answered on
// this device.
func (h *Call) Jingle(ctx context.Context) (sid string, peer jid.JID, ok bool, err error) {
	info, found, err := h.Info(ctx)
	if err != nil || !found || info.State != call.StateActive || info.Elsewhere {
		return "", jid.JID{}, false, err
	}
	return info.ID, info.Device, true, nil
}

// MatchSessionInitiate reports whether an incoming Jingle session-initiate
// with this sid, from this full JID, belongs to a call answered on this
// device: same session id, from the device of the initiator that proposed.
// A media stack should refuse any other.
func (c *Client) MatchSessionInitiate(ctx context.Context, sid string, from jid.JID) (bool, error) {
	info, found, err := c.CallByID(sid).Info(ctx)
	if err != nil || !found {
		return false, err
	}
	return info.State == call.StateActive && !info.Elsewhere && info.Direction == call.Incoming && info.Device.Equal(from), nil
}

// do runs a user action on the loop and waits until its stanzas are sent.
func (c *Client) do(ctx context.Context, in call.Input) error {
	var err error
	if rerr := c.run(ctx, func() {
		var effs []call.Effect
		effs, err = c.dev.Do(time.Now(), in)
		c.apply(effs)
	}); rerr != nil {
		return rerr
	}
	return err
}

// Task states: a task handed to the loop is pending until the loop starts
// it or its caller gives up on it, whichever comes first.
const (
	taskPending int32 = iota
	taskRunning
	taskAbandoned
)

// run runs f on the loop goroutine and waits for it. It returns nil if and
// only if f ran: a caller whose ctx ends, or a client that closes, while f
// waits in the queue takes it back (ctx.Err() or ErrClosed) and f never
// runs; once the loop has started f, run waits for it to end whatever ctx
// says, so that an error always means "not done".
func (c *Client) run(ctx context.Context, f func()) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var state atomic.Int32
	ran := make(chan struct{})
	task := func() {
		if state.CompareAndSwap(taskPending, taskRunning) {
			f()
			close(ran)
		}
	}
	select {
	case c.inbox <- task:
	case <-c.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	var gaveUp error
	select {
	case <-ran:
		return nil
	case <-c.loopDone:
		gaveUp = ErrClosed
	case <-ctx.Done():
		gaveUp = ctx.Err()
	}
	if state.CompareAndSwap(taskPending, taskAbandoned) {
		return gaveUp
	}
	// The loop started f: it ends it before anything else, even before it
	// returns.
	<-ran
	return nil
}

// post hands f to the loop without waiting.
func (c *Client) post(f func()) {
	select {
	case c.inbox <- f:
	case <-c.done:
	}
}

// loop owns the Device: every input goes through it, and it runs the
// engine's deadlines with one timer.
func (c *Client) loop() {
	defer c.wg.Done()
	defer c.events.end() // the loop is the only one that pushes events
	defer close(c.loopDone)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case f := <-c.inbox:
			f()
		case <-timer.C:
			effs, _ := c.dev.Do(time.Now(), call.Tick{})
			c.apply(effs)
			if c.flow != nil {
				c.jingleInput(session.Tick{})
			}
		case <-c.done:
			return
		}
		dl := c.dev.NextDeadline()
		if c.flow != nil {
			if j := c.flow.m.NextDeadline(); !j.IsZero() && (dl.IsZero() || j.Before(dl)) {
				dl = j
			}
		}
		if !dl.IsZero() {
			timer.Reset(time.Until(dl))
		} else {
			timer.Stop()
		}
	}
}

// apply carries out the engine's effects in order.
func (c *Client) apply(effs []call.Effect) {
	ctx := c.life
	for _, e := range effs {
		switch e := e.(type) {
		case call.Send:
			b, err := c.dev.Stanza(e)
			if err == nil {
				err = c.send(ctx, xml.NewDecoder(bytes.NewReader(b)))
			}
			if err != nil && b != nil {
				// Offline: keep it for when the stream is back.
				c.mu.Lock()
				c.pending = append(c.pending, b)
				c.mu.Unlock()
				c.log.Debug("queued while offline", "kind", e.Element.Kind().String(), "sid", e.Element.SessionID(), "err", err)
				continue
			}
			if err != nil {
				c.log.Warn("sending", "kind", e.Element.Kind().String(), "sid", e.Element.SessionID(), "to", e.To.String(), "err", err)
				continue
			}
			c.log.Debug("sent", "kind", e.Element.Kind().String(), "sid", e.Element.SessionID(), "to", e.To.String())
		case call.SendPresence:
			if err := c.send(ctx, stanza.Presence{To: e.To}.Wrap(c.capsElement())); err != nil {
				c.log.Warn("sending presence", "to", e.To.String(), "err", err)
			}
		case call.Notify:
			ev := e.Event
			if ev.Type == call.EventIgnored {
				c.log.Warn("ignored input", "sid", ev.ID, "from", ev.Device.String(), "reason", ev.Reason)
			} else {
				c.log.Debug("event", "event", ev.Type.String(), "sid", ev.ID, "peer", ev.Peer.String())
			}
			if c.cfg.Recorder != nil {
				if err := c.cfg.Recorder.Record(ev); err != nil {
					c.log.Error("recording", "sid", ev.ID, "event", ev.Type.String(), "err", err)
					c.mu.Lock()
					c.recordFailures++
					if c.recordErr == nil {
						c.recordErr = fmt.Errorf("client: recording the %s event of call %s: %w", ev.Type, ev.ID, err)
					}
					c.mu.Unlock()
				}
			}
			c.events.push(ev)
			if c.flow != nil && ev.Type != call.EventIgnored {
				c.jingleCallEvent(ev)
			}
		}
	}
}

// errOffline: there is no session to send on.
var errOffline = errors.New("client: offline")

// send puts r on the current session.
func (c *Client) send(ctx context.Context, r xml.TokenReader) error {
	s := c.sess()
	if s == nil {
		return errOffline
	}
	return s.Send(ctx, r)
}

// serve reads the stream, and when it drops, reconnects with backoff and
// catches up again: the Device and its calls live on. Its handler only
// copies each message's tokens and hands them to the loop: a mellium
// handler must never send.
func (c *Client) serve() {
	defer c.wg.Done()
	for {
		c.mu.Lock()
		s, served := c.session, c.served
		c.mu.Unlock()
		err := s.Serve(xmpp.HandlerFunc(c.handle))
		close(served)
		select {
		case <-c.done:
			return
		default:
		}
		// The server has ended the stream, or the connection broke: close
		// our side now, so that what the loop sends until the reconnect
		// fails and is queued, instead of going into a socket the server
		// no longer reads (a write after the server's close still
		// succeeds, and an answer given then was lost).
		if conn := s.Conn(); conn != nil {
			_ = conn.Close()
		}
		if errors.Is(err, stream.Conflict) {
			c.stopWith(fmt.Errorf("%w: %v", ErrConflict, streamErrorText(err)))
			return
		}
		c.log.Info("stream ended; reconnecting", "err", err)
		c.setStatus(ConnReconnecting, err)
		if !c.reconnect() {
			return
		}
	}
}

// reconnect dials again with backoff until it succeeds or the client is
// closed.
func (c *Client) reconnect() bool {
	backoff := 100 * time.Millisecond
	for {
		select {
		case <-c.done:
			return false
		case <-time.After(backoff):
		}
		// Under c.life, so that Close does not wait out the 20 s on a
		// server that accepted the connection and answers nothing.
		ctx, cancel := context.WithTimeout(c.life, 20*time.Second)
		s, err := dialSession(ctx, c.cfg.JID, c.cfg.Password, c.cfg.Server, c.cfg.TLS, c.cfg.CAFile)
		if err != nil {
			err = classifyLoginError(err)
		}
		if errors.Is(err, ErrAuth) {
			// The password changed, or the account is gone: trying again
			// cannot help (and servers lock accounts that keep trying).
			cancel()
			c.stopWith(err)
			return false
		}
		if err == nil {
			c.mu.Lock()
			select {
			case <-c.done:
				// Close came during the dial: it closed the session it
				// found, not this one, which nobody would ever close.
				c.mu.Unlock()
				cancel()
				s.Close()
				if conn := s.Conn(); conn != nil {
					_ = conn.Close()
				}
				return false
			default:
			}
			c.session, c.served = s, make(chan struct{})
			c.mu.Unlock()
			c.logins.Add(1)
			// setUp needs Serve running for its IQs.
			c.wg.Add(1)
			go func() {
				defer c.wg.Done()
				defer cancel()
				if err := c.setUp(c.life, s); err != nil {
					c.log.Warn("setting up after reconnect", "err", err)
					c.setStatus(ConnReconnecting, err)
					s.Close()
					return
				}
				c.setStatus(ConnOnline, nil)
				if c.flow != nil {
					// What was in flight may be lost: each session pings
					// its peer, which ends it if it is gone.
					c.post(func() { c.jingleInput(session.Resumed{}) })
				}
			}()
			return true
		}
		cancel()
		c.setStatus(ConnReconnecting, err)
		c.log.Debug("reconnect failed", "err", err, "retry_in", backoff)
		backoff = min(2*backoff, 10*time.Second)
	}
}

func (c *Client) handle(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	switch start.Name.Local {
	case "message":
		if toks := c.receive(xmlstream.MultiReader(xmlstream.Token(*start), t)); toks != nil {
			c.extraMessage(toks, t)
		}
	case "iq":
		return c.handleIQ(t, start)
	}
	return nil
}

const (
	nsDiscoInfo = `http://jabber.org/protocol/disco#info`
	nsRSM       = `http://jabber.org/protocol/rsm`
	nsData      = `jabber:x:data`
)

// catchUp reads the archive (XEP-0313) for the catch-up qid that setUp
// began, after the archive id after (the last one seen), or from
// CatchUpWindow ago, page by page; the results arrive as messages through
// the loop, and the end is posted after them.
func (c *Client) catchUp(qid, after string) {
	defer c.wg.Done()
	ctx := c.life
	began := time.Now()
	since := began.Add(-c.cfg.CatchUpWindow)
	var caughtUpAt time.Time
	c.post(func() { caughtUpAt = c.caughtUpAt })
	if err := c.run(c.life, func() {}); err != nil {
		return
	}
	if caughtUpAt.After(since) {
		// Read on from the last catch-up, with a minute of overlap for
		// clocks and messages in flight; duplicates have no effect.
		since = caughtUpAt.Add(-time.Minute)
	}
	fellBack := false
	for page := 0; page < 1000; page++ {
		last, complete, err := c.queryArchive(ctx, qid, since, after)
		if errors.Is(err, errArchiveIDGone) && after != "" && !fellBack {
			// The archive no longer has the position we read on from: it
			// expired (Prosody keeps a week by default) or was reset. Read
			// by time instead, and forget the position, so that the next
			// catch-up saves a fresh one rather than asking again for the
			// id that is gone.
			c.log.Warn("the archive no longer has the saved position; catching up by time", "after", after, "since", since)
			fellBack = true
			stale := after
			if err := c.run(ctx, func() {
				if c.dev.LastArchiveID() == stale {
					c.dev.SetLastArchiveID("")
				}
			}); err != nil {
				return
			}
			after = ""
			page--
			continue
		}
		if err != nil {
			c.log.Warn("archive catch-up", "err", err)
			break
		}
		if complete || last == "" {
			break
		}
		after = last
	}
	c.post(func() {
		c.apply(c.dev.EndCatchUp(time.Now()))
		c.caughtUpAt = began
		if c.cfg.Position != nil {
			if err := c.cfg.Position.SavePosition(Position{LastArchiveID: c.dev.LastArchiveID(), CaughtUpAt: began}); err != nil {
				c.log.Warn("saving the archive position", "err", err)
			}
		}
		c.readyOnce.Do(func() { close(c.ready) })
	})
}

// Ready is closed once the first archive catch-up after Dial has ended:
// from then on the device knows every call that was under way.
func (c *Client) Ready() <-chan struct{} { return c.ready }

func field(v, value string) xml.TokenReader {
	return xmlstream.Wrap(
		xmlstream.Wrap(xmlstream.Token(xml.CharData(value)), xml.StartElement{Name: xml.Name{Local: "value"}}),
		xml.StartElement{Name: xml.Name{Local: "field"}, Attr: []xml.Attr{{Name: xml.Name{Local: "var"}, Value: v}}})
}

// errArchiveIDGone: the archive does not know the id a query asked to read
// on after.
var errArchiveIDGone = errors.New("the archive no longer has the id to read on after")

// queryArchive asks for one page of our archive after the id after (or
// since the time since) and returns the last id of the page.
func (c *Client) queryArchive(ctx context.Context, qid string, since time.Time, after string) (last string, complete bool, err error) {
	form := []xml.TokenReader{field("FORM_TYPE", NSMAM)}
	set := []xml.TokenReader{xmlstream.Wrap(xmlstream.Token(xml.CharData("100")), xml.StartElement{Name: xml.Name{Local: "max"}})}
	if after != "" {
		set = append(set, xmlstream.Wrap(xmlstream.Token(xml.CharData(after)), xml.StartElement{Name: xml.Name{Local: "after"}}))
	} else {
		form = append(form, field("start", since.UTC().Format(time.RFC3339)))
	}
	query := xmlstream.Wrap(xmlstream.MultiReader(
		xmlstream.Wrap(xmlstream.MultiReader(form...), xml.StartElement{Name: xml.Name{Space: nsData, Local: "x"}, Attr: []xml.Attr{{Name: xml.Name{Local: "type"}, Value: "submit"}}}),
		xmlstream.Wrap(xmlstream.MultiReader(set...), xml.StartElement{Name: xml.Name{Space: nsRSM, Local: "set"}}),
	), xml.StartElement{Name: xml.Name{Space: NSMAM, Local: "query"}, Attr: []xml.Attr{{Name: xml.Name{Local: "queryid"}, Value: qid}}})
	var resp struct {
		Type string `xml:"type,attr"`
		Fin  struct {
			Complete string `xml:"complete,attr"`
			Last     string `xml:"http://jabber.org/protocol/rsm set>last"`
		} `xml:"urn:xmpp:mam:2 fin"`
	}
	if err := c.sess().UnmarshalIQElement(ctx, query, stanza.IQ{Type: stanza.SetIQ}, &resp); err != nil {
		// mellium returns an error answer as a stanza.Error. An after the
		// archive does not know is item-not-found (XEP-0313 §4.3, XEP-0059
		// §2.6).
		if after != "" && errors.Is(err, stanza.Error{Condition: stanza.ItemNotFound}) {
			return "", false, fmt.Errorf("%w: %v", errArchiveIDGone, err)
		}
		return "", false, err
	}
	if resp.Type == "error" {
		return "", false, errors.New("the server refused the archive query")
	}
	return strings.TrimSpace(resp.Fin.Last), resp.Fin.Complete == "true", nil
}

// streamErrorText is a stream error with the server's text, if any.
func streamErrorText(err error) string {
	var se stream.Error
	if errors.As(err, &se) && len(se.Text) > 0 {
		return fmt.Sprintf("%s (%s)", se.Err, se.Text[0].Value)
	}
	return err.Error()
}

// stopWith ends the client on its own, for a reason the application must
// learn: Err returns err from now on, the status is ConnFailed, and Events
// closes once the events queued before have been read. It does not wait for
// the goroutines (it runs on one of them); Close does.
func (c *Client) stopWith(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
	c.log.Error("stopping", "err", err)
	c.setStatus(ConnFailed, err)
	c.shutdown()
}

// Err returns why the client stopped on its own (an error wrapping
// ErrAuth, ErrConflict or ErrSessionEnded), or nil while it runs and after Close. Read it when Events
// closes without the application having called Close.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// RecordErr returns how many events Config.Recorder failed to record, and
// the first error it returned; 0 and nil while every event was recorded. A failed event is still delivered (the user must see the call),
// so the history lacks something the user was shown: tell the user. It is
// set before the event whose recording failed is delivered, so checking it
// after each event names the first one the history lacks.
func (c *Client) RecordErr() (failures int, first error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.recordFailures, c.recordErr
}

// Close ends the session and returns once every goroutine of the client
// has returned, the one that delivers events included: events not read by
// then are dropped, and the Events channel is closed. It must not be called
// from Config.Recorder (which runs on the client's loop). Calling it again
// does nothing.
func (c *Client) Close() error {
	c.setStatus(ConnClosed, nil)
	c.shutdown()
	c.wg.Wait()
	c.closeAllMedia()
	c.events.abandon()
	<-c.events.drained
	return nil
}

// shutdown tells every goroutine to stop and ends the session: it sends
// unavailable presence and the end of its stream, and waits (2 s at most)
// for the server's end of stream before it closes the connection
// (RFC 6120 §4.4). Closing at once used to reset the connection, with the
// server's last stanzas unread: the server then drops what it still had
// queued for this device, and ejabberd 23.01 lost a message routed to the
// session in the milliseconds it took to notice, from the archive too.
// Once the server has closed its stream it routes nothing more here, so
// what arrives after Close is stored for the next catch-up.
func (c *Client) shutdown() {
	c.closed.Do(func() {
		close(c.done)
		defer c.stop()
		c.mu.Lock()
		s, served := c.session, c.served
		c.mu.Unlock()
		if s == nil || c.embedded {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s.Send(ctx, stanza.Presence{Type: stanza.UnavailablePresence}.Wrap(nil))
		if s.Close() == nil {
			// Serve returns when it reads the server's </stream:stream>,
			// or at once if the stream had already ended (stopWith, on
			// the serve goroutine, comes here only after that).
			select {
			case <-served:
			case <-ctx.Done():
			}
		}
		if conn := s.Conn(); conn != nil {
			_ = conn.Close()
		}
	})
}

// eventQueue delivers events in order without ever blocking the loop: an
// unbounded queue drained by one goroutine. end says no event will follow
// (the queue is read out, then out closes); abandon drops what is left.
type eventQueue struct {
	mu        sync.Mutex
	cond      *sync.Cond
	queue     []call.Event
	ended     bool
	abandoned bool
	quit      chan struct{} // closed by abandon
	out       chan call.Event
	drained   chan struct{} // closed when out is closed and drain returned
}

func newEventQueue() *eventQueue {
	q := &eventQueue{out: make(chan call.Event), quit: make(chan struct{}), drained: make(chan struct{})}
	q.cond = sync.NewCond(&q.mu)
	go q.drain()
	return q
}

func (q *eventQueue) push(ev call.Event) {
	q.mu.Lock()
	if !q.ended {
		q.queue = append(q.queue, ev)
	}
	q.mu.Unlock()
	q.cond.Signal()
}

func (q *eventQueue) end() {
	q.mu.Lock()
	q.ended = true
	q.mu.Unlock()
	q.cond.Signal()
}

func (q *eventQueue) abandon() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.ended = true
	if !q.abandoned {
		q.abandoned = true
		q.queue = nil
		close(q.quit)
	}
	q.cond.Signal()
}

func (q *eventQueue) drain() {
	defer close(q.drained)
	defer close(q.out)
	for {
		q.mu.Lock()
		for len(q.queue) == 0 && !q.ended {
			q.cond.Wait()
		}
		if len(q.queue) == 0 || q.abandoned {
			q.mu.Unlock()
			return
		}
		ev := q.queue[0]
		q.queue = q.queue[1:]
		q.mu.Unlock()
		select {
		case q.out <- ev:
		case <-q.quit:
			return
		}
	}
}

// sendRaw puts one stanza, given as XML, on the stream. Tests use it to send
// what other clients, or attackers, would.
func (c *Client) sendRaw(ctx context.Context, stanzaXML string) error {
	return c.sess().Send(ctx, xml.NewDecoder(strings.NewReader(stanzaXML)))
}
