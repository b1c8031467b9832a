package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jmi-xmpp/jmi/jingle"
	"github.com/jmi-xmpp/jmi/media"
)

// TestRecordName: the call id, which comes from the network, goes before
// the extension and can name nothing but a file beside --record's.
func TestRecordName(t *testing.T) {
	long := strings.Repeat("a", 200)
	cases := []struct{ base, id, want string }{
		{"heard.wav", "9fbc6000-1", "heard-9fbc6000-1.wav"},
		{"dir/heard.wav", "../../etc/passwd", "dir/heard-_._.._etc_passwd.wav"},
		{"heard.wav", ".hidden", "heard-_hidden.wav"},
		{"heard.wav", "a.b", "heard-a.b.wav"},
		{"heard.wav", "", "heard-_.wav"},
		{"heard", "x\x1b[2J", "heard-x__2J"},
		{"heard.wav", "ünï/\\", "heard-_n___.wav"},
		{"heard.wav", long, "heard-" + long[:64] + ".wav"},
	}
	for _, c := range cases {
		got := recordName(c.base, c.id)
		if got != c.want {
			t.Errorf("recordName(%q, %q) = %q, want %q", c.base, c.id, got, c.want)
		}
		if filepath.Dir(got) != filepath.Dir(c.base) {
			t.Errorf("recordName(%q, %q) = %q: another directory", c.base, c.id, got)
		}
	}
}

// wavSamples reads back a recording, and fails the test unless its header
// is complete: the RIFF and data sizes those of the file, 16-bit PCM mono.
func wavSamples(t *testing.T, name string) ([]int16, int) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if len(b) < 44 || string(b[0:4]) != "RIFF" || string(b[8:16]) != "WAVEfmt " || string(b[36:40]) != "data" ||
		le.Uint16(b[20:]) != 1 || le.Uint16(b[22:]) != 1 || le.Uint16(b[34:]) != 16 {
		t.Fatalf("%s: not a 16-bit PCM mono WAV file (%d bytes)", name, len(b))
	}
	if riff, data := le.Uint32(b[4:]), le.Uint32(b[40:]); int(riff) != len(b)-8 || int(data) != len(b)-44 {
		t.Fatalf("%s: the header is not complete: RIFF size %d, data size %d, for a file of %d bytes", name, riff, data, len(b))
	}
	samples := make([]int16, (len(b)-44)/2)
	for i := range samples {
		samples[i] = int16(le.Uint16(b[44+2*i:]))
	}
	return samples, int(le.Uint32(b[24:]))
}

