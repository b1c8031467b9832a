package call_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/jmi-xmpp/jmi/call"
)

func TestEventJSON(t *testing.T) {
	ev := call.Event{Type: call.EventFinished, ID: "c1", Direction: call.Incoming, Peer: romeo, Device: romeoOrchard,
		Reason: "expired", Text: "Session migrated", MigratedTo: "c2", Elsewhere: true, Media: []string{"audio"}, At: t0}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"event":"finished","id":"c1","peer":"romeo@montague.example","direction":"incoming","device":"romeo@montague.example/orchard","reason":"expired","text":"Session migrated","migrated_to":"c2","elsewhere":true,"media":["audio"],"at":"2026-01-01T10:00:00Z"}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	var back call.Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Peer.String(), ev.Peer.String()) || back.Type != ev.Type || back.MigratedTo != ev.MigratedTo || !back.At.Equal(ev.At) || back.Device.String() != ev.Device.String() {
		t.Errorf("round trip: %+v", back)
	}
	if err := json.Unmarshal([]byte(`{"event":"nonsense"}`), &back); err == nil {
		t.Error("read an unknown event")
	}
}

// TestEventJSONIgnored: an ignored event carries its class beside its words,
// and reads back.
func TestEventJSONIgnored(t *testing.T) {
	ev := call.Event{Type: call.EventIgnored, Ignored: call.IgnoreWrongParty, ID: "c1", Peer: tybalt.Bare(), Device: tybalt,
		Reason: "proceed from someone who is not the callee", At: t0}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"event":"ignored","ignored":"wrong-party","id":"c1","peer":"tybalt@capulet.example","device":"tybalt@capulet.example/sword","reason":"proceed from someone who is not the callee","at":"2026-01-01T10:00:00Z"}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	var back call.Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Type != call.EventIgnored || back.Ignored != call.IgnoreWrongParty || back.Reason != ev.Reason {
		t.Errorf("round trip: %+v", back)
	}
	if err := json.Unmarshal([]byte(`{"event":"ignored","ignored":"nonsense"}`), &back); err == nil {
		t.Error("read an unknown ignored class")
	}
	// Other events carry no class.
	if b, _ := json.Marshal(call.Event{Type: call.EventMissed, ID: "c2"}); string(b) != `{"event":"missed","id":"c2"}` {
		t.Errorf("a missed event: %s", b)
	}
}
