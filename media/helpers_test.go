package media

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/jingle"
)

// deadline bounds every wait of these tests: on loopback two sessions
// connect in milliseconds, so a wait that reaches it is a failure.
const deadline = 10 * time.Second

// events collects the events of one Session for a test.
type events struct {
	ch      chan Event
	timeout time.Duration // of waitFor; deadline unless set
}

func newEvents() *events { return &events{ch: make(chan Event, 256), timeout: deadline} }

func (e *events) on(ev Event) {
	select {
	case e.ch <- ev:
	default:
		panic("test event buffer full") // a test bug: the buffer is far larger than a call's events
	}
}

// waitFor returns the events up to and including the first for which ok
// holds, or fails the test at the deadline.
func (e *events) waitFor(t testing.TB, what string, ok func(Event) bool) []Event {
	t.Helper()
	timer := time.NewTimer(e.timeout)
	defer timer.Stop()
	var seen []Event
	for {
		select {
		case ev := <-e.ch:
			seen = append(seen, ev)
			if ok(ev) {
				return seen
			}
		case <-timer.C:
			t.Fatalf("no %s within %s; events: %v", what, e.timeout, describe(seen))
		}
	}
}

func describe(evs []Event) string {
	var parts []string
	for _, ev := range evs {
		switch ev.Kind {
		case EventICE:
			parts = append(parts, "ice:"+ev.ICE.String())
		case EventDTLS:
			parts = append(parts, "dtls:"+ev.DTLS.String())
		case EventState:
			parts = append(parts, "state:"+ev.State.String())
		default:
			parts = append(parts, ev.Kind.String())
		}
	}
	return strings.Join(parts, " ")
}

func isState(st State) func(Event) bool {
	return func(ev Event) bool { return ev.Kind == EventState && ev.State == st }
}

func isAudio(ev Event) bool { return ev.Kind == EventAudio }

// viaWire sends contents through the XML encoder and decoder as the
// action, as they would travel in an IQ.
func viaWire(t testing.TB, action jingle.Action, contents []jingle.Content) []jingle.Content {
	t.Helper()
	b, err := jingle.Marshal(&jingle.Jingle{Action: action, SID: "a73sjjvkla37jfea", Contents: contents})
	if err != nil {
		t.Fatalf("encoding %s: %v", action, err)
	}
	iq, err := jingle.Parse(b)
	if err != nil {
		t.Fatalf("decoding %s: %v\n%s", action, err, b)
	}
	return iq.Jingle.Contents
}

// candidateViaWire sends one candidate through a transport-info's XML.
func candidateViaWire(t testing.TB, ev Event) (string, jingle.Candidate) {
	t.Helper()
	c := viaWire(t, jingle.ActionTransportInfo, []jingle.Content{{
		Name:      ev.Content,
		Transport: &jingle.Transport{Candidates: []jingle.Candidate{ev.Candidate}},
	}})
	return c[0].Name, c[0].Transport.Candidates[0]
}

// call is two Sessions, connected through Jingle contents only.
type call struct {
	caller, callee       *Session
	callerEv, calleeEv   *events
	toCaller, toCallee   bool // whether candidates are trickled that way
	offer, answer        []jingle.Content
	errs                 chan error
	callerCfg, calleeCfg Config
}

// newCall makes the caller and callee sessions of configs a and b (roles
// and OnEvent are set here), loopback only.
func newCall(t testing.TB, a, b Config) *call {
	t.Helper()
	c := &call{callerEv: newEvents(), calleeEv: newEvents(), toCaller: true, toCallee: true, errs: make(chan error, 64)}
	a.Role, b.Role = Initiator, Responder
	a.LoopbackOnly, b.LoopbackOnly = true, true
	a.OnEvent, b.OnEvent = c.callerEv.on, c.calleeEv.on
	c.callerCfg, c.calleeCfg = a, b
	var err error
	if c.caller, err = NewSession(a); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.caller.Close() })
	if c.callee, err = NewSession(b); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.callee.Close() })
	return c
}

