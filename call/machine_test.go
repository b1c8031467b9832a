package call_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
	"mellium.im/xmpp/jid"
)

var (
	romeoOrchard = jid.MustParse("romeo@montague.example/orchard")
	romeoPDA     = jid.MustParse("romeo@montague.example/pda")
	romeo        = romeoOrchard.Bare()
	julietPhone  = jid.MustParse("juliet@capulet.example/phone")
	julietTablet = jid.MustParse("juliet@capulet.example/tablet")
	julietDino   = jid.MustParse("juliet@capulet.example/dino")
	juliet       = julietPhone.Bare()
	tybalt       = jid.MustParse("tybalt@capulet.example/sword")
	t0           = time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	audio        = []jmi.Description{jmi.RTP("audio")}
)

// render writes effects in a compact form that table tests compare.
func render(effs []call.Effect) []string {
	var out []string
	for _, e := range effs {
		switch e := e.(type) {
		case call.Send:
			s := fmt.Sprintf("send %s %s %s", e.To, e.Element.Kind(), e.Element.SessionID())
			switch el := e.Element.(type) {
			case *jmi.Retract:
				s += reasonString(el.Reason, el.TieBreak, "")
			case *jmi.Reject:
				s += reasonString(el.Reason, el.TieBreak, "")
			case *jmi.Finish:
				s += reasonString(el.Reason, false, el.MigratedTo)
			}
			out = append(out, s)
		case call.SendPresence:
			out = append(out, "presence "+e.To.String())
		case call.Notify:
			ev := e.Event
			s := fmt.Sprintf("event %s %s", ev.Type, ev.ID)
			if ev.Type == call.EventIgnored {
				s += " class=" + ev.Ignored.String()
			}
			if !ev.Device.Equal(jid.JID{}) {
				s += " device=" + ev.Device.String()
			}
			if ev.Reason != "" {
				s += " reason=" + ev.Reason
			}
			if ev.TieBreak {
				s += " tie-break"
			}
			if ev.MigratedTo != "" {
				s += " migrated=" + ev.MigratedTo
			}
			if ev.Elsewhere {
				s += " elsewhere"
			}
			out = append(out, s)
		}
	}
	return out
}

func reasonString(r *jmi.Reason, tieBreak bool, migrated string) string {
	s := ""
	if r != nil {
		s += " reason=" + string(r.Condition)
	}
	if tieBreak {
		s += " tie-break"
	}
	if migrated != "" {
		s += " migrated=" + migrated
	}
	return s
}

// step is one input at t0+at, and the effects it must give.
type step struct {
	at   time.Duration
	in   call.Input
	want []string
}

func sig(from, to jid.JID, via call.Via, el jmi.Element) call.Signal {
	return call.Signal{From: from, To: to, Via: via, Element: el, Trusted: true}
}

func untrusted(s call.Signal) call.Signal { s.Trusted = false; return s }
func stamped(s call.Signal, at time.Duration) call.Signal {
	s.Stamp = t0.Add(at)
	return s
}
func propose(id string) *jmi.Propose { return &jmi.Propose{ID: id, Descriptions: audio} }

// run feeds the steps to m and compares every step's effects.
func run(t *testing.T, m *call.Machine, steps []step) {
	t.Helper()
	for i, s := range steps {
		got, err := m.Handle(t0.Add(s.at), s.in)
		if err != nil {
			t.Fatalf("step %d (%T): %v", i, s.in, err)
		}
		if r := render(got); !reflect.DeepEqual(r, s.want) && !(len(r) == 0 && len(s.want) == 0) {
			t.Fatalf("step %d (%T):\n got: %s\nwant: %s", i, s.in, strings.Join(r, "\n      "), strings.Join(s.want, "\n      "))
		}
	}
}

func machine(self jid.JID, opt ...func(*call.Config)) *call.Machine {
	cfg := call.Config{Account: self}
	for _, o := range opt {
		o(&cfg)
	}
	return call.New(cfg)
}

