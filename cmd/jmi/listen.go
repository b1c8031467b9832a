package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jmi-xmpp/jmi/call"
)

const listenUsage = `Usage: jmi listen [flags]

Stays online and handles incoming calls. Ctrl-C hangs up the calls answered
here and exits; calls still ringing go on ringing on the other devices.

  --answer MODE        ask (default), accept, reject or ignore. ask: on a
                       terminal, show who calls with which media while it
                       rings and take y (answer) or n (decline); without a
                       terminal, ask behaves as ignore
  --answer-after D     with accept or reject: ring that long before
                       answering (default 0)
  --hangup-after D     hang up after D in a call (default: wait)
  --exit-after N       exit after N calls that rang here have ended
                       (default: never)
  --trust JID          trust this caller (repeatable; default: callers with
                       a presence subscription in the roster)

It exits 1 when another session logs in with the same full JID (the server
closes this one: run one jmi per device), and when the call history cannot
be written: it says so at once, answers no new call, and exits once the
calls under way here have ended.

`

// listener is the state of one "jmi listen": its loop is the only
// goroutine that touches it.
type listener struct {
	s      *session
	stderr io.Writer
	answer string
	// answerAfter, hangupAfter and exitAfter are the flags of the same name.
	answerAfter, hangupAfter time.Duration
	exitAfter                int
	// rang holds the calls that rang here in this run: the catch-up also
	// reports calls from before it started, which --exit-after must not
	// count.
	rang map[string]bool
	// inCall holds the calls answered here that have not ended: Ctrl-C
	// hangs them up.
	inCall map[string]bool
	// ringingHere holds the calls that ring here and are not answered or
	// ended yet.
	ringingHere map[string]bool
	// historyErr is set once the call history failed to record an event:
	// the listener answers no new call, and stops with it once the calls
	// under way here have ended.
	historyErr error
	ended      int
	// timers carries the actions --answer-after and --hangup-after put off.
	timers chan timedAction
	// ask is the prompt of --answer ask on a terminal; nil otherwise.
	ask *prompter
}

// timedAction is a user action on call id, due now.
type timedAction struct {
	id  string
	act func(context.Context) error
}

func runListen(ctx context.Context, e env) error {
	fs := newFlags("listen", listenUsage+fmt.Sprintf(mediaHelp, recordListenHelp)+accountHelp, e)
	var a accountFlags
	a.register(fs)
	fs.Var(&a.trust, "trust", "")
	l := &listener{stderr: e.stderr, rang: map[string]bool{}, inCall: map[string]bool{}, ringingHere: map[string]bool{}, timers: make(chan timedAction, 16)}
	fs.StringVar(&l.answer, "answer", "ask", "")
	fs.DurationVar(&l.answerAfter, "answer-after", 0, "")
	fs.DurationVar(&l.hangupAfter, "hangup-after", 0, "")
	fs.IntVar(&l.exitAfter, "exit-after", 0, "")
	var mf mediaFlags
	mf.register(fs)
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if err := mf.check(false, setFlags(fs)); err != nil {
		return err
	}
	a.media = newMediaSetup(mf, false)
	switch l.answer {
	case "accept", "reject", "ignore":
	case "ask":
		if !e.tty {
			fmt.Fprintln(e.stderr, "jmi listen: standard input is not a terminal, so --answer ask ignores calls (they ring on your other devices)")
			l.answer = "ignore"
		}
	default:
		return usageError("--answer %q: want ask, accept, reject or ignore", l.answer)
	}
	s, err := a.connect(ctx, e)
	if err != nil {
		return err
	}
	defer s.close()
	l.s = s
	fmt.Fprintf(e.stderr, "jmi listen: online as %s, waiting for calls (Ctrl-C to stop)\n", s.c.Account())
	var lines <-chan string
	if l.answer == "ask" {
		l.ask = &prompter{w: e.stderr}
		lines = readLines(e.stdin)
	}
	return l.loop(ctx, lines)
}

