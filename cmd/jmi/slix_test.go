package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/internal/prosodytest"
	"github.com/jmi-xmpp/jmi/internal/slixpeer"
)

// slixWait bounds every wait of these tests: generous, for a loaded
// machine; in the normal case each wait ends within milliseconds.
const slixWait = 20 * time.Second

// TestSlixInterop runs the jmi command's call and listen against a client
// we did not write, slixmpp with its own xep_0353 plugin, through a private
// Prosody, and checks both sides of each exchange:
//
//   - jmi call to a slixmpp device that proceeds: answered, hung up after
//     --hangup-after, exit status 0; slixmpp got the propose (sent to the
//     bare JID, so the server routed it), proceeded, and was sent a finish
//     it has no event for;
//   - jmi call to a slixmpp device that rejects: exit status 3;
//   - a slixmpp propose (no type, no store hint) to the bare JID of jmi
//     listen --answer accept: jmi rings (slixmpp gets a ringing it ignores),
//     answers, hangs up and exits after the call; slixmpp gets the proceed
//     and the finish;
//   - the same to jmi listen --answer reject: slixmpp gets the reject;
//   - a slixmpp propose and retract to jmi listen --answer ignore: jmi
//     rings, then shows the call missed (withdrawn unanswered) and exits
//     after it.
//
// The jmi side is read from its --json events and exit status, the slixmpp
// side from the lines of the peer script, which name every JMI element it
// sent, got, or got and ignored; every line of both sides is checked, in
// order, and all carry the same session id. Each case uses two fresh
// accounts, so that the archive catch-up of one case shows nothing of the
// others.
func TestSlixInterop(t *testing.T) {
	slixpeer.Require(t)
	srv := prosodytest.New(t, prosodytest.Options{})

	tests := []struct {
		name string
		// jmi is the subcommand and its flags, without the account flags;
		// for call the test appends the peer's bare JID.
		jmi        []string
		wantStatus int
		// wantEvents are jmi's --json events, in order: the type, and
		// "by peer" or "by jmi" for the device that acted.
		wantEvents []string
		// peerRole and peerArgs run the slixmpp peer; a PEER argument is the
		// jmi account's bare JID.
		peerRole string
		peerArgs []string
		// wantPeer are the peer's lines after ready, in order ("got
		// propose", "sent proceed", "ignored finish"); lines of one group
		// ({"a", "b"}) may come in either order, because they cross in
		// flight.
		wantPeer [][]string
	}{
		{
			name:       "call answered",
			jmi:        []string{"call", "--hangup-after", "100ms", "--ring-timeout", "20s"},
			wantStatus: exitOK,
			wantEvents: []string{"proposed", "proceeded by peer", "finished by jmi"},
			peerRole:   "answer",
			wantPeer:   [][]string{{"got propose"}, {"sent proceed"}, {"ignored finish"}},
		},
		{
			name:       "call declined",
			jmi:        []string{"call", "--ring-timeout", "20s"},
			wantStatus: exitDeclined,
			wantEvents: []string{"proposed", "rejected by peer"},
			peerRole:   "reject",
			wantPeer:   [][]string{{"got propose"}, {"sent reject"}},
		},
		{
			name:       "listen accepts",
			jmi:        []string{"listen", "--answer", "accept", "--hangup-after", "100ms", "--exit-after", "1"},
			wantStatus: exitOK,
			wantEvents: []string{"incoming by peer", "proceeded by jmi", "finished by jmi"},
			peerRole:   "call",
			peerArgs:   []string{"PEER"},
			wantPeer:   [][]string{{"sent propose"}, {"ignored ringing"}, {"got proceed"}, {"ignored finish"}},
		},
		{
			name:       "listen rejects",
			jmi:        []string{"listen", "--answer", "reject", "--exit-after", "1"},
			wantStatus: exitOK,
			wantEvents: []string{"incoming by peer", "rejected by jmi"},
			peerRole:   "call",
			peerArgs:   []string{"PEER"},
			wantPeer:   [][]string{{"sent propose"}, {"ignored ringing"}, {"got reject"}},
		},
		{
			name:       "listen sees the call withdrawn",
			jmi:        []string{"listen", "--answer", "ignore", "--exit-after", "1"},
			wantStatus: exitOK,
			// The engine reports an incoming call withdrawn before anyone
			// answered as missed (as jmi replay's 03-withdraw-missed).
			wantEvents: []string{"incoming by peer", "missed by peer"},
			peerRole:   "call-retract",
			peerArgs:   []string{"PEER", "0.2"},
			// The retract goes out 0.2 s after the propose, whether or not
			// jmi's ringing has come back by then.
			wantPeer: [][]string{{"sent propose"}, {"ignored ringing", "sent retract"}},
		},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*slixWait)
			defer cancel()
			// Two fresh accounts: jmiN for the command, slixN for the peer.
			me, them := fmt.Sprintf("jmi%d", i+1), fmt.Sprintf("slix%d", i+1)
			for _, u := range []string{me, them} {
				if err := srv.Register(ctx, u, prosodytest.Password(u)); err != nil {
					t.Fatal(err)
				}
			}
			myBare, theirBare := me+"@"+srv.Domain, them+"@"+srv.Domain
			myFull, theirFull := myBare+"/cli", theirBare+"/slix"
			listener := tt.jmi[0] == "listen"
			direction := "outgoing"
			args := slices.Clone(tt.peerArgs)
			for i, a := range args {
				if a == "PEER" {
					args[i] = myBare // a propose goes to the bare JID (§3.1)
				}
			}

			var cmd *jmiRun
			var watch *slixpeer.Peer
			if listener {
				direction = "incoming"
				// The listener must be online before the peer calls: a
				// second device of its account, with priority -1 so that
				// the call does not reach it, sees its presence.
				watch = startSlix(ctx, t, srv, slixpeer.Options{JID: myBare + "/watch", Password: prosodytest.Password(me), Role: "watch"})
				waitSlixReady(t, watch)
				cmd = startJMI(t, srv, me, myFull, append(slices.Clone(tt.jmi), "--trust", theirBare))
				waitSlixLine(t, watch, cmd, slixpeer.Line{Online: myFull})
			}
			peer := startSlix(ctx, t, srv, slixpeer.Options{JID: theirFull, Password: prosodytest.Password(them),
				Role: tt.peerRole, Args: args, Events: 1 + slixCount(tt.wantPeer)})
			// Ready: the server counts the peer available, so a propose to
			// its bare JID reaches it.
			waitSlixReady(t, peer)
			if !listener {
				cmd = startJMI(t, srv, me, myFull, tt.jmi, theirBare)
			}
			lines := readSlix(t, peer, tt.wantPeer, cmd)
			res := cmd.wait(t)
			if listener {
				// The listener left, and no JMI message reached the
				// watcher meanwhile (it would have reported it first).
				waitSlixLine(t, watch, nil, slixpeer.Line{Offline: myFull})
			}
			id := checkSlixLines(t, lines, tt.wantPeer, myBare, myFull)
			checkJMI(t, res, tt.wantStatus, tt.wantEvents, id, direction, theirBare, theirFull, myFull)
		})
	}
}

