package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/client"
	"github.com/jmi-xmpp/jmi/internal/prosodytest"
	"github.com/jmi-xmpp/jmi/media"
	"mellium.im/xmpp/jid"
)

// audioLine is the status line a person sees while audio flows both ways.
var audioLine = regexp.MustCompile(`audio: PCMU, receiving, -\d+ dBFS, sending, -\d+ dBFS \(\d+ packets in, \d+ out\)`)

// exitStatusOf waits for the process to exit by itself and returns its
// status.
func (p *killProc) exitStatusOf(t *testing.T) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(killWait):
		p.dumpStacks()
		t.Fatalf("jmi did not exit within %s:\n%s", killWait, p.text())
	}
	return p.cmd.ProcessState.ExitCode()
}

// waitCount waits until the process has written want n times.
func (p *killProc) waitCount(t *testing.T, want string, n int) {
	t.Helper()
	deadline := time.NewTimer(killWait)
	defer deadline.Stop()
	for strings.Count(p.text(), want) < n {
		select {
		case <-p.changed:
		case <-p.exited:
			t.Fatalf("jmi exited (%v) before writing %q %d times:\n%s", p.cmd.ProcessState, want, n, p.text())
		case <-deadline.C:
			p.dumpStacks()
			t.Fatalf("jmi wrote %q fewer than %d times within %s:\n%s", want, n, killWait, p.text())
		}
	}
}

// heardTone checks that the recording name is a complete WAV file whose
// last second holds a tone of hz.
func heardTone(t *testing.T, name string, hz float64) {
	t.Helper()
	samples, rate := wavSamples(t, name)
	if rate != 8000 || len(samples) < rate {
		t.Fatalf("%s: %d samples at %d Hz, want more than a second at 8000 Hz", name, len(samples), rate)
	}
	last := samples[len(samples)-rate:]
	f, level := media.Frequency(last, rate), media.ToneLevel(last, rate, hz)
	if f < hz*0.98 || f > hz*1.02 || level < -40 {
		t.Errorf("%s: %.1f Hz, %.0f dBFS at %.0f Hz; want the %.0f Hz tone", name, f, level, hz, hz)
	}
}

// jmiArgs are the account flags of a jmi command run as user/cli through
// srv, with its own data directory.
func jmiArgs(t *testing.T, srv *prosodytest.Server, user string) []string {
	return []string{"--jid", user + "@" + srv.Domain + "/cli", "--server", srv.Addr, "--ca-file", srv.CAFile, "--data-dir", t.TempDir()}
}

// TestAudioCallListen: jmi call --play tone:440 --record a.wav to jmi
// listen --play tone:660 --record b.wav, both the real command in a
// process of its own, through a private Prosody: each recording, re-read,
// holds the other's tone, both human outputs show the audio flowing, and
// --media-log shows the pair, DTLS, SRTP and the RTP counts.
func TestAudioCallListen(t *testing.T) {
	if os.Getenv(killArgsEnv) != "" {
		return
	}
	srv := prosodytest.NewWithUsers(t, prosodytest.Options{}, "romeo", "juliet")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.wav"), filepath.Join(dir, "b.wav")
	listen := startKillProc(t, append([]string{"listen", "--answer", "accept", "--exit-after", "1", "--trust", "romeo@" + srv.Domain,
		"--ice-loopback", "--play", "tone:660", "--record", b}, jmiArgs(t, srv, "juliet")...))
	listen.waitOnline(t)
	caller := startKillProc(t, append([]string{"call", "--ice-loopback", "--play", "tone:440", "--record", a, "--media-log",
		"--hangup-after", "3s", "--ring-timeout", "20s", "juliet@" + srv.Domain}, jmiArgs(t, srv, "romeo")...),
		"JMI_PASSWORD="+prosodytest.Password("romeo"))
	if st := caller.exitStatusOf(t); st != 0 {
		t.Fatalf("jmi call: status %d\n%s", st, caller.text())
	}
	if st := listen.exitStatusOf(t); st != 0 {
		t.Fatalf("jmi listen: status %d\n%s", st, listen.text())
	}
	heardTone(t, a, 660)
	recorded, _ := filepath.Glob(filepath.Join(dir, "b-*.wav"))
	if len(recorded) != 1 {
		t.Fatalf("jmi listen's recordings: %q, want one b-ID.wav", recorded)
	}
	heardTone(t, recorded[0], 440)
	for _, p := range []*killProc{caller, listen} {
		out := p.text()
		for _, want := range []string{"stdout: ", "audio: recording to ", "audio: connected, PCMU, udp host 127.0.0.1:", "audio: ended; "} {
			if !strings.Contains(out, want) {
				t.Errorf("the output lacks %q:\n%s", want, out)
			}
		}
		if !audioLine.MatchString(out) {
			t.Errorf("the output lacks a line of audio flowing both ways:\n%s", out)
		}
	}
	for _, want := range []string{"local candidate udp", "ICE connected", "DTLS connected", "selected pair udp host 127.0.0.1:",
		"SRTP SRTP_", "RTP PCMU: sent ", "dropped 0"} {
		if !strings.Contains(caller.text(), "stderr: ") || !strings.Contains(caller.text(), want) {
			t.Errorf("jmi call --media-log lacks %q:\n%s", want, caller.text())
		}
	}
	if strings.Contains(listen.text(), "selected pair") {
		t.Errorf("jmi listen without --media-log logged the media:\n%s", listen.text())
	}
}

