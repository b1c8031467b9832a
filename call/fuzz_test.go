package call_test

import (
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
	"mellium.im/xmpp/jid"
)

// FuzzMachine turns bytes into a sequence of inputs (signals of every kind
// from every kind of sender, by every path, user actions, catch-up, time)
// and checks that the engine never panics, that an error leaves no effect,
// that at most one call is active on this device per peer, that nothing
// rings past its ring window, and that NextDeadline agrees with a scan of
// every call after every input.
func FuzzMachine(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3})
	f.Add([]byte{9, 1, 0, 0, 2, 0, 4, 1, 0, 8, 0, 0, 3, 2, 1})
	f.Add([]byte("propose ringing proceed finish retract reject"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := call.New(call.Config{Account: julietPhone})
		playBytes(m, data, func(in call.Input, now time.Time, effs []call.Effect, err error) {
			if err != nil && len(effs) != 0 {
				t.Fatalf("%T failed with %v but asked for %d effects", in, err, len(effs))
			}
			if err := m.CheckDeadlines(); err != nil {
				t.Fatalf("after %T: %v", in, err)
			}
			if _, ok := in.(call.Tick); ok {
				if err := m.CheckTicked(now); err != nil {
					t.Fatal(err)
				}
			}
			for _, c := range m.Calls() {
				if c.State == call.StateRinging && now.Sub(c.Started) > call.DefaultRingWindow {
					t.Fatalf("call %s rings %s after its propose", c.ID, now.Sub(c.Started))
				}
			}
			if dl := m.NextDeadline(); !dl.IsZero() && dl.Before(now) {
				// A deadline in the past is fine until the next Tick runs it.
				if _, err := m.Handle(now, call.Tick{}); err != nil {
					t.Fatal(err)
				}
				if err := m.CheckDeadlines(); err != nil {
					t.Fatalf("after a Tick: %v", err)
				}
				if dl2 := m.NextDeadline(); !dl2.IsZero() && !dl2.After(now) {
					t.Fatalf("deadline %v still due after a tick at %v", dl2, now)
				}
			}
		})
	})
}

// playBytes turns data into inputs, three bytes each, hands them to m at a
// clock that the Tick inputs move on, and calls step after each.
func playBytes(m *call.Machine, data []byte, step func(in call.Input, now time.Time, effs []call.Effect, err error)) {
	self := julietPhone
	senders := []jid.JID{romeoOrchard, romeoPDA, julietTablet, julietDino, tybalt, self, romeo, juliet}
	tos := []jid.JID{juliet, julietPhone, julietTablet, romeoOrchard, romeo, {}}
	ids := []string{"a", "b", "c", "ca3cf894", "fecbea35"}
	now := t0
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	for len(data) > 0 {
		op, a, b := next(), next(), next()
		id := ids[int(a)%len(ids)]
		var in call.Input
		switch op % 12 {
		case 0:
			in = call.Signal{From: senders[int(b)%len(senders)], To: tos[int(a)%len(tos)], Via: call.Via(b % 5), Element: &jmi.Propose{ID: id, Descriptions: audio}, Trusted: b%2 == 0}
		case 1:
			in = call.Signal{From: senders[int(b)%len(senders)], To: tos[int(a)%len(tos)], Via: call.Via(b % 5), Element: &jmi.Ringing{ID: id}}
		case 2:
			in = call.Signal{From: senders[int(b)%len(senders)], To: tos[int(a)%len(tos)], Via: call.Via(b % 5), Element: &jmi.Proceed{ID: id}}
		case 3:
			in = call.Signal{From: senders[int(b)%len(senders)], To: tos[int(a)%len(tos)], Via: call.Via(b % 5), Element: &jmi.Reject{ID: id, TieBreak: b%3 == 0}}
		case 4:
			in = call.Signal{From: senders[int(b)%len(senders)], To: tos[int(a)%len(tos)], Via: call.Via(b % 5), Element: &jmi.Retract{ID: id, TieBreak: b%3 == 0}}
		case 5:
			in = call.Signal{From: senders[int(b)%len(senders)], To: tos[int(a)%len(tos)], Via: call.Via(b % 5), Element: &jmi.Finish{ID: id, MigratedTo: ids[int(b)%len(ids)]}}
		case 6:
			in = call.Signal{From: senders[int(b)%len(senders)], To: tos[int(a)%len(tos)], Via: call.Via(b % 5), Element: &jmi.Accept{ID: id}, Stamp: now.Add(-time.Duration(b) * time.Second)}
		case 7:
			in = call.UserPropose{To: senders[int(b)%len(senders)], ID: id, Descriptions: audio}
		case 8:
			bounced := call.Bounced{ID: id, Kind: []jmi.Kind{jmi.KindPropose, jmi.KindProceed}[b/5%2], From: senders[int(b)%len(senders)], Condition: "service-unavailable"}
			in = []call.Input{call.UserProceed{ID: id}, call.UserReject{ID: id}, call.UserRetract{ID: id}, call.UserFinish{ID: id}, bounced}[b%5]
		case 9:
			in = call.CatchUpStarted{}
		case 10:
			in = call.CatchUpEnded{}
		default:
			now = now.Add(time.Duration(b) * time.Second)
			in = call.Tick{}
		}
		effs, err := m.Handle(now, in)
		step(in, now, effs, err)
	}
}