// startSlix starts a slixmpp peer that logs in to srv, and stops it when
// the test ends.
func startSlix(ctx context.Context, t *testing.T, srv *prosodytest.Server, o slixpeer.Options) *slixpeer.Peer {
	t.Helper()
	o.Server, o.CAFile, o.Timeout = srv.Addr, srv.CAFile, 3*slixWait.Seconds()
	p, err := slixpeer.Start(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// nextSlix waits for the peer's next line; cmd, if not nil, is the jmi
// command whose output a failure shows.
func nextSlix(t *testing.T, p *slixpeer.Peer, cmd *jmiRun) slixpeer.Line {
	t.Helper()
	select {
	case l, ok := <-p.Lines:
		if !ok {
			t.Fatalf("the slixmpp peer exited early%s", cmd.describe())
		}
		return l
	case <-time.After(slixWait):
		t.Fatalf("no line from the slixmpp peer within %v%s", slixWait, cmd.describe())
	}
	return slixpeer.Line{}
}

func waitSlixReady(t *testing.T, p *slixpeer.Peer) {
	t.Helper()
	if l := nextSlix(t, p, nil); l.Ready == "" {
		t.Fatalf("slixmpp peer: first line %+v, want ready", l)
	}
}

// waitSlixLine waits for the peer's next line and checks it is want; cmd,
// if not nil, is the jmi command whose output a failure shows.
func waitSlixLine(t *testing.T, p *slixpeer.Peer, cmd *jmiRun, want slixpeer.Line) {
	t.Helper()
	if l := nextSlix(t, p, cmd); l != want {
		t.Fatalf("slixmpp peer: %+v, want %+v%s", l, want, cmd.describe())
	}
}

// slixCount is the number of lines in want.
func slixCount(want [][]string) int {
	n := 0
	for _, g := range want {
		n += len(g)
	}
	return n
}

// readSlix reads as many lines as want names, then checks the peer exits
// (it ends after that many lines).
func readSlix(t *testing.T, p *slixpeer.Peer, want [][]string, cmd *jmiRun) []slixpeer.Line {
	t.Helper()
	var lines []slixpeer.Line
	for range slixCount(want) {
		lines = append(lines, nextSlix(t, p, cmd))
	}
	select {
	case l, ok := <-p.Lines:
		if ok {
			t.Errorf("slixmpp peer: a line after the last expected: %+v", l)
		}
	case <-time.After(slixWait):
		t.Errorf("the slixmpp peer did not exit within %v", slixWait)
	}
	return lines
}

// slixWhat names a line as the cases do: "got propose", "sent proceed",
// "ignored finish".
func slixWhat(l slixpeer.Line) string {
	switch {
	case l.Got != "":
		return "got " + l.Got
	case l.Sent != "":
		return "sent " + l.Sent
	case l.Ignored != "":
		return "ignored " + l.Ignored
	}
	b, _ := json.Marshal(l)
	return string(b)
}

// checkSlixLines checks the peer's lines against want: the kinds in order
// (any order within a group), one session id throughout, its propose and
// retract sent to jmiBare, and everything else exchanged with the jmi
// device jmiFull. It returns the session id.
func checkSlixLines(t *testing.T, lines []slixpeer.Line, want [][]string, jmiBare, jmiFull string) string {
	t.Helper()
	var got []string
	for _, l := range lines {
		got = append(got, slixWhat(l))
	}
	var wantFlat []string
	rest := got
	ok := true
	for _, g := range want {
		wantFlat = append(wantFlat, g...)
		if len(rest) < len(g) {
			ok = false
			break
		}
		part := slices.Clone(rest[:len(g)])
		slices.Sort(part)
		if !slices.Equal(part, slices.Sorted(slices.Values(g))) {
			ok = false
		}
		rest = rest[len(g):]
	}
	if !ok {
		t.Fatalf("slixmpp peer: lines %q, want %q (in any order within %q)", got, wantFlat, want)
	}
	id := lines[0].ID
	if id == "" {
		t.Fatalf("slixmpp peer: no session id in %+v", lines[0])
	}
	for _, l := range lines {
		if l.ID != id {
			t.Errorf("slixmpp peer: %s of session %q, want %q", slixWhat(l), l.ID, id)
		}
		who, wantWho := l.From, jmiFull
		if l.Sent != "" {
			who = l.To
		}
		if l.Sent == "propose" || l.Sent == "retract" {
			wantWho = jmiBare
		}
		if who != wantWho {
			t.Errorf("slixmpp peer: %s with %q, want %q", slixWhat(l), who, wantWho)
		}
	}
	return id
}

// jmiResult is how a jmi command ended.
type jmiResult struct {
	status   int
	out, err string
}

// jmiRun is a jmi command running in the test's process.
type jmiRun struct {
	cancel context.CancelFunc
	done   chan jmiResult
	stderr *lockedBuffer
}

// lockedBuffer is a buffer the command writes while the test may read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startJMI runs "jmi ARGS --json --no-media [PEER]" as user, device full, against
// srv, with a context of its own: the test ends it only when it overruns,
// so that an exit status of 0 means the command ended by itself.
func startJMI(t *testing.T, srv *prosodytest.Server, user, full string, args []string, peer ...string) *jmiRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &jmiRun{cancel: cancel, done: make(chan jmiResult, 1), stderr: &lockedBuffer{}}
	getenv := func(k string) string {
		switch k {
		case "JMI_JID":
			return full
		case "JMI_PASSWORD":
			return prosodytest.Password(user)
		case "JMI_SERVER":
			return srv.Addr
		}
		return ""
	}
	// --no-media: slixmpp has no Jingle. With media, jmi's session-initiate
	// after slixmpp's proceed is refused (feature-not-implemented), and the
	// call ends there: these are the signalling's tests.
	args = append(slices.Clone(args), "--ca-file", srv.CAFile, "--data-dir", t.TempDir(), "--json", "--no-media")
	args = append(args, peer...) // after the flags, which end at the first argument
	go func() {
		out := &lockedBuffer{}
		st := run(ctx, args, strings.NewReader(""), out, r.stderr, getenv)
		r.done <- jmiResult{st, out.String(), r.stderr.String()}
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(slixWait):
			t.Errorf("jmi %s did not end within %v of its cancellation", args[0], slixWait)
		}
	})
	return r
}

