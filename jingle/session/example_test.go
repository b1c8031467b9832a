package session_test

import (
	"fmt"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/jingle"
	"github.com/jmi-xmpp/jmi/jingle/session"
	"mellium.im/xmpp/jid"
)

// ExampleMachine plays the session of Romeo's call after Juliet's phone
// proceeded: Romeo's device initiates, the phone accepts, the phone hangs up.
func ExampleMachine() {
	orchard := jid.MustParse("romeo@montague.example/orchard")
	phone := jid.MustParse("juliet@capulet.example/phone")
	m := session.New(session.Config{Account: orchard})
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	offer := []jingle.Content{{
		Name:        "0",
		Description: &jingle.Description{Media: "audio", Payloads: []jingle.PayloadType{{ID: 0, Name: "PCMU", Clockrate: 8000}}, RTCPMux: true},
		Transport:   &jingle.Transport{Ufrag: "8hhy", Pwd: "asd88fgpdd777uzjYhagZg"},
	}}
	inputs := []session.Input{
		// The JMI engine reported the call answered by the phone.
		session.CallAnswered{SID: "a73sjjvk", Self: orchard, Remote: phone, Outgoing: true, Media: []string{"audio"}},
		// The media layer made its offer.
		session.Initiate{SID: "a73sjjvk", Contents: offer},
		session.ReplyReceived{IQ: jingle.IQ{ID: "jingle-1", Type: "result", From: phone.String()}},
		session.IQReceived{IQ: jingle.IQ{ID: "acc1", Type: "set", From: phone.String(), Jingle: &jingle.Jingle{Action: jingle.ActionSessionAccept, SID: "a73sjjvk", Contents: offer}}},
		session.IQReceived{IQ: jingle.IQ{ID: "end1", Type: "set", From: phone.String(), Jingle: &jingle.Jingle{Action: jingle.ActionSessionTerminate, SID: "a73sjjvk", Reason: &jmi.Reason{Condition: jmi.Success}}}},
	}
	for _, in := range inputs {
		effs, err := m.Handle(now, in)
		if err != nil {
			fmt.Println("error:", err)
		}
		for _, e := range effs {
			switch e := e.(type) {
			case session.SendIQ:
				b, _ := jingle.MarshalIQ(e.IQ)
				if len(b) > 100 {
					b = append(b[:100], "…"...)
				}
				fmt.Printf("send %s\n", b)
			case session.MediaAnswered:
				fmt.Printf("media: apply the answer (%d content)\n", len(e.Answer))
			case session.StopMedia:
				fmt.Printf("media: stop (%s)\n", e.Reason.Condition)
			case session.FinishCall:
				fmt.Printf("JMI: finish call %s (%s)\n", e.SID, e.Reason.Condition)
			}
		}
	}
	// Output:
	// send <iq from="romeo@montague.example/orchard" to="juliet@capulet.example/phone" type="set" id="jingle-1"…
	// send <iq to="juliet@capulet.example/phone" type="result" id="acc1"></iq>
	// media: apply the answer (1 content)
	// send <iq to="juliet@capulet.example/phone" type="result" id="end1"></iq>
	// media: stop (success)
	// JMI: finish call a73sjjvk (success)
}
