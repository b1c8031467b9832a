package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"crypto/tls"
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/jmi-xmpp/jmi/internal/xmppfix"
	"mellium.im/sasl"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
)

// TestDialSessionModes logs in with every TLS mode on every server and
// checks that the requested resource is the one bound (mellium v0.22.0
// alone loses it). On ejabberd 23.01 a STARTTLS or direct-TLS login (TLS
// 1.3) failed with "Invalid channel binding" while jmi sent SCRAM-*-PLUS with
// tls-exporter, which ejabberd offers but does not implement.
func TestDialSessionModes(t *testing.T) {
	onEveryServer(t, func(t *testing.T, srv testServer) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		user := srv.Users(t, "juliet")[0]
		cases := []struct {
			name   string
			mode   TLSMode
			server string
		}{
			{"starttls", StartTLS, srv.Addr()},
			{"direct", DirectTLS, srv.TLSAddr()},
			{"plaintext-loopback", Plaintext, srv.Addr()},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				addr := jid.MustParse(user + "@" + srv.Domain() + "/phone-" + tc.name)
				s, err := dialSession(ctx, addr, srv.Password(user), tc.server, tc.mode, srv.CAFile())
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				if got := s.LocalAddr().String(); got != addr.String() {
					t.Errorf("bound %s, want %s", got, addr)
				}
			})
		}
	})
}

// TestLoginChannelBinding logs in over TLS 1.3 and TLS 1.2 on every server
// and checks the SASL choice (xmppfix.Choose) against what each server
// offers; none of the two announces its bindings (XEP-0440):
//   - ejabberd 23.01 offers SCRAM-SHA-256-PLUS on both versions but binds
//     with tls-unique only: bare SCRAM on TLS 1.3, -PLUS on TLS 1.2;
//   - Prosody 0.12.3 offers -PLUS (tls-unique) on TLS 1.2 only: -PLUS there,
//     and bare SCRAM with flag 'y' on TLS 1.3, which it accepts because it
//     cannot bind there.
func TestLoginChannelBinding(t *testing.T) {
	want := map[string]map[uint16]string{
		"ejabberd": {tls.VersionTLS13: "SCRAM-SHA-256 n", tls.VersionTLS12: "SCRAM-SHA-256-PLUS p=tls-unique"},
		"prosody":  {tls.VersionTLS13: "SCRAM-SHA-1 y", tls.VersionTLS12: "SCRAM-SHA-1-PLUS p=tls-unique"},
	}
	onEveryServer(t, func(t *testing.T, srv testServer) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		user := srv.Users(t, "juliet")[0]
		for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
			for _, m := range []struct {
				mode   TLSMode
				server string
			}{{StartTLS, srv.Addr()}, {DirectTLS, srv.TLSAddr()}} {
				t.Run(fmt.Sprintf("%s/%s", tls.VersionName(v), m.mode), func(t *testing.T) {
					var got string
					tune := dialTuning{maxTLS: v, chosen: func(c xmppfix.Choice) {
						got = c.Mechanism.Name + " " + string(c.Flag)
						if c.Binding != "" {
							got += "=" + c.Binding
						}
					}}
					addr := jid.MustParse(user + "@" + srv.Domain() + "/cb")
					s, err := dialSessionWith(ctx, addr, srv.Password(user), m.server, m.mode, srv.CAFile(), tune)
					if err != nil {
						t.Fatalf("%v (chose %s)", err, got)
					}
					defer s.Close()
					if v := s.ConnectionState().Version; v != 0 && got != want[srv.Kind()][v] {
						t.Errorf("chose %q, want %q", got, want[srv.Kind()][v])
					}
				})
			}
		}
	})
}

// TestLoginStrippedPlusDetected: someone between jmi and the server (who
// can also break TLS) removes the -PLUS mechanisms from the list; jmi then
// sends flag 'y' (it could bind), and a server that binds on this connection
// (both do on TLS 1.2) should refuse the login rather than go on unbound.
// Prosody 0.12.3 does; ejabberd 23.01 does not check the flag and accepts.
func TestLoginStrippedPlusDetected(t *testing.T) {
	refuses := map[string]bool{"prosody": true, "ejabberd": false}
	onEveryServer(t, func(t *testing.T, srv testServer) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		user := srv.Users(t, "juliet")[0]
		addr := jid.MustParse(user + "@" + srv.Domain() + "/cb")
		tlsCfg, err := tlsConfig(srv.Domain(), srv.CAFile())
		if err != nil {
			t.Fatal(err)
		}
		tlsCfg.MaxVersion = tls.VersionTLS12
		var flag byte
		stripped := xmppfix.SASL("", srv.Password(user), func(c xmppfix.Choice) { flag = c.Flag }, sasl.ScramSha256Plus, sasl.ScramSha1Plus, sasl.ScramSha256, sasl.ScramSha1)
		parse := stripped.Parse
		stripped.Parse = func(ctx context.Context, d *xml.Decoder, start *xml.StartElement) (bool, interface{}, error) {
			req, data, err := parse(ctx, d, start)
			names, _ := data.([]string)
			var kept []string
			for _, n := range names {
				if !strings.HasSuffix(n, "-PLUS") {
					kept = append(kept, n)
				}
			}
			return req, kept, err
		}
		conn, err := tls.Dial("tcp", srv.TLSAddr(), tlsCfg)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		s, err := xmpp.NewSession(ctx, addr.Domain(), addr, conn, xmpp.Secure, xmpp.NewNegotiator(func(*xmpp.Session, *xmpp.StreamConfig) xmpp.StreamConfig {
			return xmpp.StreamConfig{Features: []xmpp.StreamFeature{xmppfix.ChannelBindings(), stripped, xmppfix.BindResource()}}
		}))
		if flag != 'y' {
			t.Fatalf("sent flag %q, want 'y'", flag)
		}
		if err == nil {
			s.Close()
		}
		if refused := err != nil; refused != refuses[srv.Kind()] {
			t.Errorf("%s refused the login: %v (%v), want %v", srv.Kind(), refused, err, refuses[srv.Kind()])
		}
	})
}

func TestDialSessionRefusals(t *testing.T) {
	onEveryServer(t, func(t *testing.T, srv testServer) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		user := srv.Users(t, "juliet")[0]
		addr := jid.MustParse(user + "@" + srv.Domain() + "/phone")
		t.Run("wrong-password", func(t *testing.T) {
			if _, err := dialSession(ctx, addr, "nope", srv.Addr(), StartTLS, srv.CAFile()); err == nil {
				t.Fatal("logged in with a wrong password")
			}
		})
		t.Run("untrusted-certificate", func(t *testing.T) {
			if _, err := dialSession(ctx, addr, srv.Password(user), srv.Addr(), StartTLS, ""); err == nil {
				t.Fatal("accepted a self-signed certificate without the CA file")
			}
		})
		t.Run("plaintext-not-loopback", func(t *testing.T) {
			_, err := dialSession(ctx, addr, srv.Password(user), "192.0.2.1:5222", Plaintext, "")
			if !errors.Is(err, ErrPlaintextNotLoopback) {
				t.Fatalf("got %v, want ErrPlaintextNotLoopback", err)
			}
		})
	})
}