// TestRules covers every rule of the engine, each case citing the section of
// XEP-0353 it applies.
func TestRules(t *testing.T) {
	cases := []struct {
		name  string
		self  jid.JID
		opt   func(*call.Config)
		steps []step
	}{
		{
			name: "§3.1 caller: UserPropose->propose to bare JID, presence, proposed",
			self: romeoOrchard,
			steps: []step{
				{0, call.UserPropose{To: julietPhone, ID: "c1", Descriptions: audio}, []string{
					"send juliet@capulet.example propose c1", "presence juliet@capulet.example", "event proposed c1"}},
				{time.Second, sig(julietPhone, romeoOrchard, call.ViaLive, &jmi.Ringing{ID: "c1"}), []string{"event ringing c1 device=juliet@capulet.example/phone"}},
				{time.Second, sig(julietTablet, romeoOrchard, call.ViaLive, &jmi.Ringing{ID: "c1"}), []string{"event ringing c1 device=juliet@capulet.example/tablet"}},
				{2 * time.Second, sig(julietTablet, romeoOrchard, call.ViaLive, &jmi.Ringing{ID: "c1"}), nil},
				{3 * time.Second, sig(julietPhone, romeoOrchard, call.ViaLive, &jmi.Proceed{ID: "c1"}), []string{"event proceeded c1 device=juliet@capulet.example/phone"}},
				{time.Minute, call.UserFinish{ID: "c1"}, []string{"send juliet@capulet.example/phone finish c1 reason=success", "event finished c1 device=romeo@montague.example/orchard reason=success"}},
			},
		},
		{
			name: "§3.2 §3.4 §3.7 callee: propose->ringing to full JID; UserProceed->proceed to full JID, accept to own bare, presence; peer finish->own finish",
			self: julietPhone,
			steps: []step{
				{0, sig(romeoOrchard, juliet, call.ViaLive, propose("c1")), []string{"send romeo@montague.example/orchard ringing c1", "event incoming c1 device=romeo@montague.example/orchard"}},
				{2 * time.Second, call.UserProceed{ID: "c1"}, []string{"send romeo@montague.example/orchard proceed c1", "send juliet@capulet.example accept c1", "presence romeo@montague.example/orchard", "event proceeded c1 device=juliet@capulet.example/phone"}},
				{time.Minute, sig(romeoOrchard, julietPhone, call.ViaLive, &jmi.Finish{ID: "c1", Reason: &jmi.Reason{Condition: jmi.Success}}), []string{"send romeo@montague.example/orchard finish c1 reason=success", "event finished c1 device=romeo@montague.example/orchard reason=success"}},
			},
		},
		{
			name: "§3.2 0.6/0.7 addressing: BareJIDResponses->ringing, proceed, finish to bare JID; NoLegacyAccept->no accept; presence shared->none",
			self: julietPhone,
			opt:  func(c *call.Config) { c.BareJIDResponses, c.NoLegacyAccept = true, true },
			steps: []step{
				{0, call.Signal{From: romeoOrchard, To: juliet, Element: propose("c1"), Trusted: true, PresenceShared: true}, []string{"send romeo@montague.example ringing c1", "event incoming c1 device=romeo@montague.example/orchard"}},
				{time.Second, call.UserProceed{ID: "c1"}, []string{"send romeo@montague.example proceed c1", "event proceeded c1 device=juliet@capulet.example/phone"}},
				{time.Minute, call.UserFinish{ID: "c1"}, []string{"send romeo@montague.example finish c1 reason=success", "event finished c1 device=juliet@capulet.example/phone reason=success"}},
			},
		},
		{
			name: "§3.4 ring everywhere: other device's proceed by sent carbon->stop ringing, answered elsewhere",
			self: julietTablet,
			steps: []step{
				{0, sig(romeoOrchard, juliet, call.ViaLive, propose("c1")), []string{"send romeo@montague.example/orchard ringing c1", "event incoming c1 device=romeo@montague.example/orchard"}},
				{time.Second, sig(julietPhone, romeoOrchard, call.ViaSentCarbon, &jmi.Proceed{ID: "c1"}), []string{"event proceeded c1 device=juliet@capulet.example/phone elsewhere"}},
				{2 * time.Second, sig(julietPhone, juliet, call.ViaLive, &jmi.Accept{ID: "c1"}), nil},
				{time.Minute, sig(romeoOrchard, julietPhone, call.ViaReceivedCarbon, &jmi.Finish{ID: "c1"}), []string{"event finished c1 device=romeo@montague.example/orchard elsewhere"}},
				{time.Minute, sig(julietPhone, romeoOrchard, call.ViaSentCarbon, &jmi.Finish{ID: "c1"}), nil},
			},
		},
		{
			name: "§3.4 legacy: Dino's accept to our bare JID->answered elsewhere",
			self: julietTablet,
			steps: []step{
				{0, sig(romeoOrchard, juliet, call.ViaLive, propose("c1")), []string{"send romeo@montague.example/orchard ringing c1", "event incoming c1 device=romeo@montague.example/orchard"}},
				{time.Second, sig(julietDino, juliet, call.ViaLive, &jmi.Accept{ID: "c1"}), []string{"event proceeded c1 device=juliet@capulet.example/dino elsewhere"}},
			},
		},
		{
			name: "§3.5 ring everywhere: other device's reject by sent carbon->stop ringing, declined elsewhere",
			self: julietTablet,
			steps: []step{
				{0, sig(romeoOrchard, juliet, call.ViaLive, propose("c1")), []string{"send romeo@montague.example/orchard ringing c1", "event incoming c1 device=romeo@montague.example/orchard"}},
				{time.Second, sig(julietPhone, romeoOrchard, call.ViaSentCarbon, &jmi.Reject{ID: "c1", Reason: &jmi.Reason{Condition: jmi.Busy}}), []string{"event rejected c1 device=juliet@capulet.example/phone reason=busy elsewhere"}},
			},
		},
		{
			name: "§3.1 caller's other device: sent carbon of propose->proposed elsewhere, never rings; answer by carbon->proceeded elsewhere",
			self: romeoPDA,
			steps: []step{
				{0, sig(romeoOrchard, juliet, call.ViaSentCarbon, propose("c1")), []string{"event proposed c1 elsewhere"}},
				{time.Second, sig(julietPhone, romeoOrchard, call.ViaReceivedCarbon, &jmi.Ringing{ID: "c1"}), []string{"event ringing c1 device=juliet@capulet.example/phone elsewhere"}},
				{2 * time.Second, sig(julietPhone, romeoOrchard, call.ViaReceivedCarbon, &jmi.Proceed{ID: "c1"}), []string{"event proceeded c1 device=juliet@capulet.example/phone elsewhere"}},
			},
		},
		{
			name: "§3.5 UserReject->reject to full JID with busy",
			self: julietPhone,
			steps: []step{
				{0, sig(romeoOrchard, juliet, call.ViaLive, propose("c1")), []string{"send romeo@montague.example/orchard ringing c1", "event incoming c1 device=romeo@montague.example/orchard"}},
				{time.Second, call.UserReject{ID: "c1"}, []string{"send romeo@montague.example/orchard reject c1 reason=busy", "event rejected c1 device=juliet@capulet.example/phone reason=busy"}},
			},
		},
		{
			name: "§3.3 UserRetract->retract to bare JID with cancel; callee->missed",
			self: romeoOrchard,
			steps: []step{
				{0, call.UserPropose{To: juliet, ID: "c1", Descriptions: audio, PresenceShared: true}, []string{"send juliet@capulet.example propose c1", "event proposed c1"}},
				{5 * time.Second, call.UserRetract{ID: "c1"}, []string{"send juliet@capulet.example retract c1 reason=cancel", "event retracted c1 reason=cancel"}},
				{6 * time.Second, sig(julietPhone, romeoOrchard, call.ViaLive, &jmi.Proceed{ID: "c1"}), nil},
			},
		},
		{
			name: "§3.3 callee: retract while ringing->missed",
			self: julietPhone,
			steps: []step{
				{0, sig(romeoOrchard, juliet, call.ViaLive, propose("c1")), []string{"send romeo@montague.example/orchard ringing c1", "event incoming c1 device=romeo@montague.example/orchard"}},
				{5 * time.Second, sig(romeoOrchard, juliet, call.ViaLive, &jmi.Retract{ID: "c1", Reason: &jmi.Reason{Condition: jmi.Cancel}}), []string{"event missed c1 device=romeo@montague.example/orchard reason=cancel"}},
			},
		},
		{
			name: "§6 privacy: untrusted propose->nothing sent, silent; window over->missed untrusted",
			self: julietPhone,
			steps: []step{
				{0, untrusted(sig(tybalt, juliet, call.ViaLive, propose("c1"))), nil},
				{call.DefaultRingWindow, call.Tick{}, []string{"event missed c1 device=tybalt@capulet.example/sword reason=untrusted"}},
			},
		},
		{
			name: "§6 privacy: the user may still answer an untrusted call",
			self: julietPhone,
			steps: []step{
				{0, untrusted(sig(tybalt, juliet, call.ViaLive, propose("c1"))), nil},
				{time.Second, call.UserProceed{ID: "c1"}, []string{"send tybalt@capulet.example/sword proceed c1", "send juliet@capulet.example accept c1", "presence tybalt@capulet.example/sword", "event proceeded c1 device=juliet@capulet.example/phone"}},
			},
		},
		{
			name: "§5 catch-up: fresh propose->rings only after catch-up ends",
			self: julietPhone,
			steps: []step{
				{0, call.CatchUpStarted{}, nil},
				{20 * time.Second, stamped(sig(romeoOrchard, juliet, call.ViaArchive, propose("c1")), 0), nil},
				{21 * time.Second, call.CatchUpEnded{}, []string{"send romeo@montague.example/orchard ringing c1", "event incoming c1 device=romeo@montague.example/orchard"}},
				{22 * time.Second, call.UserProceed{ID: "c1"}, []string{"send romeo@montague.example/orchard proceed c1", "send juliet@capulet.example accept c1", "presence romeo@montague.example/orchard", "event proceeded c1 device=juliet@capulet.example/phone"}},
			},
		},
		{
			name: "§3.3 catch-up: old propose with no answer->missed, no ringing",
			self: julietPhone,
			steps: []step{
				{0, call.CatchUpStarted{}, nil},
				{time.Hour, stamped(sig(romeoOrchard, juliet, call.ViaArchive, propose("c1")), 0), nil},
				{time.Hour, call.CatchUpEnded{}, []string{"event missed c1 device=romeo@montague.example/orchard reason=stale"}},
			},
		},
		{
			name: "§3.3 catch-up: propose then retract->missed, no ringing",
			self: julietPhone,
			steps: []step{
				{0, call.CatchUpStarted{}, nil},
				{10 * time.Second, stamped(sig(romeoOrchard, juliet, call.ViaArchive, propose("c1")), 0), nil},
				{10 * time.Second, stamped(sig(romeoOrchard, juliet, call.ViaArchive, &jmi.Retract{ID: "c1"}), 5*time.Second), []string{"event missed c1 device=romeo@montague.example/orchard"}},
				{10 * time.Second, call.CatchUpEnded{}, nil},
			},
		},
		{
			name: "§3.3 catch-up after a restart: this device's own call read back->placed and hung up here, not elsewhere",
			self: romeoOrchard,
			steps: []step{
				{time.Hour, call.CatchUpStarted{}, nil},
				{time.Hour, stamped(sig(romeoOrchard, juliet, call.ViaArchive, propose("c1")), 0), []string{"event proposed c1"}},
				{time.Hour, stamped(sig(julietPhone, romeoOrchard, call.ViaArchive, &jmi.Proceed{ID: "c1"}), time.Second), []string{"event proceeded c1 device=juliet@capulet.example/phone"}},
				{time.Hour, stamped(sig(romeoOrchard, julietPhone, call.ViaArchive, &jmi.Finish{ID: "c1"}), time.Minute), []string{"event finished c1 device=romeo@montague.example/orchard"}},
				{time.Hour, call.CatchUpEnded{}, nil},
			},
		},
		{
			name: "§3.3 catch-up after a restart: this device's own answer and decline read back->here, not elsewhere",
			self: julietPhone,
			steps: []step{
				{time.Hour, call.CatchUpStarted{}, nil},
				{time.Hour, stamped(sig(romeoOrchard, juliet, call.ViaArchive, propose("c1")), 0), nil},
				{time.Hour, stamped(sig(julietPhone, romeoOrchard, call.ViaArchive, &jmi.Proceed{ID: "c1"}), time.Second), []string{"event proceeded c1 device=juliet@capulet.example/phone"}},
				{time.Hour, stamped(sig(julietPhone, romeoOrchard, call.ViaArchive, &jmi.Finish{ID: "c1"}), time.Minute), []string{"event finished c1 device=juliet@capulet.example/phone"}},
				{time.Hour, stamped(sig(romeoOrchard, juliet, call.ViaArchive, propose("c2")), 2*time.Minute), nil},
				{time.Hour, stamped(sig(julietPhone, romeoOrchard, call.ViaArchive, &jmi.Reject{ID: "c2"}), 3*time.Minute), []string{"event rejected c2 device=juliet@capulet.example/phone"}},
				{time.Hour, call.CatchUpEnded{}, nil},
			},
		},
		{
			name: "§3.3 out of order: reject seen before its propose->the late propose does not ring",
			self: julietPhone,
			steps: []step{
				{0, call.CatchUpStarted{}, nil},
				{5 * time.Second, stamped(sig(julietTablet, romeoOrchard, call.ViaArchive, &jmi.Reject{ID: "c1"}), 2*time.Second), []string{"event rejected c1 device=juliet@capulet.example/tablet elsewhere"}},
				{5 * time.Second, stamped(sig(romeoOrchard, juliet, call.ViaArchive, propose("c1")), 0), nil},
				{6 * time.Second, call.CatchUpEnded{}, nil},
				{7 * time.Second, sig(romeoOrchard, juliet, call.ViaLive, propose("c1")), nil},
			},
		},
		{
			name: "§5 one effect: the same propose live, by carbon and in the archive",
			self: julietPhone,
			steps: []step{
				{0, sig(romeoOrchard, juliet, call.ViaLive, propose("c1")), []string{"send romeo@montague.example/orchard ringing c1", "event incoming c1 device=romeo@montague.example/orchard"}},
				{time.Second, sig(romeoOrchard, juliet, call.ViaReceivedCarbon, propose("c1")), nil},
				{2 * time.Second, call.CatchUpStarted{}, nil},
				{2 * time.Second, stamped(sig(romeoOrchard, juliet, call.ViaArchive, propose("c1")), 0), nil},
				{2 * time.Second, call.CatchUpEnded{}, nil},
			},
		},
		{
			name: "§5 offline delivery of an old propose->missed, no ringing",
			self: julietPhone,
			steps: []step{
				{time.Hour, stamped(sig(romeoOrchard, juliet, call.ViaOffline, propose("c1")), 0), []string{"event missed c1 device=romeo@montague.example/orchard reason=stale"}},
			},
		},
		{
			name: "timeouts: caller->retract timeout after RingTimeout",
			self: romeoOrchard,
			steps: []step{
				{0, call.UserPropose{To: juliet, ID: "c1", Descriptions: audio, PresenceShared: true}, []string{"send juliet@capulet.example propose c1", "event proposed c1"}},
				{call.DefaultRingTimeout - time.Millisecond, call.Tick{}, nil},
				{call.DefaultRingTimeout, call.Tick{}, []string{"send juliet@capulet.example retract c1 reason=timeout", "event retracted c1 reason=timeout"}},
			},
		},
		{
			name: "timeouts: callee stops ringing after RingWindow->missed",
			self: julietPhone,
			steps: []step{
				{0, sig(romeoOrchard, juliet, call.ViaLive, propose("c1")), []string{"send romeo@montague.example/orchard ringing c1", "event incoming c1 device=romeo@montague.example/orchard"}},
				{call.DefaultRingWindow, call.Tick{}, []string{"event missed c1 device=romeo@montague.example/orchard reason=timeout"}},
			},
		},
		{
			name: "§5 timeouts: no finish from either side in 24 h->finished expired",
			self: julietPhone,
			steps: []step{
				{0, sig(romeoOrchard, juliet, call.ViaLive, propose("c1")), []string{"send romeo@montague.example/orchard ringing c1", "event incoming c1 device=romeo@montague.example/orchard"}},
				{time.Second, call.UserProceed{ID: "c1"}, []string{"send romeo@montague.example/orchard proceed c1", "send juliet@capulet.example accept c1", "presence romeo@montague.example/orchard", "event proceeded c1 device=juliet@capulet.example/phone"}},
				{time.Second + call.DefaultSessionTimeout, call.Tick{}, []string{"event finished c1 reason=expired"}},
			},
		},
		{
			name: "§4.1 crossed: received the lower id->retract ours with tie-break, proceed theirs",
			self: romeoOrchard,
			steps: []step{
				{0, call.UserPropose{To: juliet, ID: "fecbea35", Descriptions: audio, PresenceShared: true}, []string{"send juliet@capulet.example propose fecbea35", "event proposed fecbea35"}},
				{time.Millisecond, sig(julietPhone, romeo, call.ViaLive, propose("ca3cf894")), []string{
					"send juliet@capulet.example retract fecbea35 reason=expired tie-break",
					"event retracted fecbea35 reason=expired tie-break migrated=ca3cf894",
					"send juliet@capulet.example/phone proceed ca3cf894", "send romeo@montague.example accept ca3cf894", "presence juliet@capulet.example/phone",
					"event proceeded ca3cf894 device=romeo@montague.example/orchard"}},
				{2 * time.Millisecond, sig(julietPhone, romeoOrchard, call.ViaLive, &jmi.Reject{ID: "fecbea35", TieBreak: true}), nil},
			},
		},
		{
			// Their propose is held while the catch-up runs (§5), and their
			// tie-break reject of ours is not: ejabberd delivered both in
			// that order as the catch-up ended. The crossing is resolved as
			// it would have been live: theirs, the lower id, is answered,
			// not left to ring.
			name: "§4.1 crossed during catch-up: their lower id held, then their tie-break reject of ours->theirs answered when the catch-up ends",
			self: romeoOrchard,
			steps: []step{
				{0, call.CatchUpStarted{}, nil},
				{0, call.UserPropose{To: juliet, ID: "fecbea35", Descriptions: audio, PresenceShared: true}, []string{"send juliet@capulet.example propose fecbea35", "event proposed fecbea35"}},
				{time.Millisecond, sig(julietPhone, romeo, call.ViaLive, propose("ca3cf894")), nil},
				{2 * time.Millisecond, sig(julietPhone, romeoOrchard, call.ViaLive, &jmi.Reject{ID: "fecbea35", Reason: &jmi.Reason{Condition: jmi.Expired}, TieBreak: true}), []string{
					"event rejected fecbea35 device=juliet@capulet.example/phone reason=expired tie-break migrated=ca3cf894"}},
				{3 * time.Millisecond, call.CatchUpEnded{}, []string{
					"send juliet@capulet.example/phone proceed ca3cf894", "send romeo@montague.example accept ca3cf894", "presence juliet@capulet.example/phone",
					"event proceeded ca3cf894 device=romeo@montague.example/orchard"}},
			},
		},
		{
			// With their id the higher, a tie-break reject of ours makes
			// nothing of theirs the winner: theirs rings as any call does.
			name: "§4.1 during catch-up: their higher id held, then a tie-break reject of ours->theirs rings when the catch-up ends",
			self: romeoOrchard,
			steps: []step{
				{0, call.CatchUpStarted{}, nil},
				{0, call.UserPropose{To: juliet, ID: "ca3cf894", Descriptions: audio, PresenceShared: true}, []string{"send juliet@capulet.example propose ca3cf894", "event proposed ca3cf894"}},
				{time.Millisecond, sig(julietPhone, romeo, call.ViaLive, propose("fecbea35")), nil},
				{2 * time.Millisecond, sig(julietPhone, romeoOrchard, call.ViaLive, &jmi.Reject{ID: "ca3cf894", Reason: &jmi.Reason{Condition: jmi.Expired}, TieBreak: true}), []string{
					"event rejected ca3cf894 device=juliet@capulet.example/phone reason=expired tie-break"}},
				{3 * time.Millisecond, call.CatchUpEnded{}, []string{
					"send juliet@capulet.example/phone ringing fecbea35", "event incoming fecbea35 device=juliet@capulet.example/phone"}},
			},
		},
		{
			name: "§4.1 crossed: received the higher id->reject it with tie-break and expired",
			self: julietPhone,
			steps: []step{
				{0, call.UserPropose{To: romeo, ID: "fecbea35", Descriptions: audio, PresenceShared: true}, []string{"send romeo@montague.example propose fecbea35", "event proposed fecbea35"}},
				{time.Millisecond, sig(romeoOrchard, juliet, call.ViaLive, propose("zzz")), []string{
					"send romeo@montague.example/orchard reject zzz reason=expired tie-break",
					"event rejected zzz device=juliet@capulet.example/phone reason=expired tie-break"}},
				{2 * time.Millisecond, sig(romeoOrchard, julietPhone, call.ViaLive, &jmi.Proceed{ID: "fecbea35"}), []string{"event proceeded fecbea35 device=romeo@montague.example/orchard"}},
			},
		},
		{
			name: "§4.1 crossed: calls back while their lower id rings here->retract ours with tie-break, proceed theirs",
			self: julietPhone,
			steps: []step{
				{0, sig(romeoOrchard, juliet, call.ViaLive, propose("ca3cf894")), []string{"send romeo@montague.example/orchard ringing ca3cf894", "event incoming ca3cf894 device=romeo@montague.example/orchard"}},
				{time.Second, call.UserPropose{To: romeo, ID: "fecbea35", Descriptions: audio, PresenceShared: true}, []string{
					"send romeo@montague.example propose fecbea35", "event proposed fecbea35",
					"send romeo@montague.example retract fecbea35 reason=expired tie-break",
					"event retracted fecbea35 reason=expired tie-break migrated=ca3cf894",
					"send romeo@montague.example/orchard proceed ca3cf894", "send juliet@capulet.example accept ca3cf894",
					"event proceeded ca3cf894 device=juliet@capulet.example/phone"}},
				// Romeo's tie-break for our propose, which crossed ours.
				{time.Second + time.Millisecond, sig(romeoOrchard, julietPhone, call.ViaLive, &jmi.Reject{ID: "fecbea35", Reason: &jmi.Reason{Condition: jmi.Expired}, TieBreak: true}), nil},
			},
		},
		{
			name: "§4.1 crossed: calls back while their higher id rings here->reject theirs with tie-break, ours survives",
			self: julietPhone,
			steps: []step{
				{0, sig(romeoOrchard, juliet, call.ViaLive, propose("zzz")), []string{"send romeo@montague.example/orchard ringing zzz", "event incoming zzz device=romeo@montague.example/orchard"}},
				{time.Second, call.UserPropose{To: romeo, ID: "fecbea35", Descriptions: audio, PresenceShared: true}, []string{
					"send romeo@montague.example propose fecbea35", "event proposed fecbea35",
					"send romeo@montague.example/orchard reject zzz reason=expired tie-break",
					"event rejected zzz device=juliet@capulet.example/phone reason=expired tie-break"}},
				{time.Second + time.Millisecond, sig(romeoOrchard, julietPhone, call.ViaLive, &jmi.Proceed{ID: "fecbea35"}), []string{"event proceeded fecbea35 device=romeo@montague.example/orchard"}},
			},
		},
		{
			name: "§4.2 migration: propose from the peer of an answered call->finish old (expired, migrated), proceed new",
			self: romeoOrchard,
			steps: []step{
				{0, sig(julietPhone, romeo, call.ViaLive, propose("old")), []string{"send juliet@capulet.example/phone ringing old", "event incoming old device=juliet@capulet.example/phone"}},
				{time.Second, call.UserProceed{ID: "old"}, []string{"send juliet@capulet.example/phone proceed old", "send romeo@montague.example accept old", "presence juliet@capulet.example/phone", "event proceeded old device=romeo@montague.example/orchard"}},
				{time.Minute, sig(julietTablet, romeoOrchard, call.ViaLive, propose("new")), []string{
					"send juliet@capulet.example/phone finish old reason=expired migrated=new",
					"event finished old device=juliet@capulet.example/phone reason=expired migrated=new",
					"send juliet@capulet.example/tablet proceed new", "send romeo@montague.example accept new",
					"event proceeded new device=romeo@montague.example/orchard"}},
			},
		},
		{
			name: "§4.2 migration seen by the old device: finish with migrated->finished, no finish back",
			self: julietPhone,
			steps: []step{
				{0, call.UserPropose{To: romeo, ID: "old", Descriptions: audio, PresenceShared: true}, []string{"send romeo@montague.example propose old", "event proposed old"}},
				{time.Second, sig(romeoOrchard, julietPhone, call.ViaLive, &jmi.Proceed{ID: "old"}), []string{"event proceeded old device=romeo@montague.example/orchard"}},
				{time.Minute, sig(julietTablet, romeo, call.ViaSentCarbon, propose("new")), []string{"event proposed new elsewhere"}},
				{time.Minute, sig(romeoOrchard, julietPhone, call.ViaLive, &jmi.Finish{ID: "old", Reason: &jmi.Reason{Condition: jmi.Expired}, MigratedTo: "new"}), []string{"event finished old device=romeo@montague.example/orchard reason=expired migrated=new"}},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var opts []func(*call.Config)
			if tc.opt != nil {
				opts = append(opts, tc.opt)
			}
			run(t, machine(tc.self, opts...), tc.steps)
		})
	}
}

