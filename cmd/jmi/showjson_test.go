package main

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/call"
	"mellium.im/xmpp/jid"
)

// TestShowJSONIgnored: with --json, an ignored input is one JSON line with
// its class ("ignored") and its words ("reason"), which reads back.
func TestShowJSONIgnored(t *testing.T) {
	var out bytes.Buffer
	s := &session{out: &out, json: true}
	tybalt := jid.MustParse("tybalt@example.net/sword")
	s.show(call.Event{Type: call.EventIgnored, Ignored: call.IgnoreForged, Peer: tybalt.Bare(), Device: tybalt,
		Reason: "carbon from tybalt@example.net/sword, not from our own account", At: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)})
	const want = `{"event":"ignored","ignored":"forged","peer":"tybalt@example.net","device":"tybalt@example.net/sword","reason":"carbon from tybalt@example.net/sword, not from our own account","at":"2026-11-25T10:00:00Z"}` + "\n"
	if got := out.String(); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	var back call.Event
	if err := json.Unmarshal(out.Bytes(), &back); err != nil || back.Ignored != call.IgnoreForged {
		t.Errorf("read back: %v, %+v", err, back)
	}
}
