package extdisco_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"mellium.im/sasl"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/jmi-xmpp/jmi/extdisco"
	"github.com/jmi-xmpp/jmi/internal/prosodytest"
	"github.com/jmi-xmpp/jmi/internal/turntest"
	"github.com/jmi-xmpp/jmi/internal/xmppfix"
	"github.com/jmi-xmpp/jmi/media"
)

// deadline bounds every wait of these tests.
const deadline = 15 * time.Second

// login logs user in to srv over loopback plaintext and serves the
// session until the test ends.
func login(t *testing.T, srv *prosodytest.Server, user string) *xmpp.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	addr := jid.MustParse(user + "@" + srv.Domain + "/extdisco")
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	// Plaintext on loopback: mellium refuses SASL on a stream it does not
	// think is secure, so the session starts as Secure.
	features := []xmpp.StreamFeature{
		xmppfix.SASL("", prosodytest.Password(user), nil, sasl.ScramSha256, sasl.ScramSha1),
		xmppfix.BindResource(),
	}
	s, err := xmpp.NewSession(ctx, addr.Domain(), addr, conn, xmpp.Secure, xmpp.NewNegotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
		return xmpp.StreamConfig{Features: features}
	}))
	if err != nil {
		conn.Close()
		t.Fatalf("logging in as %s: %v", addr, err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = s.Serve(nil)
	}()
	t.Cleanup(func() {
		_ = s.Close()
		_ = conn.Close()
		<-served
	})
	return s
}

// fetch fetches the services of srv's domain on s.
func fetch(t *testing.T, s *xmpp.Session, srv *prosodytest.Server) *extdisco.Element {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	el, err := extdisco.Fetch(ctx, s, jid.MustParse(srv.Domain))
	if err != nil {
		t.Fatal(err)
	}
	return el
}

// TestFetchProsody: Prosody 0.12 with mod_external_services offers the
// STUN service as configured, and the TURN service restricted, with TURN
// REST credentials that expire after the TTL (username "EXPIRES:USER",
// password the HMAC of the secret as turntest computes it), which the
// credentials request (§3.3) gives again.
func TestFetchProsody(t *testing.T) {
	turn := turntest.New(t, turntest.Options{})
	srv := prosodytest.NewWithUsers(t, prosodytest.Options{ExternalServices: &prosodytest.ExternalServices{
		Host: turn.Host, Port: turn.Port, Secret: turn.Secret, User: "jmi", TTL: time.Hour,
	}}, "romeo")
	s := login(t, srv, "romeo")
	before := time.Now()
	el := fetch(t, s, srv)
	if len(el.Skipped) != 0 || len(el.Services) != 2 {
		t.Fatalf("services %v, skipped %v: want a STUN and a TURN service", el.Services, el.Skipped)
	}
	stun, turnSvc := el.Services[0], el.Services[1]
	t.Logf("Prosody offers %s and %s, username %q, expires %s", stun, turnSvc, turnSvc.Username, turnSvc.Expires.Format(time.RFC3339))
	want := extdisco.Service{Type: "stun", Host: turn.Host, Port: uint16(turn.Port), Transport: "udp"}
	if stun != want {
		t.Errorf("STUN service %+v, want %+v", stun, want)
	}
	checkTURN(t, turnSvc, turn, before)

	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	creds, err := extdisco.Credentials(ctx, extdisco.Session(s), jid.MustParse(srv.Domain), []extdisco.Service{{Type: "turn", Host: turn.Host, Port: uint16(turn.Port)}})
	if err != nil {
		t.Fatal(err)
	}
	if len(creds.Services) != 1 || !creds.Credentials {
		t.Fatalf("credentials answer %+v: want the TURN service", creds)
	}
	checkTURN(t, creds.Services[0], turn, before)

	servers, skipped := extdisco.ICEServers(el.Services, time.Now())
	if len(skipped) != 0 || len(servers) != 2 {
		t.Fatalf("ICE servers %v, skipped %v", servers, skipped)
	}
	addr := turn.Addr()
	if servers[0].URLs[0] != "stun:"+addr || servers[1].URLs[0] != "turn:"+addr+"?transport=udp" || servers[1].Username != turnSvc.Username {
		t.Errorf("ICE servers %+v", servers)
	}
}

