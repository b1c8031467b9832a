package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/client"
	"github.com/jmi-xmpp/jmi/internal/prosodytest"
	"mellium.im/xmpp/jid"
)

// jsonEvents is a writer for a command's --json output that hands each
// event line to a channel as it is written.
type jsonEvents struct {
	mu   sync.Mutex
	buf  []byte
	evs  chan map[string]any
	text strings.Builder
}

func newJSONEvents() *jsonEvents { return &jsonEvents{evs: make(chan map[string]any, 256)} }

func (w *jsonEvents) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.text.Write(p)
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		var ev map[string]any
		if err := json.Unmarshal(w.buf[:i], &ev); err == nil {
			w.evs <- ev
		}
		w.buf = w.buf[i+1:]
	}
}

func (w *jsonEvents) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.text.String()
}

// next waits for the command's next event of type typ for call id ("" for
// any call), passing over others.
func (w *jsonEvents) next(t *testing.T, typ, id string) map[string]any {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev := <-w.evs:
			if ev["event"] == typ && (id == "" || ev["id"] == id) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event for %q within 20s; output:\n%s", typ, id, w.String())
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a command writing while a test
// reads, and waits for what it is to hold.
type syncBuffer struct {
	mu    sync.Mutex
	b     bytes.Buffer
	wrote chan struct{} // closed at the next write
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.wrote != nil {
		close(s.wrote)
		s.wrote = nil
	}
	return s.b.Write(p)
}

// Reset empties the buffer.
func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor waits until the command has written want.
func (s *syncBuffer) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		s.mu.Lock()
		if strings.Contains(s.b.String(), want) {
			s.mu.Unlock()
			return
		}
		if s.wrote == nil {
			s.wrote = make(chan struct{})
		}
		wrote := s.wrote
		s.mu.Unlock()
		select {
		case <-wrote:
		case <-deadline:
			t.Fatalf("no %q within 20s:\n%s", want, s.String())
		}
	}
}

// listenWorld is a private Prosody with Romeo logged in as a client (he
// trusts everyone) and Juliet's account for a jmi command.
type listenWorld struct {
	srv   *prosodytest.Server
	romeo *client.Client
}

func newListenWorld(t *testing.T) *listenWorld {
	t.Helper()
	w := &listenWorld{srv: prosodytest.NewWithUsers(t, prosodytest.Options{}, "romeo", "juliet")}
	w.romeo = w.romeoDevice(t, "orchard")
	return w
}

// romeoDevice logs in a device of Romeo's, trusting everyone, until the test
// ends.
func (w *listenWorld) romeoDevice(t *testing.T, resource string) *client.Client {
	t.Helper()
	return w.dial(t, "romeo", resource)
}

// dial logs in user/resource, trusting everyone, until the test ends.
func (w *listenWorld) dial(t *testing.T, user, resource string) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Config{
		JID:      jid.MustParse(user + "@" + w.srv.Domain + "/" + resource),
		Password: prosodytest.Password(user), Server: w.srv.Addr, CAFile: w.srv.CAFile,
		Trust: func(jid.JID) bool { return true },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		for range c.Events() {
		}
	})
	return c
}

// julietEnv is the environment of a jmi command run as Juliet; without
// the password when password is false.
func (w *listenWorld) julietEnv(password bool) func(string) string {
	return func(k string) string {
		switch k {
		case "JMI_JID":
			return "juliet@" + w.srv.Domain + "/cli"
		case "JMI_PASSWORD":
			if password {
				return prosodytest.Password("juliet")
			}
		case "JMI_SERVER":
			return w.srv.Addr
		}
		return ""
	}
}

// romeoWaits waits for Romeo's event of type typ for call id.
func (w *listenWorld) romeoWaits(t *testing.T, typ call.EventType, id string) call.Event {
	t.Helper()
	return waitClient(t, w.romeo, typ, id)
}

// waitClient waits for c's event of type typ for call id, passing over
// others.
func waitClient(t *testing.T, c *client.Client, typ call.EventType, id string) call.Event {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev, ok := <-c.Events():
			if !ok {
				t.Fatalf("%s: the client closed while waiting for %s", c.Account(), typ)
			}
			if ev.Type == typ && ev.ID == id {
				return ev
			}
		case <-deadline:
			t.Fatalf("%s: no %s for %s within 20s", c.Account(), typ, id)
		}
	}
}

