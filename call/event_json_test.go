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