// checkTURN checks a TURN service as Prosody gives it for turn's secret,
// the user "jmi" and a TTL of an hour from about before.
func checkTURN(t *testing.T, svc extdisco.Service, turn *turntest.Server, before time.Time) {
	t.Helper()
	if svc.Type != "turn" || svc.Host != turn.Host || int(svc.Port) != turn.Port || svc.Transport != "udp" || !svc.Restricted {
		t.Errorf("TURN service %+v", svc)
	}
	exp, user, _ := strings.Cut(svc.Username, ":")
	secs, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || user != "jmi" {
		t.Fatalf("TURN username %q: want EXPIRES:jmi", svc.Username)
	}
	expires := time.Unix(secs, 0)
	if _, pw := turntest.Credentials(turn.Secret, "jmi", expires); pw != svc.Password {
		t.Errorf("TURN password %q, want %q (base64 of the HMAC-SHA1 of the username)", svc.Password, pw)
	}
	if !svc.Expires.Equal(expires) {
		t.Errorf("expires %s, the username's %s", svc.Expires, expires)
	}
	if d := expires.Sub(before); d < time.Hour-2*time.Second || d > time.Hour+5*time.Second {
		t.Errorf("the credentials expire %s after the request, want an hour", d)
	}
}

// TestFetchNoServices: a Prosody without mod_external_services answers
// service-unavailable, which Fetch returns as ErrNotSupported.
func TestFetchNoServices(t *testing.T) {
	srv := prosodytest.NewWithUsers(t, prosodytest.Options{}, "romeo")
	s := login(t, srv, "romeo")
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	_, err := extdisco.Fetch(ctx, s, jid.MustParse(srv.Domain))
	if !errors.Is(err, extdisco.ErrNotSupported) || !errors.Is(err, stanza.Error{Condition: stanza.ServiceUnavailable}) {
		t.Fatalf("Fetch = %v, want ErrNotSupported and service-unavailable", err)
	}
}

// TestRelayCallThroughProsody is the whole chain on loopback: Prosody
// offers the TURN server of internal/turntest through XEP-0215, each side
// fetches its services and turns them into ICE servers, and two RelayOnly
// media sessions connect through the TURN server: the selected pair is
// relay to relay on both sides, the tones cross both ways, and the TURN
// server made one allocation per side.
func TestRelayCallThroughProsody(t *testing.T) {
	turn := turntest.New(t, turntest.Options{})
	srv := prosodytest.NewWithUsers(t, prosodytest.Options{ExternalServices: &prosodytest.ExternalServices{
		Host: turn.Host, Port: turn.Port, Secret: turn.Secret, User: "jmi", TTL: time.Hour,
	}}, "romeo", "juliet")
	start := time.Now()
	romeo := iceServers(t, login(t, srv, "romeo"), srv)
	juliet := iceServers(t, login(t, srv, "juliet"), srv)
	c := connect(t, media.Config{ICEServers: romeo, RelayOnly: true}, media.Config{ICEServers: juliet, RelayOnly: true}, 440, 660)
	c.waitState(t, media.StateConnected)
	heardByJuliet, heardByRomeo := c.calleeSink.wait(t), c.callerSink.wait(t)
	t.Logf("connected through TURN and heard both ways %s after the first fetch", time.Since(start).Round(time.Millisecond))
	checkTone(t, "juliet", heardByJuliet, 440)
	checkTone(t, "romeo", heardByRomeo, 660)
	for who, s := range map[string]*media.Session{"romeo": c.caller, "juliet": c.callee} {
		st := s.Stats()
		t.Logf("%s: pair %s", who, st.SelectedPair)
		local, remote, _ := strings.Cut(st.SelectedPair, " <-> ")
		if !strings.Contains(local, " relay ") || !strings.Contains(remote, " relay ") {
			t.Errorf("%s: selected pair %q, want relay on both sides", who, st.SelectedPair)
		}
	}
	if n := turn.Allocations(); n != 2 {
		t.Errorf("the TURN server made %d allocations (%v), want one per side", n, turn.Relayed())
	}
}

// TestRelayCallWrongSecret: Prosody's secret is not the TURN server's, so
// the credentials it gives are refused: no relayed candidate, and both
// RelayOnly sessions fail once ICE's timeouts (shortened) pass, no hang.
func TestRelayCallWrongSecret(t *testing.T) {
	turn := turntest.New(t, turntest.Options{})
	srv := prosodytest.NewWithUsers(t, prosodytest.Options{ExternalServices: &prosodytest.ExternalServices{
		Host: turn.Host, Port: turn.Port, Secret: "not-" + turn.Secret, User: "jmi", TTL: time.Hour,
	}}, "romeo", "juliet")
	romeo := iceServers(t, login(t, srv, "romeo"), srv)
	juliet := iceServers(t, login(t, srv, "juliet"), srv)
	short := func(se *webrtc.SettingEngine) { se.SetICETimeouts(time.Second, 2*time.Second, 500*time.Millisecond) }
	start := time.Now()
	c := connect(t, media.Config{ICEServers: romeo, RelayOnly: true, Configure: short}, media.Config{ICEServers: juliet, RelayOnly: true, Configure: short}, 440, 660)
	c.waitState(t, media.StateFailed)
	t.Logf("both sessions failed %s after the offer", time.Since(start).Round(time.Millisecond))
	for who, s := range map[string]*media.Session{"romeo": c.caller, "juliet": c.callee} {
		if st := s.Stats(); st.LocalCandidates != 0 || st.SelectedPair != "" {
			t.Errorf("%s: %d local candidates, pair %q: want none", who, st.LocalCandidates, st.SelectedPair)
		}
	}
	if turn.Allocations() != 0 || turn.AuthFailures() < 2 {
		t.Errorf("the TURN server made %d allocations and refused %d requests: want none, and each side refused", turn.Allocations(), turn.AuthFailures())
	}
}

