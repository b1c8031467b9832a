package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/client"
	"github.com/jmi-xmpp/jmi/internal/prosodytest"
	"github.com/jmi-xmpp/jmi/media"
	"github.com/pion/webrtc/v4"
	"mellium.im/xmpp/jid"
)

const demoUsage = `Usage: jmi demo

Starts a private Prosody on 127.0.0.1 (from a temporary directory, removed
afterwards), creates Romeo with one device and Juliet with a phone and a
tablet, and plays six calls through it, printing a timeline per device:

  1. a call rings on both of Juliet's devices, the phone answers, the
     tablet stops ringing, Romeo hangs up;
  2. a declined call;
  3. a missed call that the phone finds in the archive when it comes online;
  4. a crossed call: both press "call" at the same moment, one call survives;
  5. a call moved from Juliet's phone to her tablet;
  6. a real audio call: Romeo plays a 440 Hz tone, Juliet's phone 660 Hz,
     over Jingle RTP on loopback; each side checks it heard the other's.

Exits 0 when every step behaved as expected, 1 naming the step that did not.
Needs Prosody: apt-get install -y prosody.

  --serve    play nothing: start the private Prosody with Romeo and Juliet,
             print the commands to call between them by hand with jmi call
             and jmi listen (with audio: tones, a recording), and keep it
             running until Ctrl-C
`

func runDemo(ctx context.Context, e env) error {
	fs := newFlags("demo", demoUsage, e)
	serve := fs.Bool("serve", false, "")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if !*serve {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
	}
	d := &demo{out: e.stdout, start: time.Now()}
	srv, err := prosodytest.Start(ctx, prosodytest.Options{})
	if errors.Is(err, prosodytest.ErrNotInstalled) {
		return fmt.Errorf("%w; or run ./dev demo, which installs it", err)
	}
	if err != nil {
		return err
	}
	defer srv.Close()
	d.srv = srv
	d.printf("server", "private Prosody on %s (domain %s)", srv.Addr, srv.Domain)
	defer d.closeAll()
	for _, u := range []string{"romeo", "juliet"} {
		if err := srv.Register(ctx, u, "demo-"+u); err != nil {
			return err
		}
	}
	if *serve {
		return serveByHand(ctx, e.stdout, srv)
	}
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"1. answered on the phone", d.answered},
		{"2. declined", d.declined},
		{"3. missed, found in catch-up", d.missed},
		{"4. crossed call", d.crossed},
		{"5. moved from phone to tablet", d.migrated},
		{"6. a real audio call: 440 Hz one way, 660 Hz the other", d.audio},
	}
	for _, s := range steps {
		d.line("\n== %s", s.name)
		if err := s.run(ctx); err != nil {
			return fmt.Errorf("step %q: %w", s.name, err)
		}
	}
	took := time.Since(d.start).Round(time.Millisecond)
	d.closeAll()
	d.line("\nall %d steps behaved as expected in %s", len(steps), took)
	return nil
}

// serveByHand prints how to call through srv with jmi call and jmi listen,
// then waits for Ctrl-C.
func serveByHand(ctx context.Context, w io.Writer, srv *prosodytest.Server) error {
	// Each device its own history, in the server's directory: removed with
	// it, and apart from the user's own.
	device := func(user, resource string) string {
		// --ice-loopback: both ends of a call are on this machine.
		return fmt.Sprintf("JMI_JID=%s@%s/%s JMI_PASSWORD=demo-%s JMI_SERVER=%s jmi %%s --ca-file %s --data-dir %s --ice-loopback",
			user, srv.Domain, resource, user, srv.Addr, srv.CAFile, filepath.Join(srv.Dir, user+"-"+resource))
	}
	laptop, phone, desk := device("juliet", "laptop"), device("juliet", "phone"), device("romeo", "desk")
	fmt.Fprintf(w, `
The private Prosody runs until Ctrl-C. In other terminals, with jmi on
your PATH (from a clone: go install ./cmd/jmi):

  Juliet's laptop asks her about each call, and plays a 660 Hz tone in it:
    %s --trust romeo@%s --play tone:660
  Her phone declines every call:
    %s --trust romeo@%s --answer reject
  Romeo calls her with a 440 Hz tone, records what he hears to
  heard-by-romeo.wav here, and hangs up after 10 seconds (the "audio:"
  lines show the sound flowing both ways; --media-log shows ICE and DTLS):
    %s --play tone:440 --record heard-by-romeo.wav --hangup-after 10s juliet@%s
  Romeo's history:
    jmi log --data-dir %s
`, fmt.Sprintf(laptop, "listen"), srv.Domain, fmt.Sprintf(phone, "listen"), srv.Domain,
		fmt.Sprintf(desk, "call"), srv.Domain, filepath.Join(srv.Dir, "romeo-desk"))
	<-ctx.Done()
	return nil
}

