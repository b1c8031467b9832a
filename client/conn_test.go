package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/internal/prosodytest"
	"mellium.im/xmpp/jid"
)

// TestDialSessionModes logs in with every TLS mode and checks that the
// requested resource is the one bound (mellium v0.22.0 alone loses it).
func TestDialSessionModes(t *testing.T) {
	srv := prosodytest.New(t, prosodytest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Register(ctx, "juliet", "pw"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		mode   TLSMode
		server string
	}{
		{"starttls", StartTLS, srv.Addr},
		{"direct", DirectTLS, srv.TLSAddr},
		{"plaintext-loopback", Plaintext, srv.Addr},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := jid.MustParse("juliet@" + srv.Domain + "/phone-" + tc.name)
			s, err := dialSession(ctx, addr, "pw", tc.server, tc.mode, srv.CAFile)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := s.LocalAddr().String(); got != addr.String() {
				t.Errorf("bound %s, want %s", got, addr)
			}
		})
	}
}

func TestDialSessionRefusals(t *testing.T) {
	srv := prosodytest.New(t, prosodytest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Register(ctx, "juliet", "pw"); err != nil {
		t.Fatal(err)
	}
	addr := jid.MustParse("juliet@" + srv.Domain + "/phone")
	t.Run("wrong-password", func(t *testing.T) {
		if _, err := dialSession(ctx, addr, "nope", srv.Addr, StartTLS, srv.CAFile); err == nil {
			t.Fatal("logged in with a wrong password")
		}
	})
	t.Run("untrusted-certificate", func(t *testing.T) {
		if _, err := dialSession(ctx, addr, "pw", srv.Addr, StartTLS, ""); err == nil {
			t.Fatal("accepted a self-signed certificate without the CA file")
		}
	})
	t.Run("plaintext-not-loopback", func(t *testing.T) {
		_, err := dialSession(ctx, addr, "pw", "192.0.2.1:5222", Plaintext, "")
		if !errors.Is(err, ErrPlaintextNotLoopback) {
			t.Fatalf("got %v, want ErrPlaintextNotLoopback", err)
		}
	})
}