// iceServers fetches the services on s and returns their ICE servers.
func iceServers(t *testing.T, s *xmpp.Session, srv *prosodytest.Server) []webrtc.ICEServer {
	t.Helper()
	el := fetch(t, s, srv)
	servers, skipped := extdisco.ICEServers(el.Services, time.Now())
	if len(el.Skipped) != 0 || len(skipped) != 0 || len(servers) != 2 {
		t.Fatalf("services %v (skipped %v): ICE servers %v (skipped %v)", el.Services, el.Skipped, servers, skipped)
	}
	return servers
}

// pair is two media sessions connected directly (what the client does
// through Jingle IQs is the client's own test).
type pair struct {
	caller, callee         *media.Session
	callerEv, calleeEv     chan media.Event
	callerSink, calleeSink *sink
}

// connect makes the caller and callee sessions of a and b, sending tones
// of callerHz and calleeHz, and runs offer, answer and accept, with the
// candidates trickled both ways.
func connect(t *testing.T, a, b media.Config, callerHz, calleeHz float64) *pair {
	t.Helper()
	p := &pair{
		callerEv: make(chan media.Event, 256), calleeEv: make(chan media.Event, 256),
		callerSink: newSink(25), calleeSink: newSink(25),
	}
	var toCallee, toCaller *media.Session
	var mu sync.Mutex
	forward := func(events chan media.Event, to **media.Session) func(media.Event) {
		return func(ev media.Event) {
			if ev.Kind == media.EventCandidate {
				mu.Lock()
				s := *to
				mu.Unlock()
				if err := s.AddRemoteCandidate(ev.Content, ev.Candidate); err != nil && !errors.Is(err, media.ErrClosed) {
					t.Errorf("candidate %+v: %v", ev.Candidate, err)
				}
				return
			}
			select {
			case events <- ev:
			default:
				t.Errorf("event buffer full")
			}
		}
	}
	a.Role, b.Role = media.Initiator, media.Responder
	a.LoopbackOnly, b.LoopbackOnly = true, true
	a.Source, b.Source = &media.Tone{Frequency: callerHz}, &media.Tone{Frequency: calleeHz}
	a.Sink, b.Sink = p.callerSink, p.calleeSink
	a.OnEvent, b.OnEvent = forward(p.callerEv, &toCallee), forward(p.calleeEv, &toCaller)
	var err error
	if p.caller, err = media.NewSession(a); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.caller.Close() })
	if p.callee, err = media.NewSession(b); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.callee.Close() })
	mu.Lock()
	toCallee, toCaller = p.callee, p.caller
	mu.Unlock()
	offer, err := p.caller.Offer()
	if err != nil {
		t.Fatal(err)
	}
	p.caller.Started()
	answer, err := p.callee.Answer(offer)
	if err != nil {
		t.Fatal(err)
	}
	p.callee.Started()
	if err := p.caller.Accept(answer); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitState waits until both sessions reached st.
func (p *pair) waitState(t *testing.T, st media.State) {
	t.Helper()
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	for who, ch := range map[string]chan media.Event{"caller": p.callerEv, "callee": p.calleeEv} {
		var seen []string
		for done := false; !done; {
			select {
			case ev := <-ch:
				seen = append(seen, ev.Kind.String()+":"+ev.State.String())
				done = ev.Kind == media.EventState && ev.State == st
			case <-timer.C:
				t.Fatalf("%s: not %s within %s; events %v", who, st, deadline, seen)
			}
		}
	}
}

// sink keeps the samples heard and says when it has enough frames.
type sink struct {
	mu      sync.Mutex
	samples []int16
	frames  int
	want    int
	enough  chan struct{}
}

func newSink(frames int) *sink { return &sink{want: frames, enough: make(chan struct{})} }

