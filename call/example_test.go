package call_test

import (
	"fmt"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
	"mellium.im/xmpp/jid"
)

// A whole call as Juliet's phone sees it: Romeo proposes, the phone rings,
// Juliet answers, Romeo hangs up. Every input carries its time; the engine
// answers with what to send and what to tell the user.
func ExampleMachine() {
	phone := call.New(call.Config{Account: jid.MustParse("juliet@capulet.example/phone")})
	romeo := jid.MustParse("romeo@montague.example/orchard")
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)

	show := func(at time.Duration, in call.Input) {
		effects, err := phone.Handle(t0.Add(at), in)
		if err != nil {
			fmt.Println("error:", err)
		}
		for _, e := range effects {
			switch e := e.(type) {
			case call.Send:
				fmt.Printf("%4s send %s to %s\n", at, e.Element.Kind(), e.To)
			case call.SendPresence:
				fmt.Printf("%4s presence to %s\n", at, e.To)
			case call.Notify:
				fmt.Printf("%4s event %s %s\n", at, e.Event.Type, e.Event.ID)
			}
		}
	}

	// Romeo's propose reaches the phone; Romeo is in Juliet's roster.
	show(0, call.Signal{From: romeo, To: jid.MustParse("juliet@capulet.example"), Trusted: true,
		Element: &jmi.Propose{ID: "c1", Descriptions: []jmi.Description{jmi.RTP("audio")}}})
	// Juliet answers on the phone.
	show(3*time.Second, call.UserProceed{ID: "c1"})
	// Romeo hangs up.
	show(time.Minute, call.Signal{From: romeo, To: jid.MustParse("juliet@capulet.example/phone"),
		Element: &jmi.Finish{ID: "c1", Reason: &jmi.Reason{Condition: jmi.Success}}})
	fmt.Println("next deadline:", phone.NextDeadline().Sub(t0))
	// Output:
	//   0s send ringing to romeo@montague.example/orchard
	//   0s event incoming c1
	//   3s send proceed to romeo@montague.example/orchard
	//   3s send accept to juliet@capulet.example
	//   3s presence to romeo@montague.example/orchard
	//   3s event proceeded c1
	// 1m0s send finish to romeo@montague.example/orchard
	// 1m0s event finished c1
	// next deadline: 24h1m0s
}