// loop handles events, typed answers and put-off actions until Ctrl-C or
// --exit-after.
func (l *listener) loop(ctx context.Context, lines <-chan string) error {
	// The user's Ctrl-C ends what is under way, politely: a fresh context
	// for the last messages.
	bg := context.WithoutCancel(ctx)
	audioTick, stopTick := l.s.media.ticker()
	defer stopTick()
	var tick <-chan time.Time
	if l.ask != nil {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			if err := l.hangUpAll(bg); err != nil {
				return err
			}
			return l.s.historyTold(l.stderr, "listen", "")
		case t := <-l.timers:
			if err := t.act(bg); err != nil && !errors.Is(err, call.ErrInvalidState) {
				fmt.Fprintf(l.stderr, "jmi listen: %s: %v\n", clean(t.id), err)
			}
		case line, ok := <-lines:
			if !ok {
				// Standard input closed: nobody is left to ask.
				lines = nil
				l.ask.clear()
				l.ask = nil
				l.answer = "ignore"
				continue
			}
			l.typed(bg, line)
		case now := <-tick:
			l.ask.draw(now)
		case <-l.s.media.ready():
			l.ask.clear()
			l.s.showMedia()
			l.ask.draw(time.Now())
		case now := <-audioTick:
			l.ask.clear()
			l.s.view.tick(now, slices.Sorted(maps.Keys(l.inCall)))
			l.ask.draw(now)
		case ev, ok := <-l.s.c.Events():
			if !ok {
				return l.s.closedErr()
			}
			l.ask.clear()
			l.s.show(ev)
			if l.historyErr == nil {
				l.historyErr = l.s.historyTold(l.stderr, "listen", "jmi listen answers no new call, and stops with status 1 once the calls under way here have ended")
			}
			done := l.handle(ev)
			if l.historyErr != nil && len(l.inCall) == 0 && len(l.ringingHere) == 0 {
				l.ask.clear()
				return l.s.historyTold(l.stderr, "listen", "") // counted to the end
			}
			l.ask.draw(time.Now())
			if done {
				return nil
			}
		}
	}
}

// handle acts on one event; it reports whether --exit-after is reached.
func (l *listener) handle(ev call.Event) bool {
	h := l.s.c.CallByID(ev.ID)
	switch {
	case ev.Type == call.EventIncoming:
		l.rang[ev.ID] = true
		l.ringingHere[ev.ID] = true
		if l.historyErr != nil {
			break // it rings on the other devices
		}
		switch l.answer {
		case "accept":
			l.later(l.answerAfter, ev.ID, h.Answer)
		case "reject":
			l.later(l.answerAfter, ev.ID, func(ctx context.Context) error { return h.Decline(ctx, nil) })
		case "ask":
			l.ask.push(ev)
		}
	case ev.Type == call.EventProceeded:
		l.ask.remove(ev.ID) // answered, here or elsewhere: it rings no more
		delete(l.ringingHere, ev.ID)
		if !ev.Elsewhere {
			l.inCall[ev.ID] = true
			if l.hangupAfter > 0 {
				l.later(l.hangupAfter, ev.ID, func(ctx context.Context) error { return h.HangUp(ctx, nil) })
			}
		}
	case ended(ev.Type):
		l.ask.remove(ev.ID)
		delete(l.inCall, ev.ID)
		delete(l.ringingHere, ev.ID)
		if l.rang[ev.ID] {
			delete(l.rang, ev.ID)
			l.ended++
			return l.exitAfter > 0 && l.ended >= l.exitAfter
		}
	}
	return false
}

// ended says an event of type t is the end of its call.
func ended(t call.EventType) bool {
	switch t {
	case call.EventRejected, call.EventRetracted, call.EventFinished, call.EventMissed:
		return true
	}
	return false
}

// later runs act on the loop after d.
func (l *listener) later(d time.Duration, id string, act func(context.Context) error) {
	time.AfterFunc(d, func() { l.timers <- timedAction{id, act} })
}

