package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jmi-xmpp/jmi/client"
	"github.com/jmi-xmpp/jmi/media"
)

const mediaHelp = `Audio (answered calls carry voice over Jingle RTP; no sound card is used):
  --play SOURCE    what the other side hears: tone:HZ, tone:HZ:DBFS, or a
                   WAV file (16-bit PCM, mono, 8000 Hz) played once, then
                   silence (default tone:440, quiet: -20 dBFS)
%s  --media-log      the media's details on standard error: ICE candidates
                   and pairs, the selected pair, DTLS and SRTP state, RTP
                   counts (sent, received, dropped, lost)
  --ice-loopback   gather ICE candidates on 127.0.0.1 only (both sides on
                   this machine, as with jmi demo --serve)
  --no-media       signalling only: no Jingle session, no audio
While a call is up, a line every few seconds shows the audio as it flows:
"audio: PCMU, receiving, -23 dBFS, sending, -20 dBFS (99 packets in, 100 out)";
with --json, media and media_stats objects (see the README).

`

// recordCallHelp and recordListenHelp say how --record names its files.
const (
	recordCallHelp = `  --record FILE    record what is heard to FILE, 16-bit PCM WAV at the
                   codec's rate (8000 Hz); a FILE that exists is refused. A
                   call this one is moved to (or replaced by, when both
                   called at once) records to FILE with its call id before
                   the extension
`
	recordListenHelp = `  --record FILE    record what is heard in each call to its own file: FILE
                   with the call id before the extension (heard.wav:
                   heard-ID.wav), 16-bit PCM WAV at the codec's rate (8000
                   Hz); a name taken gets -2, -3…: no file is overwritten
`
)

// defaultPlay is what --play sends when not given: a quiet tone, so that
// the other side hears that the call is up.
const defaultPlay = "tone:440"

// audioStatusEvery is how often the human output shows the audio of a call
// that is up.
const audioStatusEvery = 2 * time.Second

// mediaFlags are the audio flags of jmi call and jmi listen.
type mediaFlags struct {
	play, record      string
	noMedia, log, ice bool
}

func (m *mediaFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.play, "play", defaultPlay, "")
	fs.StringVar(&m.record, "record", "", "")
	fs.BoolVar(&m.noMedia, "no-media", false, "")
	fs.BoolVar(&m.log, "media-log", false, "")
	fs.BoolVar(&m.ice, "ice-loopback", false, "")
}

// check refuses, before anything connects, audio flags that could not
// work: a --play that cannot be read or played at the codecs' rate, a
// --record in a directory that does not exist, or (exactPath: jmi call,
// whose first call records to FILE itself) onto a file that exists.
func (m *mediaFlags) check(exactPath bool, set map[string]bool) error {
	if m.noMedia {
		for _, f := range []string{"play", "record", "media-log", "ice-loopback"} {
			if set[f] {
				return usageError("--no-media and --%s: a call without media plays, records and logs no audio", f)
			}
		}
		return nil
	}
	if err := checkSource(m.play); err != nil {
		return usageError("--play %s: %v", m.play, err)
	}
	if m.record == "" {
		return nil
	}
	dir := filepath.Dir(m.record)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return usageError("--record %s: no directory %s", m.record, dir)
	}
	if exactPath {
		if _, err := os.Lstat(m.record); err == nil {
			return usageError("--record %s: the file exists, and jmi never overwrites a recording: remove it or give another name", m.record)
		}
	}
	return nil
}

// codecRate is the sample rate every codec of the media package sends at:
// a WAV file to play must have it (the media package does not resample).
func codecRate() int { return media.DefaultCodecs[0].ClockRate }

// checkSource opens SOURCE as the call would, and closes it.
func checkSource(source string) error {
	if !strings.HasPrefix(source, "tone:") {
		if _, err := os.Stat(source); errors.Is(err, fs.ErrNotExist) {
			return errors.New("no such file (want tone:HZ, tone:HZ:DBFS or a WAV file)")
		}
	}
	src, closeSource, err := media.ParseSource(source)
	if err != nil {
		return err
	}
	defer closeSource()
	if w, ok := src.(*media.WAVReader); ok && w.Rate != codecRate() {
		return fmt.Errorf("the file is at %d Hz; the codecs (PCMU, PCMA) are at %d Hz: convert it first, e.g. sox IN.wav -r %d OUT.wav", w.Rate, codecRate(), codecRate())
	}
	return nil
}

