package xmppfix

import (
	"crypto/tls"
	"errors"
	"strings"
	"testing"

	"mellium.im/sasl"
)

var clientMechs = []sasl.Mechanism{sasl.ScramSha256Plus, sasl.ScramSha1Plus, sasl.ScramSha256, sasl.ScramSha1}

// TestChoose: the mechanism, binding and flag for what servers announce,
// on TLS 1.3, TLS 1.2 and without TLS. Every case that picks a -PLUS
// mechanism also checks that mellium's sasl sends the binding named.
func TestChoose(t *testing.T) {
	const v13, v12 = tls.VersionTLS13, tls.VersionTLS12
	ejabberd := []string{"PLAIN", "SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"}
	prosody12 := []string{"PLAIN", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-1"}
	prosody13 := []string{"PLAIN", "SCRAM-SHA-1"}
	cases := []struct {
		name      string
		ours      []sasl.Mechanism
		offered   []string
		announced []string // nil: no <sasl-channel-binding/>
		tls       uint16
		mech      string
		binding   string
		flag      byte
		err       error
	}{
		// ejabberd 23.01 and Prosody 0.12.3: no XEP-0440.
		{name: "ejabberd-23.01/tls1.3->bare,n", offered: ejabberd, tls: v13, mech: "SCRAM-SHA-256", flag: 'n'},
		{name: "ejabberd-23.01/tls1.2->plus,tls-unique", offered: ejabberd, tls: v12, mech: "SCRAM-SHA-256-PLUS", binding: "tls-unique", flag: 'p'},
		{name: "prosody-0.12/tls1.3(no-plus)->bare,y", offered: prosody13, tls: v13, mech: "SCRAM-SHA-1", flag: 'y'},
		{name: "prosody-0.12/tls1.2->plus,tls-unique", offered: prosody12, tls: v12, mech: "SCRAM-SHA-1-PLUS", binding: "tls-unique", flag: 'p'},
		// XEP-0440 announced.
		{name: "announces-tls-exporter/tls1.3->plus", offered: ejabberd, announced: []string{"tls-server-end-point", "tls-exporter"}, tls: v13, mech: "SCRAM-SHA-256-PLUS", binding: "tls-exporter", flag: 'p'},
		{name: "announces-tls-exporter/tls1.2->bare,n", offered: ejabberd, announced: []string{"tls-exporter"}, tls: v12, mech: "SCRAM-SHA-256", flag: 'n'},
		{name: "announces-tls-unique/tls1.2->plus", offered: ejabberd, announced: []string{"tls-unique"}, tls: v12, mech: "SCRAM-SHA-256-PLUS", binding: "tls-unique", flag: 'p'},
		{name: "announces-tls-unique/tls1.3->bare,n", offered: ejabberd, announced: []string{"tls-unique"}, tls: v13, mech: "SCRAM-SHA-256", flag: 'n'},
		{name: "announces-tls-server-end-point-only->bare,n", offered: ejabberd, announced: []string{"tls-server-end-point"}, tls: v13, mech: "SCRAM-SHA-256", flag: 'n'},
		{name: "announces-nothing-known->bare,n", offered: ejabberd, announced: []string{}, tls: v13, mech: "SCRAM-SHA-256", flag: 'n'},
		{name: "announces-but-plus-stripped->refused", offered: []string{"SCRAM-SHA-256"}, announced: []string{"tls-exporter"}, tls: v13, err: ErrPlusStripped},
		// No -PLUS, nothing announced.
		{name: "no-plus/tls1.3->bare,y", offered: []string{"SCRAM-SHA-256", "SCRAM-SHA-1"}, tls: v13, mech: "SCRAM-SHA-256", flag: 'y'},
		{name: "no-plus/tls1.2->bare,y", offered: []string{"SCRAM-SHA-1"}, tls: v12, mech: "SCRAM-SHA-1", flag: 'y'},
		// Without TLS: no binding, no PLAIN.
		{name: "no-tls->bare,n", offered: ejabberd, tls: 0, mech: "SCRAM-SHA-256", flag: 'n'},
		{name: "no-tls/plain-only->refused", ours: []sasl.Mechanism{sasl.Plain}, offered: []string{"PLAIN"}, tls: 0, err: errors.New("no SASL mechanism in common")},
		{name: "tls/plain-only->plain", ours: []sasl.Mechanism{sasl.Plain}, offered: []string{"PLAIN"}, tls: v13, mech: "PLAIN", flag: 'n'},
		// A client without -PLUS variants does not bind, and says so.
		{name: "ours-without-plus/no-plus-offered->bare,n", ours: []sasl.Mechanism{sasl.ScramSha256}, offered: []string{"SCRAM-SHA-256"}, tls: v13, mech: "SCRAM-SHA-256", flag: 'n'},
		// Our -PLUS variant not offered: bare.
		{name: "plus-of-another-hash->bare,n", ours: []sasl.Mechanism{sasl.ScramSha256Plus, sasl.ScramSha256}, offered: []string{"SCRAM-SHA-1-PLUS", "SCRAM-SHA-256"}, tls: v12, mech: "SCRAM-SHA-256", flag: 'n'},
		{name: "nothing-in-common->refused", offered: []string{"X-OAUTH2"}, tls: v13, err: errors.New("no SASL mechanism in common")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ours := tc.ours
			if ours == nil {
				ours = clientMechs
			}
			got, err := Choose(ours, tc.offered, tc.announced, tc.announced != nil, tc.tls)
			if tc.err != nil {
				if err == nil || !(errors.Is(err, tc.err) || strings.Contains(err.Error(), tc.err.Error())) {
					t.Fatalf("got %+v, %v; want error %v", got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Mechanism.Name != tc.mech || got.Binding != tc.binding || got.Flag != tc.flag {
				t.Fatalf("got %s binding %q flag %c, want %s binding %q flag %c", got.Mechanism.Name, got.Binding, got.Flag, tc.mech, tc.binding, tc.flag)
			}
			if got.Mechanism.Name == "PLAIN" {
				return
			}
			// What mellium's negotiation (xmpp.SASL with this one mechanism)
			// then writes as the GS2 header.
			var opts []sasl.Option
			opts = append(opts, sasl.Credentials(func() ([]byte, []byte, []byte) { return []byte("juliet"), []byte("pw"), nil }),
				sasl.RemoteMechanisms(tc.offered...))
			if tc.tls != 0 {
				opts = append(opts, sasl.TLSState(tls.ConnectionState{Version: tc.tls}))
			}
			_, first, err := sasl.NewClient(got.Mechanism, opts...).Step(nil)
			if err != nil {
				t.Fatal(err)
			}
			want := string(tc.flag) + ",,"
			if tc.flag == 'p' {
				want = "p=" + tc.binding + ",,"
			}
			if !strings.HasPrefix(string(first), want) {
				t.Errorf("client-first message %q, want it to start with %q", first, want)
			}
		})
	}
}
