package sdp_test

import (
	"testing"

	"github.com/jmi-xmpp/jmi/jingle/sdp"
)

// BenchmarkFromJingle translates Conversations' session-initiate (twelve
// payload types, header extensions, a source).
func BenchmarkFromJingle(b *testing.B) {
	j := parseFile(b, "../testdata/wire/conversations-session-initiate.xml").Jingle
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sdp.FromJingle(j, sdp.Initiator); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkToJingle translates pion's offer, with what it drops.
func BenchmarkToJingle(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sdp.ToJingle(pionOffer, sdp.Initiator); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCandidate reads a candidate line of pion's and writes it again,
// the work of one trickled candidate each way.
func BenchmarkCandidate(b *testing.B) {
	const line = "candidate:842163049 1 udp 1686052607 198.51.100.7 50123 typ srflx raddr 192.0.2.10 rport 50123 generation 0"
	b.ReportAllocs()
	for b.Loop() {
		c, err := sdp.CandidateToJingle(line)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := sdp.CandidateFromJingle("0", c); err != nil {
			b.Fatal(err)
		}
	}
}
