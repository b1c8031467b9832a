package client

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/internal/rawxmpp"
	"mellium.im/xmpp/disco"
	"mellium.im/xmpp/disco/info"
)

// TestCapsVerXEP0115 is the simple example of XEP-0115 §5.2.
func TestCapsVerXEP0115(t *testing.T) {
	got := CapsVer([]info.Identity{{Category: "client", Type: "pc", Name: "Exodus 0.9.1"}}, []string{
		"http://jabber.org/protocol/muc", // out of order: the hash sorts
		"http://jabber.org/protocol/caps",
		"http://jabber.org/protocol/disco#info",
		"http://jabber.org/protocol/disco#items",
	})
	if want := "QgayPKawpkPSDYmwT/WM94uAlu0="; got != want {
		t.Errorf("CapsVer = %s, want %s", got, want)
	}
}

var (
	capsElem = regexp.MustCompile(`<c [^>]*>`)
	verAttr  = regexp.MustCompile(`ver=['"]([^'"]+)['"]`)
)

// capsVerOf returns the ver of the caps element in raw presence, in
// whatever order the server wrote its attributes.
func capsVerOf(raw string) (string, bool) {
	for _, c := range capsElem.FindAllString(raw, -1) {
		if strings.Contains(c, NSCaps) {
			if m := verAttr.FindStringSubmatch(c); m != nil {
				return m[1], true
			}
		}
	}
	return "", false
}

// TestE2ECaps: the presence jmi sends carries XEP-0115 capabilities, and
// disco#info on the node#ver they name lists features whose hash is that
// ver, JMI among them.
func TestE2ECaps(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	watcher := w.raw(t, "juliet", "watcher") // the account's own presence reaches it
	if err := watcher.Send(`<presence/>`); err != nil {
		t.Fatal(err)
	}
	phone := w.device(t, "juliet", "phone")
	romeo := w.device(t, "romeo", "orchard")
	p, err := watcher.Wait(ctx, func(s rawxmpp.Stanza) bool {
		return s.Name == "presence" && s.From() == phone.Account().String() && s.Type() == ""
	})
	if err != nil {
		t.Fatalf("no presence from the phone: %v", err)
	}
	ver, ok := capsVerOf(p.Raw)
	if !ok {
		t.Fatalf("the phone's presence has no caps: %s", p.Raw)
	}
	got, err := disco.GetInfo(ctx, CapsNode+"#"+ver, phone.Account(), romeo.sess())
	if err != nil {
		t.Fatalf("disco#info on the caps node: %v", err)
	}
	var vars []string
	hasJMI := false
	for _, f := range got.Features {
		vars = append(vars, f.Var)
		hasJMI = hasJMI || f.Var == jmi.NS
	}
	if !hasJMI {
		t.Errorf("features %v lack %s", vars, jmi.NS)
	}
	if h := CapsVer(got.Identity, vars); h != ver {
		t.Errorf("the features answered hash to %s, the presence says %s", h, ver)
	}
	if _, err := disco.GetInfo(ctx, CapsNode+"#not-our-ver", phone.Account(), romeo.sess()); err == nil {
		t.Error("disco#info on a node that is not ours answered")
	}
}
