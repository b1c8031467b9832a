package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/call"
	"mellium.im/xmpp/jid"
)

// killArgsEnv carries the command line, as a JSON array, of the jmi process
// TestKillListen starts and kills.
const killArgsEnv = "JMI_KILL_TEST_ARGS"

// killWait bounds every wait of TestKillListen: generous, for a loaded
// machine; the normal case takes milliseconds.
const killWait = 30 * time.Second

// TestKillListenHelper is the jmi process that TestKillListen kills (and
// TestServeHangUp hangs up): it is the jmi command, main and its signal
// handling included, run with the command line in $JMI_KILL_TEST_ARGS and
// this process's standard streams and environment.
func TestKillListenHelper(t *testing.T) {
	raw := os.Getenv(killArgsEnv)
	if raw == "" {
		t.Skip("run by TestKillListen")
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", killArgsEnv, err)
		os.Exit(exitUsage)
	}
	os.Args = append([]string{"jmi"}, args...)
	main() // exits
}

// TestKillListen kills a "jmi listen --answer accept" process with SIGKILL
// in the middle of a call it answered, and proves from the call history
// that:
//
//   - nothing the process showed is lost: the call it printed as proceeded
//     is in the history as active, answered by this device, at the time
//     it showed;
//   - the archive catch-up of the next run fills in what happened while no
//     device of the install was online: the caller's hang-up (the call is
//     then answered here and has a duration) and a whole call placed and
//     withdrawn meanwhile (missed, without ever ringing);
//   - what that second run showed survives a SIGKILL too.
func TestKillListen(t *testing.T) {
	if os.Getenv(killArgsEnv) != "" {
		return
	}
	w := newListenWorld(t)
	srv, romeo := w.srv, w.romeo
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	juliet := jid.MustParse("juliet@" + srv.Domain)
	device := "juliet@" + srv.Domain + "/cli"
	dir := t.TempDir()
	listen := []string{"listen", "--answer", "accept", "--json", "--trust", "romeo@" + srv.Domain,
		"--jid", device, "--server", srv.Addr, "--ca-file", srv.CAFile, "--data-dir", dir}

	// 1. Juliet's jmi listen answers Romeo's call; it is killed as soon as
	// it has shown the call answered.
	first := startKillProc(t, listen)
	first.waitOnline(t)
	h, err := romeo.Call(ctx, juliet, "audio")
	if err != nil {
		t.Fatal(err)
	}
	answered := first.waitEvent(t, "the call answered here", func(ev call.Event) bool {
		return ev.ID == h.ID() && ev.Type == call.EventProceeded
	})
	first.kill(t)
	if answered.Elsewhere || answered.Device.String() != device {
		t.Errorf("jmi listen showed %+v, want answered by %s", answered, device)
	}

	// (a) What it showed is in the history: the call is active, answered
	// by this device when the process said so.
	entries := killHistory(t, dir)
	x, ok := entries[h.ID()]
	switch {
	case !ok:
		t.Fatalf("the call shown as answered is not in the history after the kill: %+v", entries)
	case x.Outcome != "active" || x.Direction != "incoming" || x.Peer != "romeo@"+srv.Domain || x.Device != device || x.End != "":
		t.Errorf("after the kill: %+v, want an active incoming call from romeo answered by %s", x, device)
	case x.Answered != answered.At.Truncate(time.Millisecond).UTC().Format(time.RFC3339Nano):
		t.Errorf("after the kill: answered at %s, want %s as shown", x.Answered, answered.At.UTC().Format(time.RFC3339Nano))
	}

	// 2. While no device of Juliet is online, Romeo hangs up (the finish
	// goes to her archive), then calls again and withdraws.
	w.romeoWaits(t, call.EventProceeded, h.ID())
	// Prosody stamps what it archives or holds offline with os.time(): whole
	// seconds, of a clock that may lag the precise one by a tick. The
	// history takes the call's end from that stamp (the answer's time is
	// precise), so a hang-up within the second of the answer would end the
	// call before it was answered and leave it without a duration: hang up
	// once that second, and a margin for the lag, are over.
	if d := time.Until(answered.At.Truncate(time.Second).Add(time.Second + 100*time.Millisecond)); d > 0 {
		timer := time.NewTimer(d)
		<-timer.C
	}
	if err := h.HangUp(ctx, nil); err != nil {
		t.Fatal(err)
	}
	w.romeoWaits(t, call.EventFinished, h.ID())
	hungUp := time.Now() // the finish has reached the server by now
	h2, err := romeo.Call(ctx, juliet, "audio")
	if err != nil {
		t.Fatal(err)
	}
	if err := h2.Withdraw(ctx, nil); err != nil {
		t.Fatal(err)
	}
	w.romeoWaits(t, call.EventRetracted, h2.ID())

	// 3. jmi listen again on the same data directory: its catch-up shows
	// the hang-up and the missed call, and nothing rings; then it is
	// killed too.
	second := startKillProc(t, listen)
	var finished, missed bool
	for !finished || !missed {
		ev := second.waitEvent(t, "the hang-up and the missed call from the catch-up", func(ev call.Event) bool {
			return ev.ID == h.ID() || ev.ID == h2.ID()
		})
		switch {
		case ev.Type == call.EventIncoming:
			// Seen when the messages the server held offline, which it
			// sends on the initial presence, are handled before the
			// catch-up has begun: a propose is then taken as live and
			// rings, though its retract is the next message.
			t.Errorf("the restarted jmi listen rang for a call that was over before it started: %+v", ev)
		case ev.ID == h.ID() && ev.Type == call.EventFinished:
			finished = true
		case ev.ID == h2.ID() && ev.Type == call.EventMissed:
			missed = true
		}
	}
	second.kill(t)

	// (b) and (c): the history holds both calls as the catch-up showed them.
	entries = killHistory(t, dir)
	if len(entries) != 2 {
		t.Errorf("the history holds %d calls, want 2: %+v", len(entries), entries)
	}
	x = entries[h.ID()]
	if x.Outcome != "answered" || x.Device != device || x.End == "" {
		t.Errorf("the hung-up call: %+v, want answered by %s, with an end", x, device)
	}
	if want := answered.At.Truncate(time.Millisecond).UTC().Format(time.RFC3339Nano); x.Answered != want {
		t.Errorf("the hung-up call: answered at %s after the catch-up, want %s as shown", x.Answered, want)
	}
	// It lasted from the answer (kept to the millisecond) to the hang-up,
	// less up to a second for the stamp.
	if most := hungUp.Sub(answered.At.Truncate(time.Millisecond)).Seconds(); x.Seconds <= 0 || x.Seconds > most {
		t.Errorf("the hung-up call lasted %gs, want more than 0 and at most %.3fs", x.Seconds, most)
	}
	x = entries[h2.ID()]
	if x.Outcome != "missed" || x.Direction != "incoming" || x.Peer != "romeo@"+srv.Domain || x.Device != "" || x.Seconds != 0 {
		t.Errorf("the call withdrawn while Juliet was offline: %+v, want missed", x)
	}
}