// source returns a new Source for one call: each call reads the WAV file
// from its start. A WAVReader is an io.Closer, which the client closes
// when the call's media ends.
func (m *mediaFlags) source() (media.Source, error) {
	src, _, err := media.ParseSource(m.play)
	return src, err
}

// recordName is the file a call's recording goes to: base with the call
// id before the extension (heard.wav, id "a/b": heard-a_b.wav). The id
// comes from the network: only letters, digits, '-', '_' and '.' are
// kept, and at most 64 of them, so that it names a file in base's
// directory and nothing else.
func recordName(base, id string) string {
	ext := filepath.Ext(base)
	return strings.TrimSuffix(base, ext) + "-" + fileSafe(id) + ext
}

func fileSafe(id string) string {
	var b strings.Builder
	for _, r := range id {
		if b.Len() >= 64 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			b.WriteRune(r)
		case r == '.' && b.Len() > 0:
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// recordings creates the WAV file of each call and closes every one it
// made when the command ends, so that each header is complete (the sizes
// are written on close) also after Ctrl-C or SIGTERM.
type recordings struct {
	base string
	// firstExact: the first call records to base itself (jmi call), the
	// others to recordName.
	firstExact bool

	mu    sync.Mutex
	made  int
	open  []*recording
	names map[string]string // call id → file, so a call asking again gets its own file
}

// create makes the recording of call id. It never truncates a file: a
// name taken (by another call's id that cleans to the same, or a file
// left from an earlier run) gets "-2", "-3"… before the extension.
func (r *recordings) create(id string) (*recording, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.names == nil {
		r.names = map[string]string{}
	}
	if _, ok := r.names[id]; ok {
		return nil, fmt.Errorf("call %s: already recorded to %s", id, r.names[id])
	}
	name := recordName(r.base, id)
	if r.firstExact && r.made == 0 {
		name = r.base
	}
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for n := 2; ; n++ {
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			rec := &recording{name: name, f: f, w: media.NewWAVWriter(f)}
			r.made++
			r.open = append(r.open, rec)
			r.names[id] = name
			return rec, nil
		}
		if !errors.Is(err, fs.ErrExist) || n > 100 {
			return nil, err
		}
		name = fmt.Sprintf("%s-%d%s", stem, n, ext)
	}
}

// closeAll closes every recording not closed yet; it returns the first
// error.
func (r *recordings) closeAll() error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	open := r.open
	r.open = nil
	r.mu.Unlock()
	var first error
	for _, rec := range open {
		if err := rec.Close(); err != nil && first == nil {
			first = fmt.Errorf("recording %s: %w", rec.name, err)
		}
	}
	return first
}

// recording is the WAV file of one call: a media.Sink and io.Closer that
// both the client (when the call's media ends) and the command (when it
// exits) may close; the first close writes the header.
type recording struct {
	name string
	f    *os.File

	mu     sync.Mutex
	w      *media.WAVWriter
	closed bool
	err    error
}

// WriteFrame appends one frame heard; after Close it refuses.
func (r *recording) WriteFrame(samples []int16, rate int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return os.ErrClosed
	}
	return r.w.WriteFrame(samples, rate)
}

// Close writes the WAV header's sizes and closes the file, once.
func (r *recording) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return r.err
	}
	r.closed = true
	r.err = r.w.Close()
	if err := r.f.Close(); r.err == nil {
		r.err = err
	}
	return r.err
}

// mediaItem is what the client reported of a call's media, for the
// command's loop: an event, or a note of the command's own (the file a
// recording goes to).
type mediaItem struct {
	id   string
	at   time.Time
	ev   media.Event
	note string
}

// mediaQueue carries media items from the client's goroutine, which must
// not block, to the command's loop, in order and without dropping any.
type mediaQueue struct {
	mu    sync.Mutex
	items []mediaItem
	ready chan struct{} // signalled when items were added
}

func newMediaQueue() *mediaQueue { return &mediaQueue{ready: make(chan struct{}, 1)} }

