package client

import (
	"encoding/xml"
	"strings"
	"testing"

	"github.com/jmi-xmpp/jmi"
	"mellium.im/xmpp/jid"
)

var dinoDevice = jid.MustParse("juliet@capulet.example/dino")

func features(t testing.TB, answer string) ([]string, error) {
	t.Helper()
	return readFeatures(xml.NewDecoder(strings.NewReader(answer)), dinoDevice)
}

// TestReadFeatures: what the device in a call answers to disco#info decides
// whether a Jingle session is started with it, so the answer is read as
// hostile input: an error answer is an error (the caller then starts
// Jingle all the same), features outside disco#info or without var are
// not features, a flood is cut at maxPeerFeatures, and malformed XML is an
// error, never a panic.
func TestReadFeatures(t *testing.T) {
	const (
		ns   = `http://jabber.org/protocol/disco#info`
		head = `<iq xmlns='jabber:client' type='result' from='juliet@capulet.example/dino'><query xmlns='` + ns + `'>`
		tail = `</query></iq>`
	)
	jingle := `<feature var='` + jmi.NSJingle + `'/><feature var='` + nsJingleRTP + `'/><feature var='` + nsJingleRTPAudio + `'/>`
	for _, tc := range []struct {
		name    string
		answer  string
		wantErr bool
		jingle  bool
		n       int
	}{
		{"Jingle audio", head + jingle + tail, false, true, 3},
		{"no Jingle", head + `<feature var='urn:xmpp:jingle-message:0'/>` + tail, false, false, 1},
		{"RTP without audio", head + `<feature var='` + jmi.NSJingle + `'/><feature var='` + nsJingleRTP + `'/>` + tail, false, false, 2},
		{"error answer", `<iq xmlns='jabber:client' type='error'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`, true, false, 0},
		{"features in another namespace", `<iq type='result'><query xmlns='urn:example'>` + strings.ReplaceAll(jingle, "<feature ", "<feature xmlns='urn:example' ") + `</query></iq>`, false, false, 0},
		{"namespaced var", head + `<feature xmlns:x='urn:x' x:var='` + jmi.NSJingle + `'/>` + tail, false, false, 0},
		{"flood", head + strings.Repeat(`<feature var='urn:example:x'/>`, 10*maxPeerFeatures) + jingle + tail, false, false, maxPeerFeatures},
		{"malformed", head + `<feature var='x'>` + tail, true, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := features(t, tc.answer)
			if (err != nil) != tc.wantErr {
				t.Fatalf("readFeatures: %v, want error %v", err, tc.wantErr)
			}
			if len(got) != tc.n || hasJingleAudio(got) != tc.jingle {
				t.Errorf("%d features (Jingle audio %v), want %d (%v)", len(got), hasJingleAudio(got), tc.n, tc.jingle)
			}
		})
	}
}

// FuzzReadFeatures: no answer makes readFeatures panic or keep more than
// maxPeerFeatures.
func FuzzReadFeatures(f *testing.F) {
	f.Add(`<iq type='result'><query xmlns='http://jabber.org/protocol/disco#info'><feature var='urn:xmpp:jingle:1'/></query></iq>`)
	f.Add(`<iq type='error'/>`)
	f.Add(`<iq><query xmlns='http://jabber.org/protocol/disco#info'><feature var='a'><feature var='b'/></feature></query>`)
	f.Fuzz(func(t *testing.T, answer string) {
		got, _ := features(t, answer)
		if len(got) > maxPeerFeatures {
			t.Fatalf("%d features kept, more than %d", len(got), maxPeerFeatures)
		}
	})
}