// TestWhoMaySayWhat checks rule §3 (implicit) and XEP-0280 §11: input from
// someone not in the call is ignored with a reason and changes nothing.
func TestWhoMaySayWhat(t *testing.T) {
	cases := []struct {
		name   string
		self   jid.JID
		setup  []call.Input
		bad    call.Signal
		reason string
		class  call.IgnoreReason
	}{
		{"retract from a third party->ignored", julietPhone,
			[]call.Input{sig(romeoOrchard, juliet, call.ViaLive, propose("c1"))},
			sig(tybalt, juliet, call.ViaLive, &jmi.Retract{ID: "c1"}), "not the caller", call.IgnoreWrongParty},
		{"proceed from a third party->ignored", romeoOrchard,
			[]call.Input{call.UserPropose{To: juliet, ID: "c1", Descriptions: audio}},
			sig(tybalt, romeoOrchard, call.ViaLive, &jmi.Proceed{ID: "c1"}), "not the callee", call.IgnoreWrongParty},
		{"reject from a third party->ignored", romeoOrchard,
			[]call.Input{call.UserPropose{To: juliet, ID: "c1", Descriptions: audio}},
			sig(tybalt, romeoOrchard, call.ViaLive, &jmi.Reject{ID: "c1"}), "not the callee", call.IgnoreWrongParty},
		{"ringing from a third party->ignored", romeoOrchard,
			[]call.Input{call.UserPropose{To: juliet, ID: "c1", Descriptions: audio}},
			sig(tybalt, romeoOrchard, call.ViaLive, &jmi.Ringing{ID: "c1"}), "not the callee", call.IgnoreWrongParty},
		{"finish from a third party->ignored", julietPhone,
			[]call.Input{sig(romeoOrchard, juliet, call.ViaLive, propose("c1")), call.UserProceed{ID: "c1"}},
			sig(tybalt, julietPhone, call.ViaLive, &jmi.Finish{ID: "c1"}), "not a party", call.IgnoreWrongParty},
		{"propose colliding with another peer's id->ignored", julietPhone,
			[]call.Input{sig(romeoOrchard, juliet, call.ViaLive, propose("c1"))},
			sig(tybalt, juliet, call.ViaLive, propose("c1")), "another peer", call.IgnoreIDConflict},
		{"forged sent carbon from a stranger->ignored", julietTablet,
			[]call.Input{sig(romeoOrchard, juliet, call.ViaLive, propose("c1"))},
			sig(tybalt, romeoOrchard, call.ViaSentCarbon, &jmi.Proceed{ID: "c1"}), "not from this account", call.IgnoreForged},
		{"retract from the callee for its incoming call->ignored", romeoOrchard,
			[]call.Input{call.UserPropose{To: juliet, ID: "c1", Descriptions: audio}},
			sig(julietPhone, romeoOrchard, call.ViaLive, &jmi.Retract{ID: "c1"}), "not the caller", call.IgnoreWrongParty},
		{"propose for another account->ignored", julietPhone, nil,
			sig(romeoOrchard, tybalt.Bare(), call.ViaLive, propose("c9")), "another account", call.IgnoreWrongParty},
		{"proceed from our own account for our outgoing call->ignored", romeoOrchard,
			[]call.Input{call.UserPropose{To: juliet, ID: "c1", Descriptions: audio}},
			sig(romeoPDA, juliet, call.ViaSentCarbon, &jmi.Proceed{ID: "c1"}), "our own account", call.IgnoreWrongParty},
		{"our other device's propose with the id of a call with another peer->ignored", julietTablet,
			[]call.Input{sig(romeoOrchard, juliet, call.ViaLive, propose("c1"))},
			sig(julietPhone, tybalt.Bare(), call.ViaSentCarbon, propose("c1")), "another peer", call.IgnoreIDConflict},
		{"crossed propose with our id, ours wins->ignored", julietPhone,
			[]call.Input{call.UserPropose{To: romeo, ID: "c1", Descriptions: audio}},
			sig(romeoOrchard, juliet, call.ViaLive, propose("c1")), "ours wins", call.IgnoreTieBreak},
		{"propose with an empty session id->ignored", julietPhone, nil,
			sig(romeoOrchard, juliet, call.ViaLive, propose("")), "empty session id", call.IgnoreMalformed},
		{"signal without a JMI element->ignored", julietPhone, nil,
			call.Signal{From: romeoOrchard, To: juliet}, "no JMI element", call.IgnoreMalformed},
		{"signal without a sender->ignored", julietPhone, nil,
			call.Signal{To: juliet, Element: propose("c1")}, "without a sender", call.IgnoreBadAddress},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := machine(tc.self)
			for _, in := range tc.setup {
				if _, err := m.Handle(t0, in); err != nil {
					t.Fatal(err)
				}
			}
			before := m.Calls()
			deadline := m.NextDeadline()
			got, err := m.Handle(t0.Add(time.Second), tc.bad)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("got %v, want one ignored event", render(got))
			}
			ev := got[0].(call.Notify).Event
			if ev.Type != call.EventIgnored || !strings.Contains(ev.Reason, tc.reason) || ev.Ignored != tc.class {
				t.Fatalf("got %s %v %q, want ignored %v with %q", ev.Type, ev.Ignored, ev.Reason, tc.class, tc.reason)
			}
			if after := m.Calls(); !reflect.DeepEqual(before, after) || !m.NextDeadline().Equal(deadline) {
				t.Errorf("state changed:\nbefore %+v\n after %+v", before, after)
			}
		})
	}
}