// mediaClient logs in Romeo's device with audio (a 440 Hz tone), noting
// every media event by call id.
type mediaClient struct {
	c  *client.Client
	mu sync.Mutex
	ev map[string][]media.Event
}

func dialMedia(t *testing.T, srv *prosodytest.Server) *mediaClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m := &mediaClient{ev: map[string][]media.Event{}}
	c, err := client.Dial(ctx, client.Config{
		JID:      jid.MustParse("romeo@" + srv.Domain + "/orchard"),
		Password: prosodytest.Password("romeo"), Server: srv.Addr, CAFile: srv.CAFile,
		Trust: func(jid.JID) bool { return true },
		Media: &client.MediaConfig{
			Source:       func(string) (media.Source, error) { return &media.Tone{Frequency: 440}, nil },
			LoopbackOnly: true,
			OnEvent: func(id string, ev media.Event) {
				m.mu.Lock()
				m.ev[id] = append(m.ev[id], ev)
				m.mu.Unlock()
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	m.c = c
	t.Cleanup(func() {
		c.Close()
		for range c.Events() {
		}
	})
	return m
}

func (m *mediaClient) events(id string) []media.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]media.Event(nil), m.ev[id]...)
}

// TestAudioRecordSIGTERM: jmi listen --record, stopped with SIGTERM in the
// middle of a call: it hangs up, exits 0, and its recording is a complete
// WAV file holding the caller's tone.
func TestAudioRecordSIGTERM(t *testing.T) {
	if os.Getenv(killArgsEnv) != "" {
		return
	}
	srv := prosodytest.NewWithUsers(t, prosodytest.Options{}, "romeo", "juliet")
	romeo := dialMedia(t, srv)
	dir := t.TempDir()
	listen := startKillProc(t, append([]string{"listen", "--answer", "accept", "--trust", "romeo@" + srv.Domain,
		"--ice-loopback", "--play", "tone:660", "--record", filepath.Join(dir, "heard.wav")}, jmiArgs(t, srv, "juliet")...))
	listen.waitOnline(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := romeo.c.Call(ctx, jid.MustParse("juliet@"+srv.Domain), "audio")
	if err != nil {
		t.Fatal(err)
	}
	waitClient(t, romeo.c, call.EventProceeded, h.ID())
	// Two status lines: more than a second of the tone recorded.
	listen.waitCount(t, "audio: PCMU, receiving, -", 2)
	if err := listen.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if st := listen.exitStatusOf(t); st != 0 {
		t.Fatalf("jmi listen: status %d after SIGTERM\n%s", st, listen.text())
	}
	waitClient(t, romeo.c, call.EventFinished, h.ID())
	heardTone(t, filepath.Join(dir, "heard-"+fileSafe(h.ID())+".wav"), 440)
}

// TestNoMedia: jmi call --no-media behaves as before the media: the same
// lines, no audio line, and no Jingle session: the callee, a device with
// audio, never starts a media session for the call.
func TestNoMedia(t *testing.T) {
	if os.Getenv(killArgsEnv) != "" {
		return
	}
	srv := prosodytest.NewWithUsers(t, prosodytest.Options{}, "romeo", "juliet")
	romeo := dialMedia(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	type result struct {
		status   int
		out, err string
	}
	done := make(chan result, 1)
	go func() {
		var out, errOut syncBuffer
		args := append([]string{"call", "--no-media", "--hangup-after", "2s", "--ring-timeout", "20s"}, jmiArgs(t, srv, "juliet")...)
		st := run(ctx, append(args, "romeo@"+srv.Domain), strings.NewReader(""), &out, &errOut,
			func(k string) string { return map[string]string{"JMI_PASSWORD": prosodytest.Password("juliet")}[k] })
		done <- result{st, out.String(), errOut.String()}
	}()
	var id string
	for id == "" {
		select {
		case ev := <-romeo.c.Events():
			if ev.Type == call.EventIncoming {
				id = ev.ID
			}
		case <-ctx.Done():
			t.Fatal("the call did not ring")
		}
	}
	if err := romeo.c.CallByID(id).Answer(ctx); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		t.Fatal("jmi call --no-media did not end")
	}
	if r.status != 0 {
		t.Fatalf("jmi call --no-media: status %d\n%s\n%s", r.status, r.out, r.err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(r.out), "\n") {
		// "07:50:02  calls romeo@localhost (audio)  (9fbc6000)": the words.
		_, words, _ := strings.Cut(line, "  ")
		words, _, _ = strings.Cut(words, " ")
		got = append(got, words)
	}
	if want := "calls,hears,in,call"; strings.Join(got, ",") != want {
		t.Errorf("jmi call --no-media printed %q, want the lines %s:\n%s", got, want, r.out)
	}
	if strings.Contains(r.out, "audio:") {
		t.Errorf("an audio line without media:\n%s", r.out)
	}
	if evs := romeo.events(id); len(evs) != 0 {
		t.Errorf("the callee had a media session for a call placed with --no-media: %v", evs)
	}
	if _, ok := romeo.c.CallByID(id).MediaStats(); ok {
		t.Error("the callee has media stats for a call placed with --no-media")
	}
}

// TestAudioJSON: jmi listen --json shows a call's media as objects beside
// its events: the state changes with the codec and selected pair once
// connected, and media_stats with the counts and levels; the call's own
// events still read as call events.
func TestAudioJSON(t *testing.T) {
	if os.Getenv(killArgsEnv) != "" {
		return
	}
	srv := prosodytest.NewWithUsers(t, prosodytest.Options{}, "romeo", "juliet")
	romeo := dialMedia(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, errOut := newJSONEvents(), &syncBuffer{}
	status := make(chan int, 1)
	go func() {
		args := append([]string{"listen", "--json", "--answer", "accept", "--exit-after", "1", "--trust", "romeo@" + srv.Domain,
			"--ice-loopback", "--play", "tone:660"}, jmiArgs(t, srv, "juliet")...)
		status <- run(ctx, args, strings.NewReader(""), out, errOut, func(k string) string {
			return map[string]string{"JMI_PASSWORD": prosodytest.Password("juliet")}[k]
		})
	}()
	errOut.waitFor(t, "waiting for calls")
	h, err := romeo.c.Call(ctx, jid.MustParse("juliet@"+srv.Domain), "audio")
	if err != nil {
		t.Fatal(err)
	}
	out.next(t, "proceeded", h.ID())
	var connected map[string]any
	for connected == nil {
		if ev := out.next(t, "media", h.ID()); ev["kind"] == "state" && ev["state"] == "connected" {
			connected = ev
		}
	}
	if connected["codec"] != "PCMU" || !strings.Contains(connected["selected_pair"].(string), "127.0.0.1") {
		t.Errorf("the connected object: %v", connected)
	}
	st := out.next(t, "media_stats", h.ID())
	if st["state"] != "connected" || st["ice"] != "connected" || st["dtls"] != "connected" || st["codec"] != "PCMU" ||
		st["packets_received"].(float64) < 1 || st["packets_sent"].(float64) < 1 || st["received_dbfs"].(float64) < -40 {
		t.Errorf("the media_stats object: %v", st)
	}
	if err := romeo.c.CallByID(h.ID()).HangUp(ctx, nil); err != nil {
		t.Fatal(err)
	}
	out.next(t, "finished", h.ID())
	select {
	case st := <-status:
		if st != 0 {
			t.Fatalf("jmi listen --json: status %d\n%s\n%s", st, out.String(), errOut.String())
		}
	case <-ctx.Done():
		t.Fatal("jmi listen --json did not exit")
	}
	if !strings.Contains(out.String(), `"kind":"state","state":"closed"`) {
		t.Errorf("no closed media object:\n%s", out.String())
	}
}
