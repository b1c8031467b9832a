package extdisco_test

import (
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/jmi-xmpp/jmi/extdisco"
	"github.com/jmi-xmpp/jmi/internal/goldentest"
)

// FuzzParse checks that no input makes Parse panic or hang; that what it
// accepts holds at most MaxServices services, encodes, and decodes again
// to the same services (decode→encode→decode is stable); and that every
// ICE server ICEServers makes of them parses as pion parses STUN and TURN
// URIs, so that no server's answer can make a PeerConnection fail.
func FuzzParse(f *testing.F) {
	goldentest.Seed(f, extdisco.MaxSize, "testdata/wire", "testdata/bad")
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, in []byte) {
		el, err := extdisco.Parse(in)
		if err != nil {
			return
		}
		if n := len(el.Services) + len(el.Skipped); n > extdisco.MaxServices {
			t.Fatalf("%d services kept or skipped, the limit is %d", n, extdisco.MaxServices)
		}
		first, err := extdisco.Marshal(el)
		if err != nil {
			t.Fatalf("cannot encode what was decoded: %v", err)
		}
		again, err := extdisco.Parse(first)
		if err != nil {
			t.Fatalf("the encoding does not parse: %v\n%s", err, first)
		}
		el.Skipped = nil
		if a, b := summary(again), summary(el); a != b {
			t.Fatalf("encode→decode changed it:\n%s\nwas\n%s", a, b)
		}
		second, err := extdisco.Marshal(again)
		if err != nil || string(second) != string(first) {
			t.Fatalf("encoded differently the second time (%v):\n%s\n%s", err, first, second)
		}
		servers, _ := extdisco.ICEServers(el.Services, now)
		for _, s := range servers {
			for _, u := range s.URLs {
				if _, err := stun.ParseURI(u); err != nil {
					t.Fatalf("ICE server %q does not parse: %v", u, err)
				}
			}
		}
	})
}