// connect runs the Jingle exchange: offer, session-initiate out (Started),
// answer, session-accept out (Started), accept; candidates trickled both
// ways. It returns when both sides are connected.
func (c *call) connect(t testing.TB) {
	t.Helper()
	c.start(t)
	c.callerEv.waitFor(t, "caller connected", isState(StateConnected))
	c.calleeEv.waitFor(t, "callee connected", isState(StateConnected))
}

// start runs the Jingle exchange without waiting for the connection. The
// candidates go on their way from goroutines; the other events stay in
// callerEv and calleeEv.
func (c *call) start(t testing.TB) {
	t.Helper()
	offer, err := c.caller.Offer()
	if err != nil {
		t.Fatal(err)
	}
	c.offer = viaWire(t, jingle.ActionSessionInitiate, offer)
	c.caller.Started()
	answer, err := c.callee.Answer(c.offer)
	if err != nil {
		t.Fatal(err)
	}
	c.answer = viaWire(t, jingle.ActionSessionAccept, answer)
	c.callee.Started()
	if err := c.caller.Accept(c.answer); err != nil {
		t.Fatal(err)
	}
	c.trickle(t)
}

// trickle moves the candidates: each side's event stream is split into its
// candidates (sent to the other side) and the rest (kept for the test).
func (c *call) trickle(t testing.TB) {
	callerRest, calleeRest := newEvents(), newEvents()
	src1, src2 := c.callerEv, c.calleeEv
	go split(t, src1, c.callee, callerRest, c.errs, c.toCallee)
	go split(t, src2, c.caller, calleeRest, c.errs, c.toCaller)
	c.callerEv, c.calleeEv = callerRest, calleeRest
}

func split(t testing.TB, from *events, to *Session, rest *events, errs chan<- error, deliver bool) {
	for ev := range from.ch {
		if ev.Kind != EventCandidate {
			rest.on(ev)
			if ev.Kind == EventState && ev.State == StateClosed {
				return
			}
			continue
		}
		if !deliver {
			continue
		}
		name, cand := candidateViaWire(t, ev)
		if err := to.AddRemoteCandidate(name, cand); err != nil && err != ErrClosed {
			errs <- fmt.Errorf("candidate %+v: %w", cand, err)
		}
	}
}

// memorySink keeps every frame heard and says when it has n.
type memorySink struct {
	mu      sync.Mutex
	rate    int
	samples []int16
	frames  int
	want    int
	enough  chan struct{}
}

func newMemorySink(want int) *memorySink {
	return &memorySink{want: want, enough: make(chan struct{})}
}

func (m *memorySink) WriteFrame(samples []int16, rate int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rate = rate
	m.samples = append(m.samples, samples...)
	m.frames++
	if m.frames == m.want {
		close(m.enough)
	}
	return nil
}

func (m *memorySink) wait(t testing.TB) []int16 {
	t.Helper()
	select {
	case <-m.enough:
	case <-time.After(deadline):
		t.Fatalf("%d frames heard within %s, want %d", m.frames, deadline, m.want)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]int16(nil), m.samples...)
}

// teeSink writes each frame to every sink.
type teeSink []Sink

func (s teeSink) WriteFrame(samples []int16, rate int) error {
	for _, k := range s {
		if err := k.WriteFrame(samples, rate); err != nil {
			return err
		}
	}
	return nil
}

// loggingSource keeps a copy of each frame it gives.
type loggingSource struct {
	src    Source
	mu     sync.Mutex
	frames [][]int16
}

func (l *loggingSource) ReadFrame(samples []int16, rate int) error {
	err := l.src.ReadFrame(samples, rate)
	l.mu.Lock()
	l.frames = append(l.frames, append([]int16(nil), samples...))
	l.mu.Unlock()
	return err
}

func (l *loggingSource) sent() [][]int16 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([][]int16(nil), l.frames...)
}

// checkNoLeak fails when goroutines started during the test outlive it
// (beyond a short grace for pion's timers to return).
func checkNoLeak(t *testing.T, before int) {
	t.Helper()
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		select {
		case <-tick.C:
		case <-timer.C:
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf)
		}
	}
}