// demo holds the devices and prints their timeline.
type demo struct {
	srv   *prosodytest.Server
	out   io.Writer
	start time.Time

	mu       sync.Mutex
	devices  []*device
	printers sync.WaitGroup // one per device, until its events end

	romeo, phone, tablet *device // the devices the steps use
}

// device is one logged-in client whose events are printed and kept.
type device struct {
	name string
	c    *client.Client
	mu   sync.Mutex
	evs  []call.Event
	got  chan struct{} // signalled on every event

	since   time.Time // when it logged in
	history int       // events about earlier calls, from the catch-up

	// tone is the frequency the device plays in its calls.
	tone float64
	// mediaState is the last media state of each call, and heard what it
	// heard, by call id; both under mu, signalled on got.
	mediaState map[string]media.State
	heard      map[string]*heardAudio
}

// demoTones are what each person's devices play: Romeo and Juliet each
// check they heard the other's.
var demoTones = map[string]float64{"romeo": 440, "juliet": 660}

// heardMax bounds what a device keeps of a call's audio: the last seconds
// are what the check looks at.
const heardMax = 5 * 8000

// heardAudio is a media.Sink that keeps the last seconds heard on a call.
type heardAudio struct {
	dev     *device
	samples []int16 // under dev.mu
	rate    int
}

// WriteFrame keeps the frame and wakes whoever waits on the device.
func (h *heardAudio) WriteFrame(samples []int16, rate int) error {
	h.dev.mu.Lock()
	h.rate = rate
	h.samples = append(h.samples, samples...)
	if extra := len(h.samples) - heardMax; extra > 0 {
		h.samples = append(h.samples[:0], h.samples[extra:]...)
	}
	h.dev.mu.Unlock()
	h.dev.signal()
	return nil
}

// signal wakes whoever waits on the device's events or media.
func (dev *device) signal() {
	select {
	case dev.got <- struct{}{}:
	default:
	}
}

// line writes one line of the timeline's frame.
func (d *demo) line(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.out, format+"\n", args...)
}

func (d *demo) printf(who, format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.out, "%+8.3fs  %-14s %s\n", time.Since(d.start).Seconds(), who, fmt.Sprintf(format, args...))
}

