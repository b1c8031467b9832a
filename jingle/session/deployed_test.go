package session_test

import (
	"os"
	"reflect"
	"testing"

	"github.com/jmi-xmpp/jmi/jingle"
	"github.com/jmi-xmpp/jmi/jingle/session"
	"mellium.im/xmpp/jid"
)

// readIQ parses one of the deployed clients' stanzas of package jingle.
func readIQ(t *testing.T, name string) jingle.IQ {
	t.Helper()
	b, err := os.ReadFile("../testdata/wire/" + name)
	if err != nil {
		t.Fatal(err)
	}
	iq, err := jingle.Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return iq
}

// TestDeployedClients plays the stanzas of Conversations, Dino and Monal
// (as their sources and traces show them) through the responder's engine.
func TestDeployedClients(t *testing.T) {
	type step struct {
		file string
		want []string
	}
	tests := []struct {
		name   string
		self   jid.JID
		remote string
		steps  []step
	}{
		{"Conversations: transport-info overtakes session-initiate, then an ICE restart", juliet, "romeo@montague.example/Conversations.Xy7q", []step{
			{"conversations-transport-info.xml", []string{"result"}},
			{"conversations-session-initiate.xml", []string{"result", "start-media from romeo@montague.example/Conversations.Xy7q with 1 content(s)", "candidates 0 [c7c6f0e9]"}},
			// New credentials and no candidate: an ICE restart, for the media layer.
			{"conversations-ice-restart.xml", []string{"result", "candidates 0 []"}},
		}},
		{"Dino: component 2 dropped; its hang-up is a session-terminate, which finishes the call", jid.MustParse("romeo@localhost/desk"), "juliet@localhost/dino", []step{
			{"dino-session-initiate.xml", []string{"result", "start-media from juliet@localhost/dino with 1 content(s)"}},
			{"dino-transport-info-component2.xml", []string{"result"}},
			{"dino-session-terminate.xml", []string{"result", "stop-media cancel", "finish-call cancel"}},
		}},
		{"Monal: the TCP candidate of its session-initiate is dropped", juliet, "romeo@montague.example/Monal-iOS.4d2f", []step{
			{"monal-session-initiate-tcp.xml", []string{"result", "start-media from romeo@montague.example/Monal-iOS.4d2f with 1 content(s)"}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			first := readIQ(t, tc.steps[0].file)
			m := play(t, tc.self, []session.Input{session.CallAnswered{SID: first.Jingle.SID, Self: tc.self, Remote: jid.MustParse(tc.remote), Media: []string{"audio"}}})
			for _, st := range tc.steps {
				iq := readIQ(t, st.file)
				effs, err := m.Handle(t0, session.IQReceived{IQ: iq})
				if err != nil {
					t.Fatal(err)
				}
				got := render(effs)
				if len(got) > 0 && got[0] == "result "+iq.ID+" to "+iq.From {
					got[0] = "result"
				}
				if !reflect.DeepEqual(got, st.want) {
					t.Errorf("%s:\n got %q\nwant %q", st.file, got, st.want)
				}
				for _, e := range effs {
					if sm, ok := e.(session.StartMedia); ok {
						for _, c := range sm.Offer {
							for _, cand := range c.Transport.Candidates {
								if cand.Protocol != "udp" || cand.Component != 1 {
									t.Errorf("%s: the offer keeps candidate %+v", st.file, cand)
								}
							}
						}
					}
				}
			}
		})
	}
}