func (q *mediaQueue) push(it mediaItem) {
	q.mu.Lock()
	q.items = append(q.items, it)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take returns the items queued so far.
func (q *mediaQueue) take() []mediaItem {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items
}

// mediaCall is what the output remembers of one call's media.
type mediaCall struct {
	ice       webrtc.ICEConnectionState
	dtls      webrtc.DTLSTransportState
	last      media.Stats // at the previous status line
	haveLast  bool
	connected bool
}

// mediaView prints the media of the calls: lines for a person among the
// call's lines, JSON objects with --json, and the --media-log lines on
// the log's writer. Only the command's loop calls it.
type mediaView struct {
	out, log io.Writer
	json     bool
	detail   bool // --media-log
	// stats returns the media state of a call (client.Call.MediaStats).
	stats func(id string) (media.Stats, bool)
	calls map[string]*mediaCall
}

func (v *mediaView) call(id string) *mediaCall {
	if v.calls == nil {
		v.calls = map[string]*mediaCall{}
	}
	c := v.calls[id]
	if c == nil {
		c = &mediaCall{}
		v.calls[id] = c
	}
	return c
}

// shortID is the part of a call id the human output shows, as describe
// does.
func shortID(id string) string { return id[:min(8, len(id))] }

// line prints one human line for call id, as session.show prints events.
func (v *mediaView) line(at time.Time, id, text string) {
	fmt.Fprintf(v.out, "%s  %s  (%s)\n", at.Local().Format("15:04:05"), clean(text), clean(shortID(id)))
}

// logf prints one --media-log line.
func (v *mediaView) logf(at time.Time, id, format string, args ...any) {
	if !v.detail {
		return
	}
	fmt.Fprintf(v.log, "%s media %s: %s\n", at.Local().Format("15:04:05.000"), clean(shortID(id)), clean(fmt.Sprintf(format, args...)))
}

// mediaEventJSON is the --json object of a media event (see the README).
type mediaEventJSON struct {
	Event     string `json:"event"` // "media"
	ID        string `json:"id"`
	At        string `json:"at"`
	Kind      string `json:"kind"` // candidate, ice, dtls, state, audio, record
	State     string `json:"state,omitempty"`
	ICE       string `json:"ice,omitempty"`
	DTLS      string `json:"dtls,omitempty"`
	Candidate string `json:"candidate,omitempty"`
	Pair      string `json:"selected_pair,omitempty"`
	Codec     string `json:"codec,omitempty"`
	File      string `json:"file,omitempty"`
}

// mediaStatsJSON is the --json object of a call's media state, every few
// seconds while it is up and once when it ends (see the README).
type mediaStatsJSON struct {
	Event           string     `json:"event"` // "media_stats"
	ID              string     `json:"id"`
	At              string     `json:"at"`
	State           string     `json:"state"`
	ICE             string     `json:"ice"`
	DTLS            string     `json:"dtls"`
	SRTP            string     `json:"srtp,omitempty"`
	Codec           string     `json:"codec,omitempty"`
	SelectedPair    string     `json:"selected_pair,omitempty"`
	Pairs           []pairJSON `json:"pairs,omitempty"`
	PacketsSent     uint64     `json:"packets_sent"`
	BytesSent       uint64     `json:"bytes_sent"`
	PacketsReceived uint64     `json:"packets_received"`
	BytesReceived   uint64     `json:"bytes_received"`
	PacketsDropped  uint64     `json:"packets_dropped"`
	PacketsLost     uint64     `json:"packets_lost"`
	SentDBFS        float64    `json:"sent_dbfs"`
	ReceivedDBFS    float64    `json:"received_dbfs"`
	RecordError     string     `json:"record_error,omitempty"`
}

type pairJSON struct {
	Local     string  `json:"local"`
	Remote    string  `json:"remote"`
	State     string  `json:"state"`
	Nominated bool    `json:"nominated,omitempty"`
	RTT       float64 `json:"rtt,omitempty"`
}

func (v *mediaView) emit(x any) {
	b, _ := json.Marshal(x)
	fmt.Fprintf(v.out, "%s\n", b)
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// handle shows one item of the queue.
func (v *mediaView) handle(it mediaItem) {
	c := v.call(it.id)
	if it.note != "" {
		if v.json {
			v.emit(mediaEventJSON{Event: "media", ID: it.id, At: stamp(it.at), Kind: "record", File: it.note})
		} else {
			v.line(it.at, it.id, "audio: recording to "+it.note)
		}
		return
	}
	ev := it.ev
	j := mediaEventJSON{Event: "media", ID: it.id, At: stamp(it.at), Kind: ev.Kind.String()}
	var human string
	switch ev.Kind {
	case media.EventCandidate:
		cand := candidateText(ev)
		j.Candidate = cand
		v.logf(it.at, it.id, "local candidate %s", cand)
	case media.EventICE:
		c.ice = ev.ICE
		j.ICE = ev.ICE.String()
		v.logf(it.at, it.id, "ICE %s", ev.ICE)
	case media.EventDTLS:
		c.dtls = ev.DTLS
		j.DTLS = ev.DTLS.String()
		v.logf(it.at, it.id, "DTLS %s", ev.DTLS)
	case media.EventAudio:
		human = "audio: the other side's audio arrives"
		v.logf(it.at, it.id, "first audio frame heard")
	case media.EventState:
		j.State = ev.State.String()
		st, ok := v.stats(it.id)
		v.logf(it.at, it.id, "media %s", ev.State)
		switch ev.State {
		case media.StateConnected:
			c.connected = true
			if ok {
				j.Pair, j.Codec = st.SelectedPair, st.Codec.Name
				v.logStats(it.at, it.id, st)
			}
			human = connectedText(st, ok)
		case media.StateFailed:
			human = failedText(c.ice, c.dtls)
		case media.StateClosed:
			// The last event of the session: the view forgets the call.
			delete(v.calls, it.id)
			if ok {
				c.last, c.haveLast = st, true
			}
			if c.haveLast {
				v.logStats(it.at, it.id, c.last)
				if v.json {
					v.emit(statsJSON(it.id, it.at, c.last))
				}
			}
			human = endedText(c)
		}
	}
	if v.json {
		v.emit(j)
	} else if human != "" {
		v.line(it.at, it.id, human)
	}
}

// tick shows the audio of each call in ids whose media is up.
func (v *mediaView) tick(now time.Time, ids []string) {
	for _, id := range ids {
		st, ok := v.stats(id)
		if !ok || st.State != media.StateConnected {
			continue
		}
		c := v.call(id)
		if v.json {
			v.emit(statsJSON(id, now, st))
		} else {
			v.line(now, id, audioStatus(c.last, st, c.haveLast))
		}
		v.logStats(now, id, st)
		c.last, c.haveLast = st, true
	}
}

// logStats prints the --media-log lines of a call's state.
func (v *mediaView) logStats(at time.Time, id string, st media.Stats) {
	if !v.detail {
		return
	}
	for _, p := range st.Pairs {
		rtt := ""
		if p.RTT > 0 {
			rtt = fmt.Sprintf(", rtt %.1f ms", p.RTT*1000)
		}
		v.logf(at, id, "pair %s%s", p, rtt)
	}
	selected := st.SelectedPair
	if selected == "" {
		selected = "none"
	}
	v.logf(at, id, "selected pair %s", selected)
	srtp := st.SRTP
	if srtp == "" {
		srtp = "none yet"
	}
	v.logf(at, id, "ICE %s, DTLS %s, SRTP %s, %d local candidates", st.ICE, st.DTLS, srtp, st.LocalCandidates)
	v.logf(at, id, "RTP %s: sent %d (%d bytes), received %d (%d bytes), dropped %d, lost %d",
		codecName(st), st.PacketsSent, st.BytesSent, st.PacketsReceived, st.BytesReceived, st.PacketsDropped, st.PacketsLost)
	if st.SinkError != nil {
		v.logf(at, id, "recording stopped: %v", st.SinkError)
	}
}

func statsJSON(id string, at time.Time, st media.Stats) mediaStatsJSON {
	j := mediaStatsJSON{
		Event: "media_stats", ID: id, At: stamp(at),
		State: st.State.String(), ICE: st.ICE.String(), DTLS: st.DTLS.String(), SRTP: st.SRTP,
		Codec: st.Codec.Name, SelectedPair: st.SelectedPair,
		PacketsSent: st.PacketsSent, BytesSent: st.BytesSent,
		PacketsReceived: st.PacketsReceived, BytesReceived: st.BytesReceived,
		PacketsDropped: st.PacketsDropped, PacketsLost: st.PacketsLost,
		SentDBFS: st.SentLevel, ReceivedDBFS: st.ReceivedLevel,
	}
	for _, p := range st.Pairs {
		j.Pairs = append(j.Pairs, pairJSON{Local: p.Local, Remote: p.Remote, State: p.State, Nominated: p.Nominated, RTT: p.RTT})
	}
	if st.SinkError != nil {
		j.RecordError = st.SinkError.Error()
	}
	return j
}

func codecName(st media.Stats) string {
	if st.Codec.Name == "" {
		return "(no codec yet)"
	}
	return st.Codec.Name
}

// audioStatus is the line a person sees every few seconds while a call is
// up: "audio: PCMU, receiving, -23 dBFS, sending, -20 dBFS (99 packets
// in, 100 out)". Receiving and sending are judged against the previous
// line (prev, when havePrev): no packet since is "nothing", packets of
// silence are "silence".
func audioStatus(prev, cur media.Stats, havePrev bool) string {
	flow := func(now, before uint64, level float64) string {
		if now == 0 || (havePrev && now == before) {
			return "nothing"
		}
		if level <= media.Silence {
			return "silence"
		}
		return fmt.Sprintf("%.0f dBFS", level)
	}
	return fmt.Sprintf("audio: %s, receiving, %s, sending, %s (%d packets in, %d out)",
		codecName(cur), flow(cur.PacketsReceived, prev.PacketsReceived, cur.ReceivedLevel),
		flow(cur.PacketsSent, prev.PacketsSent, cur.SentLevel), cur.PacketsReceived, cur.PacketsSent)
}

// connectedText is the line of a call whose media has connected.
func connectedText(st media.Stats, ok bool) string {
	if !ok {
		return "audio: connected"
	}
	s := "audio: connected, " + codecName(st)
	if st.SelectedPair != "" {
		s += ", " + st.SelectedPair
	}
	return s
}

// failedText says which part failed: ICE found no pair, or DTLS (the
// encryption handshake) failed over the pair it found.
func failedText(ice webrtc.ICEConnectionState, dtls webrtc.DTLSTransportState) string {
	switch {
	case dtls == webrtc.DTLSTransportStateFailed:
		return "audio: no connection (DTLS failed)"
	case ice == webrtc.ICEConnectionStateFailed:
		return "audio: no connection (ICE failed)"
	case ice == webrtc.ICEConnectionStateDisconnected:
		return "audio: connection lost (ICE disconnected)"
	}
	return "audio: no connection"
}

// endedText is the line of a call whose media has ended.
func endedText(c *mediaCall) string {
	if !c.haveLast {
		if !c.connected {
			return "audio: ended, never connected"
		}
		return "audio: ended"
	}
	st := c.last
	// The client forgets the media session as it closes it: the counts
	// are those of the last status line.
	return fmt.Sprintf("audio: ended; at the last count %d packets received (%d dropped, %d lost), %d sent", st.PacketsReceived, st.PacketsDropped, st.PacketsLost, st.PacketsSent)
}

// candidateText is a local candidate as the media log shows it: "udp4
// host 127.0.0.1:5000".
func candidateText(ev media.Event) string {
	c := ev.Candidate
	return fmt.Sprintf("%s %s %s:%d (priority %d, content %s)", c.Protocol, c.Type, c.IP, c.Port, c.Priority, ev.Content)
}

// mediaSetup is the audio of one jmi call or jmi listen: the client's
// MediaConfig, the queue its events come through, and the recordings.
type mediaSetup struct {
	flags mediaFlags
	queue *mediaQueue
	rec   *recordings // nil without --record
}

// newMediaSetup returns the audio of the command, nil with --no-media.
// firstExact: the first call records to --record's FILE itself.
func newMediaSetup(m mediaFlags, firstExact bool) *mediaSetup {
	if m.noMedia {
		return nil
	}
	ms := &mediaSetup{flags: m, queue: newMediaQueue()}
	if m.record != "" {
		ms.rec = &recordings{base: m.record, firstExact: firstExact}
	}
	return ms
}

// config is the client's MediaConfig.
func (ms *mediaSetup) config() *client.MediaConfig {
	if ms == nil {
		return nil
	}
	cfg := &client.MediaConfig{
		Source:       func(string) (media.Source, error) { return ms.flags.source() },
		LoopbackOnly: ms.flags.ice,
		OnEvent: func(id string, ev media.Event) {
			ms.queue.push(mediaItem{id: id, at: time.Now(), ev: ev})
		},
	}
	if ms.rec != nil {
		cfg.Sink = func(id string) (media.Sink, error) {
			r, err := ms.rec.create(id)
			if err != nil {
				return nil, err
			}
			ms.queue.push(mediaItem{id: id, at: time.Now(), note: r.name})
			return r, nil
		}
	}
	return cfg
}

// ready is signalled when media items wait; nil (never ready) without
// media.
func (ms *mediaSetup) ready() <-chan struct{} {
	if ms == nil {
		return nil
	}
	return ms.queue.ready
}

// ticker returns the channel of the status lines; nil without media. The
// caller stops the ticker (nil without media).
func (ms *mediaSetup) ticker() (<-chan time.Time, func()) {
	if ms == nil {
		return nil, func() {}
	}
	t := time.NewTicker(audioStatusEvery)
	return t.C, t.Stop
}