func (d *demo) login(ctx context.Context, user, resource string) (*device, error) {
	dev := &device{name: user + "/" + resource, got: make(chan struct{}, 1), since: time.Now(),
		tone: demoTones[user], mediaState: map[string]media.State{}, heard: map[string]*heardAudio{}}
	c, err := client.Dial(ctx, client.Config{
		JID:      jid.MustParse(user + "@" + d.srv.Domain + "/" + resource),
		Password: "demo-" + user,
		Server:   d.srv.Addr,
		CAFile:   d.srv.CAFile,
		// Romeo and Juliet are each other's contacts.
		Trust: func(jid.JID) bool { return true },
		// Each device remembers where it stopped reading the archive, so
		// coming back online shows only what happened meanwhile.
		StateFile: filepath.Join(d.srv.Dir, user+"-"+resource+".json"),
		// Every device has audio, over loopback only: the calls answered
		// carry the person's tone, and keep what they heard.
		Media: &client.MediaConfig{
			Source: func(string) (media.Source, error) { return &media.Tone{Frequency: dev.tone}, nil },
			Sink: func(id string) (media.Sink, error) {
				h := &heardAudio{dev: dev}
				dev.mu.Lock()
				dev.heard[id] = h
				dev.mu.Unlock()
				return h, nil
			},
			LoopbackOnly: true,
			OnEvent:      func(id string, ev media.Event) { d.mediaEvent(dev, id, ev) },
		},
	})
	if err != nil {
		return nil, err
	}
	dev.c = c
	d.printers.Add(1)
	go func() {
		defer d.printers.Done()
		for ev := range c.Events() {
			if ev.At.Before(dev.since) && ev.Type != call.EventMissed {
				// History the catch-up fills in (calls this device already
				// saw before it went offline): kept, not printed.
				dev.mu.Lock()
				dev.history++
				dev.mu.Unlock()
			} else {
				d.printf(dev.name, "%s", describe(ev))
			}
			dev.mu.Lock()
			dev.evs = append(dev.evs, ev)
			dev.mu.Unlock()
			dev.signal()
		}
	}()
	d.printf(dev.name, "online")
	d.mu.Lock()
	d.devices = append(d.devices, dev)
	d.mu.Unlock()
	select {
	case <-c.Ready():
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	dev.mu.Lock()
	n := dev.history
	dev.mu.Unlock()
	if n > 0 {
		d.printf(dev.name, "caught up with the archive (%d events of earlier calls)", n)
	}
	return dev, nil
}

func (d *demo) logout(dev *device) {
	dev.c.Close()
	d.printf(dev.name, "offline")
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, o := range d.devices {
		if o == dev {
			d.devices = append(d.devices[:i], d.devices[i+1:]...)
			break
		}
	}
}

func (d *demo) closeAll() {
	d.mu.Lock()
	devs := append([]*device(nil), d.devices...)
	d.mu.Unlock()
	for _, dev := range devs {
		dev.c.Close()
	}
	d.printers.Wait()
}

// describe is one line of the timeline.
func describe(ev call.Event) string {
	short := ev.ID
	if len(short) > 8 {
		short = short[:8]
	}
	var b strings.Builder
	switch ev.Type {
	case call.EventProposed:
		fmt.Fprintf(&b, "calls %s (%s)", ev.Peer, strings.Join(ev.Media, "+"))
	case call.EventIncoming:
		fmt.Fprintf(&b, "RINGS: %s calls (%s)", ev.Peer, strings.Join(ev.Media, "+"))
	case call.EventRinging:
		fmt.Fprintf(&b, "hears %s ringing", ev.Device)
	case call.EventProceeded:
		fmt.Fprintf(&b, "in the call, answered by %s", ev.Device)
	case call.EventRejected:
		fmt.Fprintf(&b, "declined by %s", ev.Device)
	case call.EventRetracted:
		b.WriteString("call withdrawn")
	case call.EventFinished:
		if ev.Failed {
			b.WriteString("call failed")
		} else {
			b.WriteString("call ended")
		}
	case call.EventMissed:
		fmt.Fprintf(&b, "missed call from %s", ev.Peer)
	default:
		b.WriteString(ev.Type.String())
	}
	var notes []string
	if ev.Elsewhere {
		notes = append(notes, "elsewhere")
	}
	if ev.Reason != "" {
		notes = append(notes, "reason "+ev.Reason)
	}
	if ev.TieBreak {
		notes = append(notes, "tie-break")
	}
	if ev.MigratedTo != "" {
		notes = append(notes, "moved to "+ev.MigratedTo[:min(8, len(ev.MigratedTo))])
	}
	if len(notes) > 0 {
		fmt.Fprintf(&b, " [%s]", strings.Join(notes, ", "))
	}
	fmt.Fprintf(&b, "  (%s)", short)
	// Every part but the words above comes from the network.
	return clean(b.String())
}

// expect waits until dev has seen an event of type t for id.
func (d *demo) expect(ctx context.Context, dev *device, t call.EventType, id string) (call.Event, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		dev.mu.Lock()
		for _, ev := range dev.evs {
			if ev.Type == t && ev.ID == id {
				dev.mu.Unlock()
				return ev, nil
			}
		}
		dev.mu.Unlock()
		select {
		case <-dev.got:
		case <-ctx.Done():
			return call.Event{}, fmt.Errorf("%s: no %s event for the call", dev.name, t)
		}
	}
}

func (d *demo) peer(user string) jid.JID { return jid.MustParse(user + "@" + d.srv.Domain) }

func (d *demo) answered(ctx context.Context) error {
	var err error
	if d.romeo, err = d.login(ctx, "romeo", "orchard"); err != nil {
		return err
	}
	if d.phone, err = d.login(ctx, "juliet", "phone"); err != nil {
		return err
	}
	if d.tablet, err = d.login(ctx, "juliet", "tablet"); err != nil {
		return err
	}
	h, err := d.romeo.c.Call(ctx, d.peer("juliet"), "audio")
	if err != nil {
		return err
	}
	for _, dev := range []*device{d.phone, d.tablet} {
		if _, err := d.expect(ctx, dev, call.EventIncoming, h.ID()); err != nil {
			return err
		}
	}
	if err := d.phone.c.CallByID(h.ID()).Answer(ctx); err != nil {
		return err
	}
	if _, err := d.expect(ctx, d.romeo, call.EventProceeded, h.ID()); err != nil {
		return err
	}
	ev, err := d.expect(ctx, d.tablet, call.EventProceeded, h.ID())
	if err != nil {
		return err
	}
	if !ev.Elsewhere {
		return errors.New("the tablet did not learn that the phone answered")
	}
	if err := h.HangUp(ctx, nil); err != nil {
		return err
	}
	for _, dev := range []*device{d.phone, d.tablet} {
		if _, err := d.expect(ctx, dev, call.EventFinished, h.ID()); err != nil {
			return err
		}
	}
	return nil
}