// TestIgnoreReasonNames: every class has its own name, which parses back.
func TestIgnoreReasonNames(t *testing.T) {
	seen := map[string]bool{}
	for r := call.IgnoreNone; r <= call.IgnoreNotSignal; r++ {
		name := r.String()
		if seen[name] || strings.HasPrefix(name, "IgnoreReason(") {
			t.Errorf("%d: name %q repeated or missing", r, name)
		}
		seen[name] = true
		if back, ok := call.ParseIgnoreReason(name); !ok || back != r {
			t.Errorf("%q parses to %v, %v", name, back, ok)
		}
	}
	if _, ok := call.ParseIgnoreReason("protocol"); ok {
		t.Error("an unknown name parsed")
	}
}

// TestTieBreak is the table of §4.1's decision, named by arrows.
func TestTieBreak(t *testing.T) {
	cases := []struct {
		name              string
		ours, theirs      string
		ourJID, theirJIDs jid.JID
		want              call.Winner
	}{
		{"ca3cf894<fecbea35->ours", "ca3cf894-5325-482f-a412-a6e9f832298d", "fecbea35-08d3-404f-9ec7-2b57c566fa74", romeo, juliet, call.Ours},
		{"fecbea35>ca3cf894->theirs", "fecbea35-08d3-404f-9ec7-2b57c566fa74", "ca3cf894-5325-482f-a412-a6e9f832298d", romeo, juliet, call.Theirs},
		{"uppercase sorts before lowercase (octets, not UUIDs)->ours", "Zz", "aa", romeo, juliet, call.Ours},
		{"base64 ids of Conversations: '-' (0x2d) < '_' (0x5f)->ours", "p8A2Zc-vQ1", "p8A2Zc_vQ1", romeo, juliet, call.Ours},
		{"prefix sorts first->ours", "abc", "abcd", romeo, juliet, call.Ours},
		{"non-ASCII bytes sort after ASCII->theirs", "é", "z", romeo, juliet, call.Theirs},
		{"equal ids, our JID lower->ours", "same", "same", juliet, romeo, call.Ours},
		{"equal ids, their JID lower->theirs", "same", "same", romeo, juliet, call.Theirs},
		{"equal ids, JIDs compared bare->theirs", "same", "same", romeoOrchard, julietPhone, call.Theirs},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := call.TieBreak(tc.ours, tc.theirs, tc.ourJID, tc.theirJIDs); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

// TestMisuse checks that user actions that do not fit return errors and
// change nothing.
func TestMisuse(t *testing.T) {
	m := machine(julietPhone)
	if _, err := m.Handle(t0, sig(romeoOrchard, juliet, call.ViaLive, propose("in"))); err != nil {
		t.Fatal(err)
	}
	// To someone else: calling Romeo back would answer his call (§4.1).
	if _, err := m.Handle(t0, call.UserPropose{To: tybalt.Bare(), ID: "out", Descriptions: audio}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		in   call.Input
		want error
	}{
		{"proceed unknown", call.UserProceed{ID: "nope"}, call.ErrUnknownCall},
		{"proceed outgoing", call.UserProceed{ID: "out"}, call.ErrInvalidState},
		{"retract incoming", call.UserRetract{ID: "in"}, call.ErrInvalidState},
		{"finish ringing", call.UserFinish{ID: "in"}, call.ErrInvalidState},
		{"reject outgoing", call.UserReject{ID: "out"}, call.ErrInvalidState},
		{"propose reused id", call.UserPropose{To: romeo, ID: "in", Descriptions: audio}, call.ErrInvalidInput},
		{"propose without id", call.UserPropose{To: romeo, Descriptions: audio}, call.ErrInvalidInput},
		{"propose without media", call.UserPropose{To: romeo, ID: "x"}, call.ErrInvalidInput},
		{"propose without callee", call.UserPropose{ID: "x", Descriptions: audio}, call.ErrInvalidInput},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := m.Calls()
			effs, err := m.Handle(t0.Add(time.Second), tc.in)
			if !errors.Is(err, tc.want) || len(effs) != 0 {
				t.Fatalf("got %v %v, want %v and no effects", render(effs), err, tc.want)
			}
			if !reflect.DeepEqual(before, m.Calls()) {
				t.Error("state changed")
			}
		})
	}
}

