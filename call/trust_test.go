package call_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
	"mellium.im/xmpp/jid"
)

// TestHangUpRaces: hanging up at the moment the other side does is success
// (§3.7: both parties send finish; whichever comes first ends the call).
func TestHangUpRaces(t *testing.T) {
	cases := []struct {
		name  string
		self  jid.JID
		steps []step
	}{
		{
			name: "§3.7 callee: the caller's finish crossed our hang-up->UserFinish succeeds, sends nothing more",
			self: julietPhone,
			steps: []step{
				{0, sig(romeoOrchard, juliet, call.ViaLive, propose("c1")), []string{"send romeo@montague.example/orchard ringing c1", "event incoming c1 device=romeo@montague.example/orchard"}},
				{time.Second, call.UserProceed{ID: "c1"}, []string{"send romeo@montague.example/orchard proceed c1", "send juliet@capulet.example accept c1", "presence romeo@montague.example/orchard", "event proceeded c1 device=juliet@capulet.example/phone"}},
				{time.Minute, sig(romeoOrchard, julietPhone, call.ViaLive, &jmi.Finish{ID: "c1", Reason: &jmi.Reason{Condition: jmi.Success}}), []string{"send romeo@montague.example/orchard finish c1 reason=success", "event finished c1 device=romeo@montague.example/orchard reason=success"}},
				{time.Minute, call.UserFinish{ID: "c1"}, nil},
			},
		},
		{
			name: "§3.7 caller: the callee's finish crossed our hang-up->UserFinish succeeds; a second hang-up too",
			self: romeoOrchard,
			steps: []step{
				{0, call.UserPropose{To: juliet, ID: "c1", Descriptions: audio, PresenceShared: true}, []string{"send juliet@capulet.example propose c1", "event proposed c1"}},
				{time.Second, sig(julietPhone, romeoOrchard, call.ViaLive, &jmi.Proceed{ID: "c1"}), []string{"event proceeded c1 device=juliet@capulet.example/phone"}},
				{time.Minute, sig(julietPhone, romeoOrchard, call.ViaLive, &jmi.Finish{ID: "c1"}), []string{"send juliet@capulet.example/phone finish c1 reason=success", "event finished c1 device=juliet@capulet.example/phone"}},
				{time.Minute, call.UserFinish{ID: "c1"}, nil},
				{time.Minute, call.UserFinish{ID: "c1"}, nil},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { run(t, machine(tc.self), tc.steps) })
	}
	// Still an error: hanging up a call that was never answered here.
	m := machine(julietTablet)
	run(t, m, []step{
		{0, sig(romeoOrchard, juliet, call.ViaLive, propose("c1")), []string{"send romeo@montague.example/orchard ringing c1", "event incoming c1 device=romeo@montague.example/orchard"}},
		{time.Second, sig(julietPhone, romeoOrchard, call.ViaSentCarbon, &jmi.Proceed{ID: "c1"}), []string{"event proceeded c1 device=juliet@capulet.example/phone elsewhere"}},
		{time.Minute, sig(romeoOrchard, julietPhone, call.ViaReceivedCarbon, &jmi.Finish{ID: "c1"}), []string{"event finished c1 device=romeo@montague.example/orchard elsewhere"}},
	})
	if _, err := m.Handle(t0.Add(time.Minute), call.UserFinish{ID: "c1"}); err == nil {
		t.Error("hanging up a call answered on another device succeeded")
	}
}

// TestRecoveredCall: after a restart, the catch-up gives back this device's
// own answer (or its own propose and the answer to it): the call was
// answered here, so this device may hang it up, and answers the peer's
// finish (§3.3, §3.7).
func TestRecoveredCall(t *testing.T) {
	cases := []struct {
		name  string
		self  jid.JID
		steps []step
	}{
		{
			name: "§3.3 §3.7 callee restarted: our own proceed read back->UserFinish sends finish to the caller",
			self: julietPhone,
			steps: []step{
				{time.Hour, call.CatchUpStarted{}, nil},
				{time.Hour, stamped(sig(romeoOrchard, juliet, call.ViaArchive, propose("c1")), 0), nil},
				{time.Hour, stamped(sig(julietPhone, romeoOrchard, call.ViaArchive, &jmi.Proceed{ID: "c1"}), time.Second), []string{"event proceeded c1 device=juliet@capulet.example/phone"}},
				{time.Hour, call.CatchUpEnded{}, nil},
				{time.Hour, call.UserFinish{ID: "c1"}, []string{"send romeo@montague.example/orchard finish c1 reason=success", "event finished c1 device=juliet@capulet.example/phone reason=success"}},
				// Our own finish, read back in a later catch-up: no effect.
				{time.Hour, call.CatchUpStarted{}, nil},
				{time.Hour, sig(julietPhone, romeoOrchard, call.ViaArchive, &jmi.Finish{ID: "c1"}), nil},
				{time.Hour, call.CatchUpEnded{}, nil},
			},
		},
		{
			name: "§3.7 callee restarted: the caller hangs up->we answer with our finish",
			self: julietPhone,
			steps: []step{
				{time.Hour, call.CatchUpStarted{}, nil},
				{time.Hour, stamped(sig(romeoOrchard, juliet, call.ViaArchive, propose("c1")), 0), nil},
				{time.Hour, stamped(sig(julietPhone, romeoOrchard, call.ViaArchive, &jmi.Proceed{ID: "c1"}), time.Second), []string{"event proceeded c1 device=juliet@capulet.example/phone"}},
				{time.Hour, call.CatchUpEnded{}, nil},
				{time.Hour, sig(romeoOrchard, julietPhone, call.ViaLive, &jmi.Finish{ID: "c1"}), []string{"send romeo@montague.example/orchard finish c1 reason=success", "event finished c1 device=romeo@montague.example/orchard"}},
			},
		},
		{
			name: "§3.3 §3.7 caller restarted: our own propose and its answer read back->UserFinish sends finish to the callee",
			self: romeoOrchard,
			steps: []step{
				{time.Hour, call.CatchUpStarted{}, nil},
				{time.Hour, stamped(sig(romeoOrchard, juliet, call.ViaArchive, propose("c1")), 0), []string{"event proposed c1"}},
				{time.Hour, stamped(sig(julietPhone, romeoOrchard, call.ViaArchive, &jmi.Proceed{ID: "c1"}), time.Second), []string{"event proceeded c1 device=juliet@capulet.example/phone"}},
				{time.Hour, call.CatchUpEnded{}, nil},
				{time.Hour, call.UserFinish{ID: "c1"}, []string{"send juliet@capulet.example/phone finish c1 reason=success", "event finished c1 device=romeo@montague.example/orchard reason=success"}},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { run(t, machine(tc.self), tc.steps) })
	}
}

// TestStrangersNoise: a stranger's signal for a call this device does not
// know creates nothing and is ignored with a reason, or, where it may
// legitimately come before its propose (a copy of a message to another
// device of ours, the archive, catch-up), is kept silently: nothing reaches
// the application (and so the history) unless the propose is seen or a
// device of this account acts on the call.
func TestStrangersNoise(t *testing.T) {
	ignoredCases := []struct {
		name   string
		s      call.Signal
		reason string
		class  call.IgnoreReason
	}{
		{"§3.4 proceed to this device, live->ignored", sig(tybalt, julietPhone, call.ViaLive, &jmi.Proceed{ID: "x"}), "unknown call", call.IgnoreUnknownCall},
		{"§3.4 proceed to this device, offline storage->ignored", sig(tybalt, julietPhone, call.ViaOffline, &jmi.Proceed{ID: "x"}), "unknown call", call.IgnoreUnknownCall},
		{"§3.4 legacy accept from a stranger->ignored", sig(tybalt, julietPhone, call.ViaLive, &jmi.Accept{ID: "x"}), "unknown call", call.IgnoreUnknownCall},
		{"§3.5 reject to this device, live->ignored", sig(tybalt, julietPhone, call.ViaLive, &jmi.Reject{ID: "x"}), "unknown call", call.IgnoreUnknownCall},
		{"§3.3 retract to our bare JID, live->ignored", sig(tybalt, juliet, call.ViaLive, &jmi.Retract{ID: "x"}), "unknown call", call.IgnoreUnknownCall},
		{"§3.3 retract from offline storage->ignored", sig(tybalt, juliet, call.ViaOffline, &jmi.Retract{ID: "x"}), "unknown call", call.IgnoreUnknownCall},
		{"§3.2 ringing->ignored", sig(tybalt, julietPhone, call.ViaLive, &jmi.Ringing{ID: "x"}), "unknown call", call.IgnoreUnknownCall},
		{"§3.7 finish->ignored", sig(tybalt, julietPhone, call.ViaLive, &jmi.Finish{ID: "x"}), "unknown call", call.IgnoreUnknownCall},
		{"§3.4 proceed to another account->ignored", sig(tybalt, romeoOrchard, call.ViaReceivedCarbon, &jmi.Proceed{ID: "x"}), "unknown call", call.IgnoreUnknownCall},
	}
	for _, tc := range ignoredCases {
		t.Run(tc.name, func(t *testing.T) {
			m := machine(julietPhone)
			got, err := m.Handle(t0, tc.s)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("got %v, want one ignored event", render(got))
			}
			if ev := got[0].(call.Notify).Event; ev.Type != call.EventIgnored || !strings.Contains(ev.Reason, tc.reason) || ev.Ignored != tc.class {
				t.Fatalf("got %s %v %q, want ignored %v with %q", ev.Type, ev.Ignored, ev.Reason, tc.class, tc.reason)
			}
			if n := len(m.Calls()); n != 0 {
				t.Errorf("%d calls remembered, want none", n)
			}
		})
	}

	silentCases := []struct {
		name string
		s    call.Signal
	}{
		{"§3.4 received carbon of a stranger's proceed to another device of ours", sig(tybalt, julietTablet, call.ViaReceivedCarbon, &jmi.Proceed{ID: "x"})},
		{"§3.4 a stranger's proceed to our bare JID", sig(tybalt, juliet, call.ViaLive, &jmi.Proceed{ID: "x"})},
		{"§3.5 a stranger's reject in the archive", sig(tybalt, julietTablet, call.ViaArchive, &jmi.Reject{ID: "x"})},
		{"§3.3 a stranger's retract in the archive", sig(tybalt, juliet, call.ViaArchive, &jmi.Retract{ID: "x"})},
	}
	for _, tc := range silentCases {
		t.Run(tc.name+"->silent, then forgotten", func(t *testing.T) {
			m := machine(julietPhone)
			var all []call.Effect
			for _, in := range []struct {
				at time.Duration
				in call.Input
			}{
				{0, tc.s},
				{time.Minute, call.Tick{}},
				{call.DefaultSessionTimeout, call.Tick{}},
				{2 * call.DefaultSessionTimeout, call.Tick{}},
			} {
				effs, err := m.Handle(t0.Add(in.at), in.in)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, effs...)
			}
			if len(all) != 0 {
				t.Errorf("a stranger's signal gave %v, want nothing", render(all))
			}
			if n := len(m.Calls()); n != 0 {
				t.Errorf("%d calls remembered after two days, want none", n)
			}
		})
	}

	legitimate := []struct {
		name  string
		self  jid.JID
		steps []step
	}{
		{
			name: "§3.4 caller's other device: the answer by received carbon before the sent carbon of the propose->told in order once the propose is seen",
			self: romeoPDA,
			steps: []step{
				{0, sig(julietPhone, romeoOrchard, call.ViaReceivedCarbon, &jmi.Ringing{ID: "c1"}), []string{"event ignored c1 class=unknown-call device=juliet@capulet.example/phone reason=ringing for an unknown call"}},
				{time.Second, sig(julietPhone, romeoOrchard, call.ViaReceivedCarbon, &jmi.Proceed{ID: "c1"}), nil},
				{time.Second, sig(romeoOrchard, juliet, call.ViaSentCarbon, propose("c1")), []string{"event proposed c1 elsewhere", "event proceeded c1 device=juliet@capulet.example/phone elsewhere"}},
				{time.Minute, sig(julietPhone, romeoOrchard, call.ViaReceivedCarbon, &jmi.Finish{ID: "c1"}), []string{"event finished c1 device=juliet@capulet.example/phone elsewhere"}},
			},
		},
		{
			name: "§3.4 caller's other device: the answer to our bare JID (0.6/0.7) first, then the caller's own finish->told once our device acts",
			self: romeoPDA,
			steps: []step{
				{0, sig(julietPhone, romeo, call.ViaLive, &jmi.Proceed{ID: "c1"}), nil},
				{time.Minute, sig(romeoOrchard, julietPhone, call.ViaSentCarbon, &jmi.Finish{ID: "c1"}), []string{"event proceeded c1 device=juliet@capulet.example/phone elsewhere", "event finished c1 device=romeo@montague.example/orchard elsewhere"}},
			},
		},
		{
			name: "§3.3 §5 catch-up: the live retract before the archive's propose->missed, told when the propose is seen; nothing rings",
			self: julietPhone,
			steps: []step{
				{0, call.CatchUpStarted{}, nil},
				{10 * time.Second, sig(romeoOrchard, juliet, call.ViaLive, &jmi.Retract{ID: "c1"}), nil},
				{10 * time.Second, stamped(sig(romeoOrchard, juliet, call.ViaArchive, propose("c1")), 0), []string{"event missed c1 device=romeo@montague.example/orchard"}},
				{10 * time.Second, call.CatchUpEnded{}, nil},
			},
		},
	}
	for _, tc := range legitimate {
		t.Run(tc.name, func(t *testing.T) { run(t, machine(tc.self), tc.steps) })
	}
}