func (d *demo) declined(ctx context.Context) error {
	h, err := d.romeo.c.Call(ctx, d.peer("juliet"), "audio", "video")
	if err != nil {
		return err
	}
	if _, err := d.expect(ctx, d.tablet, call.EventIncoming, h.ID()); err != nil {
		return err
	}
	if err := d.tablet.c.CallByID(h.ID()).Decline(ctx, nil); err != nil {
		return err
	}
	if _, err := d.expect(ctx, d.romeo, call.EventRejected, h.ID()); err != nil {
		return err
	}
	_, err = d.expect(ctx, d.phone, call.EventRejected, h.ID())
	return err
}

func (d *demo) missed(ctx context.Context) error {
	d.logout(d.phone)
	d.logout(d.tablet)
	h, err := d.romeo.c.Call(ctx, d.peer("juliet"), "audio")
	if err != nil {
		return err
	}
	if err := h.Withdraw(ctx, nil); err != nil {
		return err
	}
	if d.phone, err = d.login(ctx, "juliet", "phone"); err != nil {
		return err
	}
	if _, err := d.expect(ctx, d.phone, call.EventMissed, h.ID()); err != nil {
		return err
	}
	d.phone.mu.Lock()
	defer d.phone.mu.Unlock()
	for _, e := range d.phone.evs {
		if e.Type == call.EventIncoming && e.ID == h.ID() {
			return errors.New("the phone rang for a withdrawn call")
		}
	}
	return nil
}

func (d *demo) crossed(ctx context.Context) error {
	type result struct {
		h   *client.Call
		err error
	}
	res := make(chan result, 2)
	go func() { h, err := d.romeo.c.Call(ctx, d.peer("juliet")); res <- result{h, err} }()
	go func() { h, err := d.phone.c.Call(ctx, d.peer("romeo")); res <- result{h, err} }()
	var ids []string
	for range 2 {
		r := <-res
		if r.err != nil {
			return r.err
		}
		ids = append(ids, r.h.ID())
	}
	sort.Strings(ids) // the lower id survives (XEP-0353 §4.1)
	for _, dev := range []*device{d.romeo, d.phone} {
		if _, err := d.expect(ctx, dev, call.EventProceeded, ids[0]); err != nil {
			return err
		}
		info, _, err := dev.c.CallByID(ids[1]).Info(ctx)
		if err != nil {
			return err
		}
		if info.State != call.StateEnded {
			return fmt.Errorf("%s: the other call is %s, want ended", dev.name, info.State)
		}
	}
	d.printf("demo", "exactly one call survived on both sides: %s", ids[0][:8])
	if err := d.romeo.c.CallByID(ids[0]).HangUp(ctx, nil); err != nil {
		return err
	}
	_, err := d.expect(ctx, d.phone, call.EventFinished, ids[0])
	return err
}

func (d *demo) migrated(ctx context.Context) error {
	var err error
	if d.tablet, err = d.login(ctx, "juliet", "tablet"); err != nil {
		return err
	}
	old, err := d.phone.c.Call(ctx, d.peer("romeo"))
	if err != nil {
		return err
	}
	if _, err := d.expect(ctx, d.romeo, call.EventIncoming, old.ID()); err != nil {
		return err
	}
	if err := d.romeo.c.CallByID(old.ID()).Answer(ctx); err != nil {
		return err
	}
	if _, err := d.expect(ctx, d.phone, call.EventProceeded, old.ID()); err != nil {
		return err
	}
	moved, err := d.tablet.c.Call(ctx, d.peer("romeo"))
	if err != nil {
		return err
	}
	ev, err := d.expect(ctx, d.phone, call.EventFinished, old.ID())
	if err != nil {
		return err
	}
	if ev.MigratedTo != moved.ID() {
		return fmt.Errorf("the old call ended without <migrated/> to the new one")
	}
	if _, err := d.expect(ctx, d.tablet, call.EventProceeded, moved.ID()); err != nil {
		return err
	}
	if err := moved.HangUp(ctx, nil); err != nil {
		return err
	}
	_, err = d.expect(ctx, d.romeo, call.EventFinished, moved.ID())
	return err
}