// TestRecordingsNeverOverwrite: no recording truncates a file, neither one
// left from before nor another call's; every file closeAll closes has a
// complete header, and a write after the close is refused.
func TestRecordingsNeverOverwrite(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "heard.wav")
	old := []byte("an earlier recording")
	if err := os.WriteFile(recordName(base, "c1"), old, 0o644); err != nil {
		t.Fatal(err)
	}
	r := &recordings{base: base}
	a, err := r.create("c1")
	if err != nil {
		t.Fatal(err)
	}
	if a.name != filepath.Join(dir, "heard-c1-2.wav") {
		t.Errorf("the recording of c1 beside an old heard-c1.wav: %s", a.name)
	}
	// "c/2" and "c_2" clean to the same name.
	b, err := r.create("c/2")
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.create("c_2")
	if err != nil {
		t.Fatal(err)
	}
	if b.name == c.name {
		t.Fatalf("two calls record to one file %s", b.name)
	}
	if _, err := r.create("c1"); err == nil {
		t.Error("a second recording for call c1 was made")
	}
	frame := make([]int16, 160)
	(&media.Tone{Frequency: 660}).ReadFrame(frame, 8000)
	for range 10 {
		if err := a.WriteFrame(frame, 8000); err != nil {
			t.Fatal(err)
		}
	}
	// The client closes c's recording when its media ends; closeAll then
	// closes it again, which does nothing.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.closeAll(); err != nil {
		t.Fatal(err)
	}
	if err := a.WriteFrame(frame, 8000); !errors.Is(err, os.ErrClosed) {
		t.Errorf("a frame after the close: %v, want os.ErrClosed", err)
	}
	if got, _ := os.ReadFile(recordName(base, "c1")); !bytes.Equal(got, old) {
		t.Errorf("the old file was changed: %q", got)
	}
	samples, rate := wavSamples(t, a.name)
	if len(samples) != 1600 || rate != 8000 {
		t.Errorf("%s: %d samples at %d Hz, want 1600 at 8000", a.name, len(samples), rate)
	}
	if f := media.Frequency(samples, rate); f < 650 || f > 670 {
		t.Errorf("%s holds %.0f Hz, want 660", a.name, f)
	}
	for _, rec := range []*recording{b, c} {
		if s, _ := wavSamples(t, rec.name); len(s) != 0 {
			t.Errorf("%s: %d samples, want an empty recording", rec.name, len(s))
		}
	}

	// jmi call: the first call records to FILE itself, a later one (the
	// call it moved to) with its id.
	r = &recordings{base: filepath.Join(dir, "call.wav"), firstExact: true}
	first, err := r.create("x1")
	if err != nil {
		t.Fatal(err)
	}
	second, err := r.create("x2")
	if err != nil {
		t.Fatal(err)
	}
	if first.name != filepath.Join(dir, "call.wav") || second.name != filepath.Join(dir, "call-x2.wav") {
		t.Errorf("jmi call's recordings: %s, %s", first.name, second.name)
	}
	if err := r.closeAll(); err != nil {
		t.Fatal(err)
	}
}