// TestListenAsk plays "jmi listen --answer ask" on a terminal: the prompt
// names the caller and media, y answers, n declines, anything else asks
// again, a call withdrawn while it rings takes its prompt away, and Ctrl-C
// hangs up the call in progress before the command exits.
func TestListenAsk(t *testing.T) {
	w := newListenWorld(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdin, typeLine := io.Pipe()
	defer typeLine.Close()
	out, errOut := newJSONEvents(), &syncBuffer{}
	status := make(chan int, 1)
	go func() {
		status <- runEnv(ctx, env{
			args:  []string{"listen", "--json", "--ca-file", w.srv.CAFile, "--trust", "romeo@" + w.srv.Domain, "--data-dir", t.TempDir()},
			stdin: stdin, stdout: out, stderr: errOut, getenv: w.julietEnv(true), tty: true,
		})
	}()
	say := func(line string) {
		t.Helper()
		if _, err := fmt.Fprintln(typeLine, line); err != nil {
			t.Fatal(err)
		}
	}
	juliet := jid.MustParse("juliet@" + w.srv.Domain)
	bg := context.Background()
	place := func() string {
		t.Helper()
		h, err := w.romeo.Call(bg, juliet, "audio", "video")
		if err != nil {
			t.Fatal(err)
		}
		return h.ID()
	}
	// Call once the listener is online: before, the call would wait in the
	// offline store.
	errOut.waitFor(t, "waiting for calls")

	// y answers.
	id := place()
	out.next(t, "incoming", id)
	errOut.waitFor(t, "RINGING: romeo@"+w.srv.Domain+" calls (audio+video)")
	say("perhaps")
	errOut.waitFor(t, "answer y (answer the call) or n (decline it)")
	say("y")
	if ev := w.romeoWaits(t, call.EventProceeded, id); !strings.HasPrefix(ev.Device.String(), "juliet@") {
		t.Errorf("answered by %s", ev.Device)
	}
	out.next(t, "proceeded", id)
	if err := w.romeo.CallByID(id).HangUp(bg, nil); err != nil {
		t.Fatal(err)
	}
	out.next(t, "finished", id)

	// n declines, with the default reason busy (XEP-0353 §3.4).
	id = place()
	out.next(t, "incoming", id)
	say("n")
	if ev := w.romeoWaits(t, call.EventRejected, id); ev.Reason != "busy" {
		t.Errorf("declined with reason %q, want busy", ev.Reason)
	}

	// Withdrawn while it rings: missed here, and the prompt goes away.
	id = place()
	out.next(t, "incoming", id)
	if err := w.romeo.CallByID(id).Withdraw(bg, nil); err != nil {
		t.Fatal(err)
	}
	out.next(t, "missed", id)
	if !strings.HasSuffix(errOut.String(), "\r\033[K") {
		t.Errorf("the prompt of a withdrawn call is still on the screen: %q", errOut)
	}

	// Answered, then Ctrl-C: the command hangs up before it exits.
	id = place()
	out.next(t, "incoming", id)
	say("yes")
	w.romeoWaits(t, call.EventProceeded, id)
	out.next(t, "proceeded", id)
	cancel()
	if ev := w.romeoWaits(t, call.EventFinished, id); !strings.HasPrefix(ev.Device.String(), "juliet@") {
		t.Errorf("finished by %s", ev.Device)
	}
	select {
	case st := <-status:
		if st != exitOK {
			t.Errorf("status %d after Ctrl-C, want 0; stderr:\n%s", st, errOut)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("jmi listen did not exit after Ctrl-C")
	}
}

// TestListenAskWithoutTerminal: without a terminal, --answer ask (the
// default) says so and ignores calls: the call rings, nothing is sent back,
// and it ends when the caller withdraws it.
func TestListenAskWithoutTerminal(t *testing.T) {
	w := newListenWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, errOut := newJSONEvents(), &syncBuffer{}
	status := make(chan int, 1)
	go func() {
		status <- runEnv(ctx, env{
			args:  []string{"listen", "--json", "--exit-after", "1", "--ca-file", w.srv.CAFile, "--trust", "romeo@" + w.srv.Domain, "--data-dir", t.TempDir()},
			stdin: strings.NewReader("y\n"), stdout: out, stderr: errOut, getenv: w.julietEnv(true),
		})
	}()
	juliet := jid.MustParse("juliet@" + w.srv.Domain)
	errOut.waitFor(t, "waiting for calls")
	h, err := w.romeo.Call(ctx, juliet)
	if err != nil {
		t.Fatal(err)
	}
	out.next(t, "incoming", h.ID())
	if err := h.Withdraw(ctx, nil); err != nil {
		t.Fatal(err)
	}
	out.next(t, "missed", h.ID())
	if st := <-status; st != exitOK {
		t.Fatalf("status %d; stderr:\n%s", st, errOut)
	}
	if !strings.Contains(errOut.String(), "--answer ask ignores calls") {
		t.Errorf("no word that ask ignores calls without a terminal:\n%s", errOut)
	}
	if strings.Contains(out.String(), `"event":"proceeded"`) || strings.Contains(out.String(), `"event":"rejected"`) {
		t.Errorf("a call was answered without a terminal:\n%s", out)
	}
}

// TestPasswordPrompt: without JMI_PASSWORD, a terminal is asked (the
// password then logs in); without a terminal, it is a usage error.
func TestPasswordPrompt(t *testing.T) {
	w := newListenWorld(t)
	args := []string{"call", "--ring-timeout", "1ms", "--ca-file", w.srv.CAFile, "--data-dir", t.TempDir(), "nobody@" + w.srv.Domain}
	asked := 0
	var errOut bytes.Buffer
	st := runEnv(context.Background(), env{args: args, stdin: strings.NewReader(""), stdout: io.Discard, stderr: &errOut,
		getenv: w.julietEnv(false), tty: true,
		readPassword: func() ([]byte, error) { asked++; return []byte("pw-juliet"), nil }})
	// Logged in, proposed to nobody: withdrawn at once (not answered), or
	// failed first if the server's bounce came before the time-out.
	loggedIn := st == exitNotAnswered || (st == exitError && strings.Contains(errOut.String(), "the call failed: service-unavailable"))
	if !loggedIn || asked != 1 || !strings.Contains(errOut.String(), "Password for juliet@"+w.srv.Domain+": ") {
		t.Errorf("with a terminal: status %d (want %d), asked %d times; stderr:\n%s", st, exitNotAnswered, asked, errOut.String())
	}
	errOut.Reset()
	st = runEnv(context.Background(), env{args: args, stdin: strings.NewReader(""), stdout: io.Discard, stderr: &errOut, getenv: w.julietEnv(false)})
	if st != exitUsage || !strings.Contains(errOut.String(), "no password: set JMI_PASSWORD") {
		t.Errorf("without a terminal: status %d (want %d); stderr:\n%s", st, exitUsage, errOut.String())
	}
}

// TestPrompter checks the prompt line: caller, media, time rung, calls
// waiting, one bell per call, and nothing drawn when nothing rings.
func TestPrompter(t *testing.T) {
	var b bytes.Buffer
	p := &prompter{w: &b}
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	p.draw(t0)
	if b.Len() != 0 {
		t.Fatalf("drew %q with nothing ringing", b.String())
	}
	p.push(call.Event{ID: "a", Peer: jid.MustParse("romeo@montague.example"), Media: []string{"audio"}, At: t0})
	p.push(call.Event{ID: "b", Peer: jid.MustParse("nurse@capulet.example"), Media: []string{"audio", "video"}, At: t0})
	p.draw(t0.Add(3 * time.Second))
	if want := "\r\033[K\aRINGING: romeo@montague.example calls (audio), 3s (1 more waiting). Answer? [y/n] "; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	b.Reset()
	p.draw(t0.Add(4 * time.Second))
	if want := "\r\033[KRINGING: romeo@montague.example calls (audio), 4s (1 more waiting). Answer? [y/n] "; b.String() != want {
		t.Errorf("redraw: got %q, want %q (one bell per call)", b.String(), want)
	}
	b.Reset()
	p.remove("a")
	p.draw(t0.Add(5 * time.Second))
	if want := "\r\033[K\aRINGING: nurse@capulet.example calls (audio+video), 5s. Answer? [y/n] "; b.String() != want {
		t.Errorf("next call: got %q, want %q", b.String(), want)
	}
	b.Reset()
	p.remove("b")
	p.draw(t0.Add(6 * time.Second))
	if b.String() != "\r\033[K" {
		t.Errorf("with nothing ringing: got %q, want the line cleared", b.String())
	}
	var none *prompter
	none.push(call.Event{ID: "x"})
	none.draw(t0)
	none.clear()
	if _, ok := none.current(); ok {
		t.Error("a nil prompter has a current call")
	}
}
