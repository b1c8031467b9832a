package call_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
)

// TestBounced: the bounce of the propose of a call placed here, or of the
// proceed of a call answered here, ends it as failed (finished, never
// answered, the error condition as reason); every other bounce is ignored
// and changes nothing.
func TestBounced(t *testing.T) {
	outgoing := func(m *call.Machine) {
		m.Handle(t0, call.UserPropose{To: romeo, ID: "c1", Descriptions: audio})
	}
	answered := func(m *call.Machine) {
		m.Handle(t0, call.Signal{From: romeoOrchard, To: juliet, Element: &jmi.Propose{ID: "c1", Descriptions: audio}, Trusted: true})
		m.Handle(t0, call.UserProceed{ID: "c1"})
	}
	ringing := func(m *call.Machine) {
		m.Handle(t0, call.Signal{From: romeoOrchard, To: juliet, Element: &jmi.Propose{ID: "c1", Descriptions: audio}, Trusted: true})
	}
	elsewhere := func(m *call.Machine) {
		ringing(m)
		m.Handle(t0, call.Signal{From: julietTablet, To: romeoOrchard, Via: call.ViaSentCarbon, Element: &jmi.Proceed{ID: "c1"}})
	}
	cases := []struct {
		name  string
		setup func(*call.Machine)
		in    call.Bounced
		want  []string
		state call.State
	}{
		{"proposing->Bounced(propose, callee)->ended failed", outgoing,
			call.Bounced{ID: "c1", Kind: jmi.KindPropose, From: romeo, Condition: "service-unavailable"},
			[]string{"event finished c1 device=romeo@montague.example reason=service-unavailable"}, call.StateEnded},
		{"answered here->Bounced(proceed, caller's device)->ended failed", answered,
			call.Bounced{ID: "c1", Kind: jmi.KindProceed, From: romeoOrchard, Condition: "recipient-unavailable"},
			[]string{"event finished c1 device=romeo@montague.example/orchard reason=recipient-unavailable"}, call.StateEnded},
		{"(ignored) proposing->Bounced(propose, one device of the callee)", outgoing,
			call.Bounced{ID: "c1", Kind: jmi.KindPropose, From: romeoPDA, Condition: "feature-not-implemented"},
			[]string{"event ignored c1 class=wrong-party device=romeo@montague.example/pda reason=error bounce of a propose that ends no call"}, call.StateProposing},
		{"(ignored) answered here->Bounced(proceed, another device of the caller)", answered,
			call.Bounced{ID: "c1", Kind: jmi.KindProceed, From: romeoPDA, Condition: "service-unavailable"},
			[]string{"event ignored c1 class=state device=romeo@montague.example/pda reason=error bounce of a proceed that ends no call"}, call.StateActive},
		{"(ignored) proposing->Bounced(propose, a stranger)", outgoing,
			call.Bounced{ID: "c1", Kind: jmi.KindPropose, From: tybalt, Condition: "service-unavailable"},
			[]string{"event ignored c1 class=wrong-party device=tybalt@capulet.example/sword reason=error bounce of a propose that ends no call"}, call.StateProposing},
		{"(ignored) ringing here->Bounced(propose)", ringing,
			call.Bounced{ID: "c1", Kind: jmi.KindPropose, From: romeo, Condition: "service-unavailable"},
			[]string{"event ignored c1 class=unknown-call device=romeo@montague.example reason=error bounce for a call not placed or answered here"}, call.StateRinging},
		{"(ignored) answered elsewhere->Bounced(proceed)", elsewhere,
			call.Bounced{ID: "c1", Kind: jmi.KindProceed, From: romeoOrchard, Condition: "service-unavailable"},
			[]string{"event ignored c1 class=unknown-call device=romeo@montague.example/orchard reason=error bounce for a call not placed or answered here"}, call.StateActive},
		{"(ignored) proposing->Bounced(proceed)", outgoing,
			call.Bounced{ID: "c1", Kind: jmi.KindProceed, From: romeo, Condition: "service-unavailable"},
			[]string{"event ignored c1 class=state device=romeo@montague.example reason=error bounce of a proceed that ends no call"}, call.StateProposing},
		{"(ignored) unknown call->Bounced", func(*call.Machine) {},
			call.Bounced{ID: "c1", Kind: jmi.KindPropose, From: romeo},
			[]string{"event ignored c1 class=unknown-call device=romeo@montague.example reason=error bounce for a call not placed or answered here"}, call.StateUnknown},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := call.New(call.Config{Account: julietPhone})
			tc.setup(m)
			effs, err := m.Handle(t0.Add(time.Second), tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := render(effs); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
			info, _ := m.Call("c1")
			if info.State != tc.state {
				t.Errorf("state %v, want %v", info.State, tc.state)
			}
			if tc.state == call.StateEnded {
				ev := effs[0].(call.Notify).Event
				if !ev.Failed || !info.Answered.IsZero() || info.Outcome != call.EventFinished {
					t.Errorf("event %+v, call %+v: want failed, unanswered", ev, info)
				}
				// Nothing reopens it: a late ringing or proceed has no effect.
				late, _ := m.Handle(t0.Add(2*time.Second), call.Signal{From: romeoPDA, To: julietPhone, Element: &jmi.Proceed{ID: "c1"}})
				if info2, _ := m.Call("c1"); info2.State != call.StateEnded {
					t.Errorf("a late proceed reopened it: %q", render(late))
				}
			}
		})
	}
}