func (s *sink) WriteFrame(samples []int16, _ int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, samples...)
	if s.frames++; s.frames == s.want {
		close(s.enough)
	}
	return nil
}

func (s *sink) wait(t *testing.T) []int16 {
	t.Helper()
	select {
	case <-s.enough:
	case <-time.After(deadline):
		t.Fatalf("fewer than %d frames heard within %s", s.want, deadline)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int16(nil), s.samples...)
}

// checkTone checks that samples, at 8000 Hz, hold a tone of hz.
func checkTone(t *testing.T, who string, samples []int16, hz float64) {
	t.Helper()
	f := media.Frequency(samples, 8000)
	t.Logf("%s heard %.1f Hz", who, f)
	if f < hz-2 || f > hz+2 {
		t.Errorf("%s heard %.1f Hz, want %.0f", who, f, hz)
	}
}

// TestFetchProsodyDefaultTTL: for a service with a secret and no ttl,
// Prosody 0.12 computes the credentials for its default of a day but
// writes no expires attribute; the expiry is in the username alone.
func TestFetchProsodyDefaultTTL(t *testing.T) {
	turn := turntest.New(t, turntest.Options{})
	srv := prosodytest.NewWithUsers(t, prosodytest.Options{ExternalServices: &prosodytest.ExternalServices{
		Host: turn.Host, Port: turn.Port, Secret: turn.Secret,
	}}, "romeo")
	before := time.Now()
	el := fetch(t, login(t, srv, "romeo"), srv)
	if len(el.Services) != 2 {
		t.Fatalf("services %v, skipped %v", el.Services, el.Skipped)
	}
	svc := el.Services[1]
	t.Logf("TURN service %s, username %q, expires %v", svc, svc.Username, svc.Expires)
	secs, err := strconv.ParseInt(svc.Username, 10, 64)
	if err != nil {
		t.Fatalf("username %q: want the expiry alone", svc.Username)
	}
	if d := time.Unix(secs, 0).Sub(before); d < 24*time.Hour-2*time.Second || d > 24*time.Hour+5*time.Second {
		t.Errorf("the username expires %s after the request, want a day", d)
	}
	if !svc.Expires.IsZero() {
		t.Errorf("expires %s: Prosody 0.12 was seen to write none without a ttl", svc.Expires)
	}
	if got := svc.ExpiresAt(); !got.Equal(time.Unix(secs, 0)) {
		t.Errorf("ExpiresAt = %s, want the username's %s", got, time.Unix(secs, 0))
	}
	if r := extdisco.Refresh(el.Services, before); r.Sub(before) < 12*time.Hour-time.Second || r.Sub(before) > 12*time.Hour+5*time.Second {
		t.Errorf("Refresh = %s, want half a day after %s", r, before)
	}
}

// TestLookupICEServers: the client's one call, against a Prosody with
// external services (two ICE servers, a refresh half-way to the expiry,
// nothing logged at Warn) and one without (no servers, no error, the
// reason at Debug).
func TestLookupICEServers(t *testing.T) {
	turn := turntest.New(t, turntest.Options{})
	with := prosodytest.NewWithUsers(t, prosodytest.Options{ExternalServices: &prosodytest.ExternalServices{
		Host: turn.Host, Port: turn.Port, Secret: turn.Secret, User: "jmi", TTL: time.Hour,
	}}, "romeo")
	without := prosodytest.NewWithUsers(t, prosodytest.Options{}, "romeo")
	for _, tc := range []struct {
		name    string
		srv     *prosodytest.Server
		servers int
		refresh time.Duration
		logged  string
	}{
		{"with services", with, 2, 30 * time.Minute, ""},
		{"without services", without, 0, 0, "level=DEBUG msg=\"extdisco: no STUN or TURN from the server\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs strings.Builder
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			s := login(t, tc.srv, "romeo")
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			now := time.Now()
			servers, refresh, err := extdisco.LookupICEServers(ctx, extdisco.Session(s), jid.MustParse(tc.srv.Domain), now, log)
			if err != nil {
				t.Fatal(err)
			}
			if len(servers) != tc.servers {
				t.Errorf("%d ICE servers %v, want %d", len(servers), servers, tc.servers)
			}
			if d := refresh.Sub(now); tc.refresh == 0 && !refresh.IsZero() || tc.refresh != 0 && (d < tc.refresh-2*time.Second || d > tc.refresh+5*time.Second) {
				t.Errorf("refresh %s after now, want %s", d, tc.refresh)
			}
			if strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), tc.logged) {
				t.Errorf("logged %q, want no warning and %q", logs.String(), tc.logged)
			}
		})
	}
}