// mediaEvent notes a call's media event on its device and prints the
// media's connection and its failure on the timeline. It runs on a
// client goroutine and must not block: it takes the device's lock and
// writes a line, no more.
func (d *demo) mediaEvent(dev *device, id string, ev media.Event) {
	switch ev.Kind {
	case media.EventState:
		dev.mu.Lock()
		dev.mediaState[id] = ev.State
		dev.mu.Unlock()
		dev.signal()
		switch ev.State {
		case media.StateConnected:
			d.printf(dev.name, "media connected  (%s)", clean(shortID(id)))
		case media.StateFailed:
			d.printf(dev.name, "media failed  (%s)", clean(shortID(id)))
		}
	case media.EventICE:
		if ev.ICE == webrtc.ICEConnectionStateFailed {
			d.printf(dev.name, "media: ICE failed  (%s)", clean(shortID(id)))
		}
	case media.EventDTLS:
		if ev.DTLS == webrtc.DTLSTransportStateFailed {
			d.printf(dev.name, "media: DTLS failed  (%s)", clean(shortID(id)))
		}
	}
}

// waitDevice waits, up to a deadline, until ok (called under dev.mu)
// holds.
func (d *demo) waitDevice(ctx context.Context, dev *device, what string, ok func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		dev.mu.Lock()
		done := ok()
		dev.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-dev.got:
		case <-ctx.Done():
			return fmt.Errorf("%s: %s", dev.name, what)
		}
	}
}

// heardCheck and heardSkip are how much of the other side's audio the
// audio step checks: the last second, once there is more than half a
// second before it (the first frames may be silence, sent before the
// connection was up).
const (
	heardCheck = 8000
	heardSkip  = 4000
)

// audio is the sixth step: Romeo calls, the phone answers, and each side
// hears the other's tone over Jingle RTP.
func (d *demo) audio(ctx context.Context) error {
	h, err := d.romeo.c.Call(ctx, d.peer("juliet"), "audio")
	if err != nil {
		return err
	}
	if _, err := d.expect(ctx, d.phone, call.EventIncoming, h.ID()); err != nil {
		return err
	}
	if err := d.phone.c.CallByID(h.ID()).Answer(ctx); err != nil {
		return err
	}
	if _, err := d.expect(ctx, d.romeo, call.EventProceeded, h.ID()); err != nil {
		return err
	}
	for _, dev := range []*device{d.romeo, d.phone} {
		err := d.waitDevice(ctx, dev, "the media did not connect", func() bool {
			return dev.mediaState[h.ID()] == media.StateConnected
		})
		if err != nil {
			return err
		}
		if st, ok := dev.c.CallByID(h.ID()).MediaStats(); ok {
			d.printf(dev.name, "media: %s over %s  (%s)", codecName(st), clean(st.SelectedPair), clean(shortID(h.ID())))
		}
	}
	for _, pair := range [][2]*device{{d.romeo, d.phone}, {d.phone, d.romeo}} {
		dev, other := pair[0], pair[1]
		var heard []int16
		var rate int
		err := d.waitDevice(ctx, dev, "heard less than 1.5 s of audio", func() bool {
			a := dev.heard[h.ID()]
			if a == nil || len(a.samples) < heardSkip+heardCheck {
				return false
			}
			heard, rate = append([]int16(nil), a.samples[len(a.samples)-heardCheck:]...), a.rate
			return true
		})
		if err != nil {
			return err
		}
		f := media.Frequency(heard, rate)
		level := media.ToneLevel(heard, rate, other.tone)
		own := media.ToneLevel(heard, rate, dev.tone)
		d.printf(dev.name, "heard %.0f Hz at %.0f dBFS  (%s)", f, level, shortID(h.ID()))
		if f < other.tone*0.98 || f > other.tone*1.02 || level < -40 || level < own+20 {
			return fmt.Errorf("%s heard %.1f Hz (%.0f dBFS at %.0f Hz, %.0f dBFS at its own %.0f Hz), want the %.0f Hz tone of %s",
				dev.name, f, level, other.tone, own, dev.tone, other.tone, other.name)
		}
	}
	if err := h.HangUp(ctx, nil); err != nil {
		return err
	}
	_, err = d.expect(ctx, d.phone, call.EventFinished, h.ID())
	return err
}