// TestKillListenRecoveredHangUp kills "jmi listen --answer accept" with
// SIGKILL in the middle of a call it answered and starts it again on the
// same data directory: its catch-up finds this device's own answer and
// shows the call as answered here, and Ctrl-C (SIGINT) then hangs it up: the
// finish reaches the caller and jmi listen exits 0. (Before, the restarted
// device did not know the call was its own: Ctrl-C sent nothing and it
// exited 1 after 5 s, "the calls did not end".)
func TestKillListenRecoveredHangUp(t *testing.T) {
	if os.Getenv(killArgsEnv) != "" {
		return
	}
	w := newListenWorld(t)
	srv, romeo := w.srv, w.romeo
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	device := "juliet@" + srv.Domain + "/cli"
	listen := []string{"listen", "--answer", "accept", "--json", "--trust", "romeo@" + srv.Domain,
		"--jid", device, "--server", srv.Addr, "--ca-file", srv.CAFile, "--data-dir", t.TempDir()}

	first := startKillProc(t, listen)
	first.waitOnline(t)
	h, err := romeo.Call(ctx, jid.MustParse("juliet@"+srv.Domain), "audio")
	if err != nil {
		t.Fatal(err)
	}
	first.waitEvent(t, "the call answered here", func(ev call.Event) bool {
		return ev.ID == h.ID() && ev.Type == call.EventProceeded
	})
	first.kill(t)
	w.romeoWaits(t, call.EventProceeded, h.ID())

	second := startKillProc(t, listen)
	recovered := second.waitEvent(t, "the call found again in the catch-up", func(ev call.Event) bool {
		return ev.ID == h.ID() && (ev.Type == call.EventProceeded || ended(ev.Type))
	})
	if recovered.Type != call.EventProceeded || recovered.Elsewhere || recovered.Device.String() != device {
		t.Fatalf("the restarted jmi listen showed %+v, want the call answered here by %s", recovered, device)
	}
	second.waitOnline(t)
	if status := second.interrupt(t); status != 0 {
		t.Errorf("jmi listen exited %d after Ctrl-C, want 0:\n%s", status, second.text())
	}
	if ev := w.romeoWaits(t, call.EventFinished, h.ID()); ev.Device.String() != device {
		t.Errorf("Romeo's call ended by %s, want the finish of %s", ev.Device, device)
	}
}

// killProc is a jmi command running in a child process: TestKillListenHelper
// in a copy of this test binary.
type killProc struct {
	cmd    *exec.Cmd
	events chan call.Event // each JSON line of standard output; closed at its end
	online chan struct{}   // closed when jmi listen says it is online
	exited chan struct{}   // closed once the process is reaped

	mu      sync.Mutex
	output  bytes.Buffer  // standard output and error, for failure messages
	changed chan struct{} // signalled when output grows
}

