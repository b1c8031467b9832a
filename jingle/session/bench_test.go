package session_test

import (
	"testing"

	"github.com/jmi-xmpp/jmi/jingle"
	"github.com/jmi-xmpp/jmi/jingle/session"
)

// BenchmarkSessionFlow measures one whole session on the responder: the
// call answered, two early transport-info, the session-initiate, the
// accept, two local candidates with their answers, and the peer's
// session-terminate.
func BenchmarkSessionFlow(b *testing.B) {
	ins := []session.Input{
		answeredR,
		recv(romeo, "t1", transportInfo(candidate("c1", 1, "udp"))),
		recv(romeo, "t2", transportInfo(candidate("c2", 2, "udp"))),
		recv(romeo, "i1", action(jingle.ActionSessionInitiate, audio0)),
		session.Accept{SID: sid, Contents: []jingle.Content{audio0}},
		reply(romeo, 1, nil),
		session.LocalCandidates{SID: sid, Content: "0", Transport: jingle.Transport{Candidates: []jingle.Candidate{candidate("l1", 1, "udp")}}},
		reply(romeo, 2, nil),
		recv(romeo, "x1", &jingle.Jingle{Action: jingle.ActionSessionTerminate, SID: sid}),
	}
	b.ReportAllocs()
	for b.Loop() {
		m := session.New(session.Config{Account: juliet})
		for _, in := range ins {
			if _, err := m.Handle(t0, in); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(ins)), "inputs/op")
}