// TestUntrustedLimits: a stranger's flood is bounded per sender and in all;
// what a limit drops has no effect but one summary per ring window; the
// oldest untrusted calls that ended make room first; trusted callers are
// never dropped.
func TestUntrustedLimits(t *testing.T) {
	limits := func(c *call.Config) { c.MaxUntrustedPerPeer, c.MaxUntrusted = 3, 5 }
	m := machine(julietPhone, limits)
	handle := func(at time.Duration, in call.Input) []string {
		t.Helper()
		effs, err := m.Handle(t0.Add(at), in)
		if err != nil {
			t.Fatal(err)
		}
		return render(effs)
	}
	stranger := func(n int) jid.JID { return jid.MustParse(fmt.Sprintf("stranger%d@evil.example/x", n)) }
	// 1. Ten proposes from Tybalt: three are kept (silently, §6), seven
	// dropped without a trace.
	for i := range 10 {
		if got := handle(0, untrusted(sig(tybalt, juliet, call.ViaLive, propose(fmt.Sprint("t", i))))); len(got) != 0 {
			t.Fatalf("untrusted propose %d gave %v, want nothing", i, got)
		}
	}
	if n := len(m.Calls()); n != 3 {
		t.Fatalf("%d calls remembered, want the limit per sender, 3", n)
	}
	// 2. Romeo, trusted, still rings, and is never counted.
	for i := range 4 {
		id := fmt.Sprint("r", i)
		want := []string{"send romeo@montague.example/orchard ringing " + id, "event incoming " + id + " device=romeo@montague.example/orchard"}
		if got := handle(time.Second, sig(romeoOrchard, juliet, call.ViaLive, propose(id))); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatalf("trusted propose during the flood: got %v, want %v", got, want)
		}
		handle(time.Second, sig(romeoOrchard, juliet, call.ViaLive, &jmi.Retract{ID: id}))
	}
	// 3. Strangers 1 and 2 bring the untrusted calls to the limit of 5;
	// stranger 3 is dropped too.
	for i := 1; i <= 3; i++ {
		handle(2*time.Second, untrusted(sig(stranger(i), juliet, call.ViaLive, propose(fmt.Sprint("s", i)))))
	}
	if _, ok := m.Call("s3"); ok {
		t.Error("the sixth untrusted call was kept, over the limit of 5 in all")
	}
	// 4. One ring window after the first drop: the three kept calls of
	// Tybalt are missed, and one summary counts the eight drops, from two
	// senders (so it names none).
	got := handle(call.DefaultRingWindow, call.Tick{})
	want := []string{
		"event ignored  class=over-limit reason=8 signals from untrusted senders dropped: over the limit of 3 untrusted calls per sender or 5 in all",
		"event missed t0 device=tybalt@capulet.example/sword reason=untrusted",
		"event missed t1 device=tybalt@capulet.example/sword reason=untrusted",
		"event missed t2 device=tybalt@capulet.example/sword reason=untrusted",
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("after the ring window:\n got %s\nwant %s", strings.Join(got, "\n     "), strings.Join(want, "\n     "))
	}
	// 5. Tybalt again: his oldest ended call is forgotten to make room, so
	// the new one is kept, and he still has at most 3.
	handle(call.DefaultRingWindow+time.Second, untrusted(sig(tybalt, juliet, call.ViaLive, propose("t10"))))
	if _, ok := m.Call("t10"); !ok {
		t.Error("a new untrusted call was dropped though an ended one could be forgotten")
	}
	if _, ok := m.Call("t0"); ok {
		t.Error("the oldest ended untrusted call is still remembered")
	}
	tybalts := 0
	for _, c := range m.Calls() {
		if c.Peer.Equal(tybalt.Bare()) {
			tybalts++
		}
	}
	if tybalts != 3 {
		t.Errorf("%d calls of Tybalt remembered, want 3", tybalts)
	}
	// 6. Answered by the user, an untrusted call no longer counts.
	handle(call.DefaultRingWindow+2*time.Second, call.UserProceed{ID: "t10"})
	handle(call.DefaultRingWindow+2*time.Second, untrusted(sig(tybalt, juliet, call.ViaLive, propose("t11"))))
	handle(call.DefaultRingWindow+2*time.Second, untrusted(sig(tybalt, juliet, call.ViaLive, propose("t12"))))
	for _, id := range []string{"t10", "t11", "t12"} {
		if _, ok := m.Call(id); !ok {
			t.Errorf("call %s not remembered", id)
		}
	}
}

