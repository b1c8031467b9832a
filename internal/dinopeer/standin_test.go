package dinopeer_test

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// jingleFeatures are what Dino 0.4.2 looks for in a device's disco#info
// before it offers a call (Jingle, RTP, ICE-UDP; JMI to propose).
var jingleFeatures = []string{
	"http://jabber.org/protocol/disco#info",
	"urn:xmpp:jingle:1",
	"urn:xmpp:jingle:apps:rtp:1",
	"urn:xmpp:jingle:apps:rtp:audio",
	"urn:xmpp:jingle:transports:ice-udp:1",
	"urn:xmpp:jingle:apps:dtls:0",
	"urn:xmpp:jingle-message:0",
}

// capsVer is the XEP-0115 verification string of a client identity with
// the features.
func capsVer(features []string) string {
	fs := append([]string(nil), features...)
	sort.Strings(fs)
	s := "client/pc//standin<" + strings.Join(fs, "<") + "<"
	sum := sha1.Sum([]byte(s))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// advertiser is a bare XMPP session on an account that does nothing but
// advertise Jingle audio in its presence (to one JID) and its disco#info:
// it stands in for what jmi does not advertise yet, so that Dino offers
// to call the account, whose jmi device then gets the propose sent to the
// bare JID. It answers no call; it ignores every message.
type advertiser struct {
	conn     net.Conn
	done     chan struct{}
	presence string
}

var iqGet = regexp.MustCompile(`<iq[^>]*type=['"]get['"][^>]*>`)
var attrRE = func(name string) *regexp.Regexp { return regexp.MustCompile(name + `=['"]([^'"]*)['"]`) }

func startAdvertiser(t *testing.T, addr, user, domain, password, resource, presenceTo string) *advertiser {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(wait))
	r := bufio.NewReader(c)
	readUntil := func(s string) string {
		t.Helper()
		var b strings.Builder
		buf := make([]byte, 4096)
		for !strings.Contains(b.String(), s) {
			n, err := r.Read(buf)
			if err != nil {
				t.Fatalf("advertiser: waiting for %q: %v (got %q)", s, err, b.String())
			}
			b.Write(buf[:n])
		}
		return b.String()
	}
	header := fmt.Sprintf(`<?xml version='1.0'?><stream:stream to='%s' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`, domain)
	fmt.Fprint(c, header)
	readUntil("</stream:features>")
	// Plaintext PLAIN is allowed by the test server on loopback only.
	fmt.Fprintf(c, `<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>%s</auth>`, base64.StdEncoding.EncodeToString([]byte("\x00"+user+"\x00"+password)))
	readUntil("<success")
	fmt.Fprint(c, header)
	readUntil("</stream:features>")
	fmt.Fprintf(c, `<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>%s</resource></bind></iq>`, resource)
	readUntil("</iq>")
	_ = c.SetDeadline(time.Time{})
	a := &advertiser{conn: c, done: make(chan struct{}),
		presence: fmt.Sprintf(`<presence to='%s'><c xmlns='http://jabber.org/protocol/caps' hash='sha-1' node='urn:jmi:standin' ver='%s'/></presence>`, presenceTo, capsVer(jingleFeatures))}
	go a.serve(r)
	a.announce(t)
	t.Cleanup(a.close)
	return a
}

// serve answers disco#info gets; everything else is read and dropped.
func (a *advertiser) serve(r io.Reader) {
	defer close(a.done)
	buf := make([]byte, 1<<16)
	var pending string
	for {
		n, err := r.Read(buf)
		if err != nil {
			return
		}
		pending += string(buf[:n])
		for {
			loc := iqGet.FindStringIndex(pending)
			if loc == nil {
				break
			}
			tag := pending[loc[0]:loc[1]]
			end := strings.Index(pending[loc[0]:], "</iq>")
			if end < 0 && !strings.HasSuffix(tag, "/>") {
				break
			}
			body := pending[loc[0]:]
			if end >= 0 {
				body = body[:end]
				pending = pending[loc[0]+end:]
			} else {
				pending = pending[loc[1]:]
			}
			id, from := attrRE("id").FindStringSubmatch(tag), attrRE("from").FindStringSubmatch(tag)
			if id == nil || from == nil {
				continue
			}
			if !strings.Contains(body, "disco#info") {
				fmt.Fprintf(a.conn, `<iq type='error' id='%s' to='%s'><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`, id[1], from[1])
				continue
			}
			node := attrRE("node").FindStringSubmatch(body)
			var q strings.Builder
			q.WriteString(`<query xmlns='http://jabber.org/protocol/disco#info'`)
			if node != nil {
				fmt.Fprintf(&q, ` node='%s'`, node[1])
			}
			q.WriteString(`><identity category='client' type='pc' name='standin'/>`)
			for _, f := range jingleFeatures {
				fmt.Fprintf(&q, `<feature var='%s'/>`, f)
			}
			q.WriteString(`</query>`)
			fmt.Fprintf(a.conn, `<iq type='result' id='%s' to='%s'>%s</iq>`, id[1], from[1], q.String())
		}
		if len(pending) > 1<<20 {
			pending = ""
		}
	}
}

// announce sends the directed presence with the caps (again: a Dino
// started anew has not seen it).
func (a *advertiser) announce(t *testing.T) {
	t.Helper()
	if _, err := io.WriteString(a.conn, a.presence); err != nil {
		t.Fatal(err)
	}
}

func (a *advertiser) close() {
	a.conn.Close()
	<-a.done
}