// typed takes a line the person typed as the answer to the call asked about.
func (l *listener) typed(ctx context.Context, line string) {
	ev, ok := l.ask.current()
	if !ok {
		return // nothing rings: a stray line
	}
	h := l.s.c.CallByID(ev.ID)
	var err error
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		l.ask.remove(ev.ID)
		err = h.Answer(ctx)
	case "n", "no":
		l.ask.remove(ev.ID)
		err = h.Decline(ctx, nil)
	default:
		l.ask.clear()
		fmt.Fprintln(l.stderr, "answer y (answer the call) or n (decline it)")
		l.ask.draw(time.Now())
		return
	}
	if err != nil && !errors.Is(err, call.ErrInvalidState) {
		fmt.Fprintf(l.stderr, "jmi listen: %s: %v\n", clean(ev.ID), err)
	}
}

// hangUpAll finishes every call answered here and waits, with a deadline,
// for each to be reported ended, so that nothing is left half-sent.
func (l *listener) hangUpAll(ctx context.Context) error {
	l.ask.clear()
	for id := range l.inCall {
		if err := l.s.c.CallByID(id).HangUp(ctx, nil); err != nil && !errors.Is(err, call.ErrInvalidState) {
			return fmt.Errorf("hanging up %s: %w", id, err)
		}
	}
	deadline := time.NewTimer(5 * time.Second)
	defer deadline.Stop()
	for len(l.inCall) > 0 {
		select {
		case ev, ok := <-l.s.c.Events():
			if !ok {
				return nil
			}
			l.s.show(ev)
			if ended(ev.Type) {
				delete(l.inCall, ev.ID)
			}
		case <-deadline.C:
			return errors.New("the calls did not end within 5s of hanging up")
		}
	}
	return nil
}

// readLines delivers the lines of r; the channel closes at its end.
func readLines(r io.Reader) <-chan string {
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines
}

// prompter asks the person at the terminal about the calls ringing here,
// one at a time, oldest first, on one line it redraws every second: who
// calls, with which media, and for how long it has rung. Its methods do
// nothing on a nil prompter, so that the listener need not ask whether it
// prompts.
type prompter struct {
	w       io.Writer
	ringing []call.Event // oldest first
	shown   bool         // the prompt line is on the screen
	belled  string       // the call the terminal bell rang for
}

func (p *prompter) push(ev call.Event) {
	if p != nil {
		p.ringing = append(p.ringing, ev)
	}
}

// remove forgets call id: answered, declined, withdrawn or missed.
func (p *prompter) remove(id string) {
	if p == nil {
		return
	}
	for i, ev := range p.ringing {
		if ev.ID == id {
			p.ringing = append(p.ringing[:i], p.ringing[i+1:]...)
			return
		}
	}
}

// current is the call the prompt asks about.
func (p *prompter) current() (call.Event, bool) {
	if p == nil || len(p.ringing) == 0 {
		return call.Event{}, false
	}
	return p.ringing[0], true
}

// clear takes the prompt line off the screen, before other output.
func (p *prompter) clear() {
	if p == nil || !p.shown {
		return
	}
	fmt.Fprint(p.w, "\r\033[K")
	p.shown = false
}

// draw shows the prompt line for the current call, ringing the terminal
// bell once per call.
func (p *prompter) draw(now time.Time) {
	ev, ok := p.current()
	if !ok {
		p.clear()
		return
	}
	bell := ""
	if p.belled != ev.ID {
		bell, p.belled = "\a", ev.ID
	}
	more := ""
	if n := len(p.ringing) - 1; n > 0 {
		more = fmt.Sprintf(" (%d more waiting)", n)
	}
	rung := max(now.Sub(ev.At), 0).Round(time.Second)
	fmt.Fprintf(p.w, "\r\033[K%sRINGING: %s calls (%s), %s%s. Answer? [y/n] ",
		bell, clean(ev.Peer.String()), clean(strings.Join(ev.Media, "+")), rung, more)
	p.shown = true
}