// TestRetention checks that an ended call is forgotten after SessionTimeout
// and that a late copy of its messages before then has no effect.
func TestRetention(t *testing.T) {
	m := machine(julietPhone)
	run(t, m, []step{
		{0, sig(romeoOrchard, juliet, call.ViaLive, propose("c1")), []string{"send romeo@montague.example/orchard ringing c1", "event incoming c1 device=romeo@montague.example/orchard"}},
		{time.Second, sig(romeoOrchard, juliet, call.ViaLive, &jmi.Retract{ID: "c1"}), []string{"event missed c1 device=romeo@montague.example/orchard"}},
		{time.Hour, sig(romeoOrchard, juliet, call.ViaArchive, propose("c1")), nil},
	})
	if _, ok := m.Call("c1"); !ok {
		t.Fatal("forgot the call too early")
	}
	if _, err := m.Handle(t0.Add(time.Second+call.DefaultSessionTimeout), call.Tick{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Call("c1"); ok {
		t.Error("remembers the call after SessionTimeout")
	}
	if !m.NextDeadline().IsZero() {
		t.Errorf("deadline %v left with no call", m.NextDeadline())
	}
}

// TestDeferredSettled: a call found pending in catch-up (deferred: §5 lets
// nothing ring until catch-up ends) that is answered elsewhere or declined
// in the same catch-up is settled, so its deadline (the 24 h of §5, or the
// retention of an ended call) still counts during the next catch-up.
func TestDeferredSettled(t *testing.T) {
	for _, last := range []jmi.Element{&jmi.Proceed{ID: "c1"}, &jmi.Reject{ID: "c1"}} {
		m := machine(julietPhone)
		for _, in := range []call.Input{
			call.CatchUpStarted{},
			stamped(sig(romeoOrchard, juliet, call.ViaArchive, propose("c1")), 0),
			stamped(sig(julietTablet, romeoOrchard, call.ViaArchive, last), time.Second),
			call.CatchUpEnded{},
			call.CatchUpStarted{},
		} {
			if _, err := m.Handle(t0.Add(time.Minute), in); err != nil {
				t.Fatal(err)
			}
		}
		if m.NextDeadline().IsZero() {
			t.Errorf("after a %s in catch-up: no deadline during the next catch-up", last.Kind())
		}
	}
}
