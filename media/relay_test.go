package media

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jmi-xmpp/jmi/internal/turntest"
)

// turnServers returns the TURN server of srv with credentials of secret,
// valid for an hour, as Prosody would give them.
func turnServers(srv *turntest.Server, secret, user string) []webrtc.ICEServer {
	username, password := turntest.Credentials(secret, user, time.Now().Add(time.Hour))
	return []webrtc.ICEServer{{
		URLs:           []string{"turn:" + srv.Addr() + "?transport=udp"},
		Username:       username,
		Credential:     password,
		CredentialType: webrtc.ICECredentialTypePassword,
	}}
}

// TestRelayOnly connects two RelayOnly sessions through a TURN server on
// loopback: each gathers only its relayed candidate (one allocation each),
// the selected pair is relay to relay on both sides, and the tones cross
// both ways. Without RelayOnly the same sessions pick their host
// candidates.
func TestRelayOnly(t *testing.T) {
	turn := turntest.New(t, turntest.Options{})
	calleeHeard, callerHeard := newMemorySink(25), newMemorySink(25)
	c := newCall(t,
		Config{Source: &Tone{Frequency: 440}, Sink: callerHeard, ICEServers: turnServers(turn, turn.Secret, "romeo"), RelayOnly: true},
		Config{Source: &Tone{Frequency: 660}, Sink: calleeHeard, ICEServers: turnServers(turn, turn.Secret, "juliet"), RelayOnly: true},
	)
	c.connect(t)
	checkTone(t, "callee", calleeHeard.wait(t), 8000, 440, 660)
	checkTone(t, "caller", callerHeard.wait(t), 8000, 660, 440)
	for who, s := range map[string]*Session{"caller": c.caller, "callee": c.callee} {
		st := s.Stats()
		t.Logf("%s: pair %s, %d local candidates, pairs %v", who, st.SelectedPair, st.LocalCandidates, st.Pairs)
		if !isRelayPair(st.SelectedPair) {
			t.Errorf("%s: selected pair %q, want relay on both sides", who, st.SelectedPair)
		}
		if st.LocalCandidates != 1 {
			t.Errorf("%s: %d local candidates, want the one relayed", who, st.LocalCandidates)
		}
	}
	if n := turn.Allocations(); n != 2 {
		t.Errorf("the TURN server made %d allocations (%v), want 2", n, turn.Relayed())
	}
	checkNoErrors(t, c)
}

// isRelayPair reports whether pair, as Stats.SelectedPair gives it, is
// relayed on both ends.
func isRelayPair(pair string) bool {
	local, remote, ok := strings.Cut(pair, " <-> ")
	return ok && strings.Contains(local, " relay ") && strings.Contains(remote, " relay ")
}

// TestRelayOnlyRefused: the TURN server refuses the credentials (another
// secret), so a RelayOnly session gathers no candidate at all, and both
// sessions fail once ICE's timeouts (shortened here) pass, instead of
// hanging in connecting.
func TestRelayOnlyRefused(t *testing.T) {
	turn := turntest.New(t, turntest.Options{})
	short := func(se *webrtc.SettingEngine) { se.SetICETimeouts(time.Second, 2*time.Second, 500*time.Millisecond) }
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	c := newCall(t,
		Config{ICEServers: turnServers(turn, "not-the-secret", "romeo"), RelayOnly: true, Configure: short, Logger: log},
		Config{ICEServers: turnServers(turn, "not-the-secret", "juliet"), RelayOnly: true, Configure: short, Logger: log},
	)
	c.start(t)
	c.callerEv.waitFor(t, "caller failed", isState(StateFailed))
	c.calleeEv.waitFor(t, "callee failed", isState(StateFailed))
	for who, s := range map[string]*Session{"caller": c.caller, "callee": c.callee} {
		st := s.Stats()
		if st.LocalCandidates != 0 || st.SelectedPair != "" || st.State != StateFailed {
			t.Errorf("%s: %d local candidates, pair %q, state %s: want none, none, failed", who, st.LocalCandidates, st.SelectedPair, st.State)
		}
	}
	if turn.Allocations() != 0 || turn.AuthFailures() < 2 {
		t.Errorf("the TURN server made %d allocations and refused %d requests: want none and both sessions'", turn.Allocations(), turn.AuthFailures())
	}
	const why = "relay only, and no TURN server gave a relayed candidate"
	if n := strings.Count(logs.String(), why); n != 2 {
		t.Errorf("logged %q %d times, want once per session:\n%s", why, n, logs.String())
	}
}

// syncBuffer is a bytes.Buffer for the logs of two sessions at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// BenchmarkSetupRelayOnly is BenchmarkSetup through a TURN server on
// loopback, both sides RelayOnly: the allocations, the permissions and the
// checks over the relay add to the setup (compare BenchmarkSetup).
func BenchmarkSetupRelayOnly(b *testing.B) {
	turn := turntest.New(b, turntest.Options{})
	b.ReportAllocs()
	for b.Loop() {
		c := newCall(b,
			Config{Source: &Tone{Frequency: 440}, ICEServers: turnServers(turn, turn.Secret, "romeo"), RelayOnly: true},
			Config{Source: &Tone{Frequency: 660}, ICEServers: turnServers(turn, turn.Secret, "juliet"), RelayOnly: true},
		)
		c.start(b)
		c.callerEv.waitFor(b, "caller audio", isAudio)
		c.calleeEv.waitFor(b, "callee audio", isAudio)
		b.StopTimer()
		_ = c.caller.Close()
		_ = c.callee.Close()
		b.StartTimer()
	}
}
