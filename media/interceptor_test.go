package media

import (
	"strings"
	"testing"
)

// TestOfferKeepsTransportCC checks that the offer made with the session's
// own interceptors still asks for what pion's default set asked for an
// audio call: transport-wide congestion control feedback on each payload
// type and its RTP header extension, so that peers see the same offer.
func TestOfferKeepsTransportCC(t *testing.T) {
	s, err := NewSession(Config{Role: Initiator, LoopbackOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	contents, err := s.Offer()
	if err != nil {
		t.Fatal(err)
	}
	d := contents[0].Description
	ext := false
	for _, h := range d.HeaderExtensions {
		ext = ext || strings.Contains(h.URI, "transport-wide-cc")
	}
	if !ext {
		t.Errorf("the offer has no transport-wide-cc header extension: %+v", d.HeaderExtensions)
	}
	for _, p := range d.Payloads {
		fb := false
		for _, f := range p.Feedback {
			fb = fb || f.Type == "transport-cc"
		}
		if !fb {
			t.Errorf("payload type %s/%d has no transport-cc feedback: %+v", p.Name, p.Clockrate, p.Feedback)
		}
	}
}