// TestTrustedEarlyAnswerNotDropped: at the limit of untrusted calls, the
// answer of a trusted callee by carbon, before the propose of our other
// device, still opens its call (Signal.Trusted on a non-propose signal).
func TestTrustedEarlyAnswerNotDropped(t *testing.T) {
	m := machine(romeoPDA, func(c *call.Config) { c.MaxUntrustedPerPeer, c.MaxUntrusted = 1, 1 })
	run(t, m, []step{
		{0, untrusted(sig(tybalt, romeo, call.ViaLive, propose("t1"))), nil},
		{0, untrusted(sig(julietPhone, romeoOrchard, call.ViaReceivedCarbon, &jmi.Proceed{ID: "u1"})), nil},
		{0, sig(julietPhone, romeoOrchard, call.ViaReceivedCarbon, &jmi.Proceed{ID: "c1"}), nil},
		{time.Second, sig(romeoOrchard, juliet, call.ViaSentCarbon, propose("c1")), []string{"event proposed c1 elsewhere", "event proceeded c1 device=juliet@capulet.example/phone elsewhere"}},
	})
	if _, ok := m.Call("u1"); ok {
		t.Error("an untrusted early answer was kept over the limit")
	}
}

// TestOverflowSummaryNamesTheSender: a flood from one sender is summed up
// once, naming it, with Count; nothing for a quiet window after.
func TestOverflowSummaryNamesTheSender(t *testing.T) {
	m := machine(julietPhone, func(c *call.Config) { c.MaxUntrustedPerPeer = 2 })
	for i := range 100 {
		if _, err := m.Handle(t0.Add(time.Duration(i)*time.Millisecond), untrusted(sig(tybalt, juliet, call.ViaLive, propose(fmt.Sprint("t", i))))); err != nil {
			t.Fatal(err)
		}
	}
	// The two kept calls are missed at the end of their ring window; the
	// summary is due one ring window after the first drop.
	if _, err := m.Handle(t0.Add(call.DefaultRingWindow+time.Millisecond), call.Tick{}); err != nil {
		t.Fatal(err)
	}
	if dl := m.NextDeadline(); !dl.Equal(t0.Add(2 * time.Millisecond).Add(call.DefaultRingWindow)) {
		t.Errorf("next deadline %v, want one ring window after the first drop", dl)
	}
	effs, err := m.Handle(t0.Add(call.DefaultRingWindow+time.Second), call.Tick{})
	if err != nil {
		t.Fatal(err)
	}
	var summaries []call.Event
	for _, e := range effs {
		if n, ok := e.(call.Notify); ok && n.Event.Type == call.EventIgnored {
			summaries = append(summaries, n.Event)
		}
	}
	if len(summaries) != 1 || summaries[0].Count != 98 || !summaries[0].Peer.Equal(tybalt.Bare()) || summaries[0].ID != "" {
		t.Fatalf("summaries %+v, want one with Count 98 naming %s", summaries, tybalt.Bare())
	}
	if effs, _ := m.Handle(t0.Add(3*call.DefaultRingWindow), call.Tick{}); len(effs) != 0 {
		t.Errorf("a second summary with nothing dropped: %v", render(effs))
	}
}