// startKillProc starts jmi with args as Juliet (or, with env, as someone
// else: "JMI_PASSWORD=…") in a child process and kills it, if it is still
// running, when the test ends.
func startKillProc(t *testing.T, args []string, env ...string) *killProc {
	t.Helper()
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	p := &killProc{events: make(chan call.Event, 256), online: make(chan struct{}), exited: make(chan struct{}), changed: make(chan struct{}, 1)}
	p.cmd = exec.Command(os.Args[0], "-test.run=^TestKillListenHelper$")
	p.cmd.Env = append(append(os.Environ(), killArgsEnv+"="+string(b), "JMI_PASSWORD=pw-juliet"), env...)
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var reading sync.WaitGroup
	reading.Add(2)
	go func() {
		defer reading.Done()
		defer close(p.events)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.note("stdout", sc.Text())
			var ev call.Event
			if json.Unmarshal(sc.Bytes(), &ev) == nil {
				p.events <- ev
			}
		}
	}()
	go func() {
		defer reading.Done()
		sc := bufio.NewScanner(stderr)
		said := false
		for sc.Scan() {
			p.note("stderr", sc.Text())
			if !said && strings.Contains(sc.Text(), "jmi listen: online as ") {
				said = true
				close(p.online)
			}
		}
	}()
	go func() {
		reading.Wait()
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		go func() {
			for range p.events { // so that the reader is never stuck
			}
		}()
		<-p.exited
		if t.Failed() {
			t.Logf("jmi %s:\n%s", strings.Join(args, " "), p.text())
		}
	})
	return p
}

func (p *killProc) note(stream, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(&p.output, "%s: %s\n", stream, line)
	select {
	case p.changed <- struct{}{}:
	default:
	}
}

// waitText waits until the process has written want.
func (p *killProc) waitText(t *testing.T, want string) {
	t.Helper()
	deadline := time.NewTimer(killWait)
	defer deadline.Stop()
	for !strings.Contains(p.text(), want) {
		select {
		case <-p.changed:
		case <-p.exited:
			t.Fatalf("jmi exited (%v) before writing %q:\n%s", p.cmd.ProcessState, want, p.text())
		case <-deadline.C:
			p.dumpStacks()
			t.Fatalf("jmi wrote no %q within %s:\n%s", want, killWait, p.text())
		}
	}
}

func (p *killProc) text() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

// waitOnline waits until jmi listen has logged in and caught up.
func (p *killProc) waitOnline(t *testing.T) {
	t.Helper()
	select {
	case <-p.online:
	case <-p.exited:
		t.Fatalf("jmi exited before it was online: %v\n%s", p.cmd.ProcessState, p.text())
	case <-time.After(killWait):
		p.dumpStacks()
		t.Fatalf("jmi was not online within %s:\n%s", killWait, p.text())
	}
}

// waitEvent waits for the next event the process shows that matches,
// passing over the others.
func (p *killProc) waitEvent(t *testing.T, what string, match func(call.Event) bool) call.Event {
	t.Helper()
	deadline := time.NewTimer(killWait)
	defer deadline.Stop()
	for {
		select {
		case ev, ok := <-p.events:
			if !ok {
				<-p.exited
				t.Fatalf("jmi ended (%v) before showing %s:\n%s", p.cmd.ProcessState, what, p.text())
			}
			if match(ev) {
				return ev
			}
		case <-deadline.C:
			p.dumpStacks()
			t.Fatalf("jmi showed no %s within %s:\n%s", what, killWait, p.text())
		}
	}
}

// dumpStacks makes the Go runtime of a stuck jmi print every goroutine's
// stack to its standard error (SIGQUIT), and waits for it to exit, so that
// the failure shows where it was stuck.
func (p *killProc) dumpStacks() {
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
	}
}

// kill sends SIGKILL and waits for the process to be gone; it must have
// been running until then.
func (p *killProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(killWait):
		t.Fatalf("jmi did not die within %s of SIGKILL", killWait)
	}
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("jmi ended by itself (%v) before the kill:\n%s", p.cmd.ProcessState, p.text())
	}
}

// interrupt sends SIGINT (Ctrl-C) and returns the exit status.
func (p *killProc) interrupt(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(killWait):
		p.dumpStacks()
		t.Fatalf("jmi did not exit within %s of SIGINT:\n%s", killWait, p.text())
	}
	return p.cmd.ProcessState.ExitCode()
}

// killHistory reads the call history of dir through "jmi log --json", by
// call id.
func killHistory(t *testing.T, dir string) map[string]logLine {
	t.Helper()
	var out, errOut bytes.Buffer
	st := run(context.Background(), []string{"log", "--json", "--limit", "100", "--data-dir", dir},
		strings.NewReader(""), &out, &errOut, func(string) string { return "" })
	if st != 0 {
		t.Fatalf("jmi log: status %d: %s", st, errOut.String())
	}
	entries := map[string]logLine{}
	if strings.TrimSpace(out.String()) == "No calls yet." {
		return entries
	}
	dec := json.NewDecoder(&out)
	for dec.More() {
		var l logLine
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("jmi log --json: %v", err)
		}
		entries[l.ID] = l
	}
	return entries
}