// describe tells, for a failure message, how the command ended, or that it
// still runs and what it wrote on standard error so far.
func (r *jmiRun) describe() string {
	if r == nil {
		return ""
	}
	select {
	case res := <-r.done:
		r.done <- res
		return fmt.Sprintf("; jmi exited with status %d:\n%s\n%s", res.status, res.out, res.err)
	default:
		return "; jmi still runs, its standard error:\n" + r.stderr.String()
	}
}

// wait waits for the command to end by itself.
func (r *jmiRun) wait(t *testing.T) jmiResult {
	t.Helper()
	select {
	case res := <-r.done:
		r.done <- res // for the cleanup
		return res
	case <-time.After(slixWait):
		r.cancel() // the cleanup waits for it to end
		t.Fatalf("jmi did not exit within %v; its standard error:\n%s", slixWait, r.stderr.String())
	}
	return jmiResult{}
}

// checkJMI checks the command's exit status and its --json events against
// want ("proceeded by peer"): their types in order, and for each its
// device, peerFull or jmiFull; all of session id, with the peer's bare JID
// and the given direction.
func checkJMI(t *testing.T, res jmiResult, status int, want []string, id, direction, peerBare, peerFull, jmiFull string) {
	t.Helper()
	if res.status != status {
		t.Errorf("jmi: exit status %d, want %d\n%s\n%s", res.status, status, res.out, res.err)
	}
	var got []string
	for line := range strings.Lines(res.out) {
		var ev struct {
			Event, ID, Peer, Device, Direction string
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("jmi: output line %q: %v", line, err)
		}
		if ev.ID != id || ev.Peer != peerBare || ev.Direction != direction {
			t.Errorf("jmi: %s\n\twant id %q, peer %q, direction %s", line, id, peerBare, direction)
		}
		switch ev.Device {
		case "":
			got = append(got, ev.Event)
		case peerFull:
			got = append(got, ev.Event+" by peer")
		case jmiFull:
			got = append(got, ev.Event+" by jmi")
		default:
			got = append(got, ev.Event+" by "+ev.Device)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("jmi: events %q, want %q\n%s\n%s", got, want, res.out, res.err)
	}
}