// writeWAV writes a WAV header of the given format and one second of
// silence.
func writeWAV(t *testing.T, name string, format, channels, bits uint16, rate uint32) {
	t.Helper()
	data := make([]byte, int(rate)*int(channels)*int(bits)/8)
	h := make([]byte, 44)
	copy(h, "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+len(data)))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], format)
	binary.LittleEndian.PutUint16(h[22:], channels)
	binary.LittleEndian.PutUint32(h[24:], rate)
	binary.LittleEndian.PutUint32(h[28:], rate*uint32(channels)*uint32(bits)/8)
	binary.LittleEndian.PutUint16(h[32:], channels*bits/8)
	binary.LittleEndian.PutUint16(h[34:], bits)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(len(data)))
	if err := os.WriteFile(name, append(h, data...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBadPlay: a --play or --record that cannot work is bad usage (exit 2)
// with a word why, before any connection: no account is given, so
// getting past the check would fail otherwise.
func TestBadPlay(t *testing.T) {
	dir := t.TempDir()
	stereo, hifi, text, good := filepath.Join(dir, "stereo.wav"), filepath.Join(dir, "hifi.wav"), filepath.Join(dir, "notes.wav"), filepath.Join(dir, "good.wav")
	writeWAV(t, stereo, 1, 2, 16, 8000)
	writeWAV(t, hifi, 1, 1, 16, 44100)
	writeWAV(t, good, 1, 1, 16, 8000)
	if err := os.WriteFile(text, []byte("not a WAV file at all, but long enough to have a header"), 0o644); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(dir, "taken.wav")
	if err := os.WriteFile(existing, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"call", "--play", "tone:abc", "juliet@capulet.example"}, "tone frequency"},
		{[]string{"call", "--play", "tone:0", "juliet@capulet.example"}, "tone frequency"},
		{[]string{"call", "--play", "tone:440:3", "juliet@capulet.example"}, "tone level"},
		{[]string{"listen", "--play", filepath.Join(dir, "missing.wav")}, "no such file"},
		{[]string{"listen", "--play", stereo}, "2 channels"},
		{[]string{"call", "--play", text, "juliet@capulet.example"}, "bad WAV"},
		{[]string{"call", "--play", hifi, "juliet@capulet.example"}, "44100 Hz"},
		{[]string{"call", "--record", existing, "juliet@capulet.example"}, "never overwrites"},
		{[]string{"listen", "--record", filepath.Join(dir, "nodir", "x.wav")}, "no directory"},
		{[]string{"call", "--no-media", "--play", "tone:440", "juliet@capulet.example"}, "--no-media and --play"},
		{[]string{"listen", "--no-media", "--record", "x.wav"}, "--no-media and --record"},
	}
	for _, c := range cases {
		status, _, errOut := runCmdEnv(t, func(string) string { return "" }, c.args...)
		if status != exitUsage || !strings.Contains(errOut, c.want) {
			t.Errorf("jmi %q: status %d, %q; want %d and %q", c.args, status, errOut, exitUsage, c.want)
		}
	}
	// A good --play gets past the check, to the missing account.
	status, _, errOut := runCmdEnv(t, func(string) string { return "" }, "call", "--play", good, "--record", filepath.Join(dir, "new.wav"), "juliet@capulet.example")
	if status != exitUsage || !strings.Contains(errOut, "no account") {
		t.Errorf("a good --play: status %d, %q; want the missing account", status, errOut)
	}
}

// TestAudioStatus: the line a person sees every few seconds says what
// flows each way since the line before.
func TestAudioStatus(t *testing.T) {
	up := media.Stats{State: media.StateConnected, Codec: media.PCMU, PacketsSent: 100, PacketsReceived: 99, SentLevel: -23.2, ReceivedLevel: -18.4}
	if got, want := audioStatus(media.Stats{}, up, false), "audio: PCMU, receiving, -18 dBFS, sending, -23 dBFS (99 packets in, 100 out)"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	stalled := up
	stalled.PacketsSent = 200
	stalled.SentLevel = media.Silence
	if got, want := audioStatus(up, stalled, true), "audio: PCMU, receiving, nothing, sending, silence (99 packets in, 200 out)"; got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := audioStatus(media.Stats{}, media.Stats{}, false); got != "audio: (no codec yet), receiving, nothing, sending, nothing (0 packets in, 0 out)" {
		t.Errorf("nothing yet: %q", got)
	}
}

// TestFailedText: a failed connection says which part failed.
func TestFailedText(t *testing.T) {
	cases := []struct {
		ice  webrtc.ICEConnectionState
		dtls webrtc.DTLSTransportState
		want string
	}{
		{webrtc.ICEConnectionStateFailed, webrtc.DTLSTransportStateNew, "audio: no connection (ICE failed)"},
		{webrtc.ICEConnectionStateConnected, webrtc.DTLSTransportStateFailed, "audio: no connection (DTLS failed)"},
		{webrtc.ICEConnectionStateDisconnected, webrtc.DTLSTransportStateConnected, "audio: connection lost (ICE disconnected)"},
		{webrtc.ICEConnectionStateChecking, webrtc.DTLSTransportStateNew, "audio: no connection"},
	}
	for _, c := range cases {
		if got := failedText(c.ice, c.dtls); got != c.want {
			t.Errorf("ICE %s, DTLS %s: %q, want %q", c.ice, c.dtls, got, c.want)
		}
	}
}

// hostileStats is a call's media whose remote candidate, from the network,
// carries a terminal escape.
func hostileStats() media.Stats {
	return media.Stats{
		State: media.StateConnected, ICE: webrtc.ICEConnectionStateConnected, DTLS: webrtc.DTLSTransportStateConnected,
		SRTP: "SRTP_AES128_CM_HMAC_SHA1_80", Codec: media.PCMU,
		SelectedPair: "udp4 host 127.0.0.1:5000 <-> udp4 host \x1b[2J127.0.0.1:5001",
		Pairs:        []media.CandidatePair{{Local: "udp4 host 127.0.0.1:5000", Remote: "udp4 host \x1b[2J127.0.0.1:5001", State: "succeeded", Nominated: true, RTT: 0.0004}},
		PacketsSent:  150, BytesSent: 24000, PacketsReceived: 149, BytesReceived: 23840, PacketsDropped: 2, PacketsLost: 1,
		SentLevel: -23, ReceivedLevel: -23, LocalCandidates: 1,
	}
}

// mediaItems is one call's media from its first candidate to its close.
func mediaItems(at time.Time) []mediaItem {
	id := "c1\n12:00:00  in the call"
	evs := []media.Event{
		{Kind: media.EventCandidate, Content: "0", Candidate: jingle.Candidate{Protocol: "udp", Type: "host", IP: "127.0.0.1", Port: 5000, Priority: 2130706431}},
		{Kind: media.EventICE, ICE: webrtc.ICEConnectionStateChecking},
		{Kind: media.EventICE, ICE: webrtc.ICEConnectionStateConnected},
		{Kind: media.EventDTLS, DTLS: webrtc.DTLSTransportStateConnected},
		{Kind: media.EventState, State: media.StateConnected},
		{Kind: media.EventAudio},
	}
	items := []mediaItem{{id: id, at: at, note: "heard-c1.wav"}}
	for _, ev := range evs {
		items = append(items, mediaItem{id: id, at: at, ev: ev})
	}
	return items
}

// TestMediaViewHuman: the lines of a call's media for a person, and the
// --media-log lines, with what came from the network escaped.
func TestMediaViewHuman(t *testing.T) {
	at := time.Date(2026, 12, 2, 7, 50, 2, 0, time.Local)
	var out, log bytes.Buffer
	up := true
	items := mediaItems(at)
	id := items[0].id
	v := &mediaView{out: &out, log: &log, detail: true, stats: func(call string) (media.Stats, bool) { return hostileStats(), up && call == id }}
	for _, it := range items {
		v.handle(it)
	}
	v.tick(at.Add(2*time.Second), []string{id, "no-media-call"})
	up = false // the client forgets the session once it is closed
	v.handle(mediaItem{id: id, at: at.Add(3 * time.Second), ev: media.Event{Kind: media.EventState, State: media.StateClosed}})
	want := `07:50:02  audio: recording to heard-c1.wav  (c1\n12:00)
07:50:02  audio: connected, PCMU, udp4 host 127.0.0.1:5000 <-> udp4 host \x1b[2J127.0.0.1:5001  (c1\n12:00)
07:50:02  audio: the other side's audio arrives  (c1\n12:00)
07:50:04  audio: PCMU, receiving, -23 dBFS, sending, -23 dBFS (149 packets in, 150 out)  (c1\n12:00)
07:50:05  audio: ended; at the last count 149 packets received (2 dropped, 1 lost), 150 sent  (c1\n12:00)
`
	if out.String() != want {
		t.Errorf("human output:\n%s\nwant:\n%s", out.String(), want)
	}
	for _, line := range []string{
		`07:50:02.000 media c1\n12:00: local candidate udp host 127.0.0.1:5000 (priority 2130706431, content 0)`,
		`media c1\n12:00: ICE checking`,
		`media c1\n12:00: DTLS connected`,
		`media c1\n12:00: pair udp4 host 127.0.0.1:5000 <-> udp4 host \x1b[2J127.0.0.1:5001 (succeeded, nominated), rtt 0.4 ms`,
		`media c1\n12:00: selected pair udp4 host 127.0.0.1:5000 <-> udp4 host \x1b[2J127.0.0.1:5001`,
		`media c1\n12:00: ICE connected, DTLS connected, SRTP SRTP_AES128_CM_HMAC_SHA1_80, 1 local candidates`,
		`media c1\n12:00: RTP PCMU: sent 150 (24000 bytes), received 149 (23840 bytes), dropped 2, lost 1`,
		`media c1\n12:00: first audio frame heard`,
	} {
		if !strings.Contains(log.String(), line) {
			t.Errorf("the media log lacks %q:\n%s", line, log.String())
		}
	}
	if strings.ContainsAny(out.String()+log.String(), "\x1b") {
		t.Error("an escape character reached the terminal")
	}
	if len(v.calls) != 0 {
		t.Errorf("the view still remembers %d calls after their media closed", len(v.calls))
	}

	// A call whose ICE failed says so, and never connected.
	out.Reset()
	up = false
	for _, ev := range []media.Event{
		{Kind: media.EventICE, ICE: webrtc.ICEConnectionStateChecking},
		{Kind: media.EventICE, ICE: webrtc.ICEConnectionStateFailed},
		{Kind: media.EventState, State: media.StateFailed},
		{Kind: media.EventState, State: media.StateClosed},
	} {
		v.handle(mediaItem{id: "c2", at: at, ev: ev})
	}
	want = "07:50:02  audio: no connection (ICE failed)  (c2)\n07:50:02  audio: ended, never connected  (c2)\n"
	if out.String() != want {
		t.Errorf("a failed call:\n%s\nwant:\n%s", out.String(), want)
	}
}

// TestMediaViewJSON: with --json every media event is an object, and the
// state every few seconds too; each parses, with the fields the README
// documents.
func TestMediaViewJSON(t *testing.T) {
	at := time.Date(2026, 12, 2, 7, 50, 2, 0, time.UTC)
	var out bytes.Buffer
	up := true
	v := &mediaView{out: &out, log: &bytes.Buffer{}, json: true, stats: func(string) (media.Stats, bool) { return hostileStats(), up }}
	items := mediaItems(at)
	for _, it := range items {
		v.handle(it)
	}
	v.tick(at, []string{items[0].id})
	up = false
	v.handle(mediaItem{id: items[0].id, at: at, ev: media.Event{Kind: media.EventState, State: media.StateClosed}})
	var kinds []string
	var stats int
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if m["id"] != items[0].id || m["at"] != "2026-12-02T07:50:02Z" {
			t.Errorf("id or at: %s", line)
		}
		switch m["event"] {
		case "media":
			kinds = append(kinds, m["kind"].(string))
			if m["kind"] == "state" && m["state"] == "connected" && (m["codec"] != "PCMU" || !strings.Contains(m["selected_pair"].(string), "<->")) {
				t.Errorf("connected without codec and pair: %s", line)
			}
		case "media_stats":
			stats++
			if m["packets_received"] != 149.0 || m["packets_lost"] != 1.0 || m["received_dbfs"] != -23.0 || m["srtp"] != "SRTP_AES128_CM_HMAC_SHA1_80" || len(m["pairs"].([]any)) != 1 {
				t.Errorf("stats: %s", line)
			}
		default:
			t.Errorf("event %v: %s", m["event"], line)
		}
	}
	if got, want := strings.Join(kinds, ","), "record,candidate,ice,ice,dtls,state,audio,state"; got != want {
		t.Errorf("kinds %s, want %s", got, want)
	}
	if stats != 2 { // the tick, and the last count at the close
		t.Errorf("%d media_stats objects, want 2", stats)
	}
}

// TestMediaQueue: what the client's goroutine pushes arrives in order, and
// the loop is woken.
func TestMediaQueue(t *testing.T) {
	q := newMediaQueue()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 1000 {
			q.push(mediaItem{id: "c", ev: media.Event{Kind: media.EventKind(i%5 + 1)}, note: string(rune('a' + i%26))})
		}
	}()
	var got []mediaItem
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(got) < 1000 {
		select {
		case <-q.ready:
			got = append(got, q.take()...)
		case <-ctx.Done():
			t.Fatalf("%d items of 1000 arrived", len(got))
		}
	}
	<-done
	for i, it := range got {
		if it.note != string(rune('a'+i%26)) {
			t.Fatalf("item %d out of order", i)
		}
	}
}
