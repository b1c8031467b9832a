package extdisco_test

import (
	"os"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/extdisco"
)

// BenchmarkParseICEServers: Prosody's answer to ICE servers, what a call
// set-up adds when it fetches the services.
func BenchmarkParseICEServers(b *testing.B) {
	in, err := os.ReadFile("testdata/wire/prosody-0.12-turn-external.xml")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		el, err := extdisco.Parse(in)
		if err != nil {
			b.Fatal(err)
		}
		if servers, _ := extdisco.ICEServers(el.Services, now); len(servers) != 2 {
			b.Fatal(len(servers))
		}
	}
}
