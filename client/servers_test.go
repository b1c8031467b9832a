package client

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/internal/ejabberdtest"
	"github.com/jmi-xmpp/jmi/internal/prosodytest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	ejabberdtest.CloseShared()
	os.Exit(code)
}

// testServer is a private XMPP server of one of the kinds jmi is tested
// against, as the end-to-end scenarios see it.
type testServer interface {
	// Kind names the server software: "prosody" or "ejabberd".
	Kind() string
	// Domain is the domain of every account.
	Domain() string
	// Addr is host:port for STARTTLS (and plaintext) connections.
	Addr() string
	// TLSAddr is host:port for direct-TLS connections.
	TLSAddr() string
	// CAFile is the certificate to trust for the server.
	CAFile() string
	// TLS is the mode the scenarios log in with.
	TLS() TLSMode
	// Users registers a fresh account for each name and returns their
	// localparts, in order; each has the password Password(localpart).
	Users(t testing.TB, names ...string) []string
	// Password is the password of an account Users made.
	Password(localpart string) string
	// Stop stops the server, keeping its data; Restart starts it again.
	Stop() error
	Restart(ctx context.Context) error
}

// serverKinds are the servers every scenario runs against.
var serverKinds = []struct {
	name  string
	start func(testing.TB) testServer
}{
	{"prosody", newProsody},
	{"ejabberd", newEjabberd},
}

// onEveryServer runs f as a subtest per server kind.
func onEveryServer(t *testing.T, f func(t *testing.T, srv testServer)) {
	t.Helper()
	for _, k := range serverKinds {
		t.Run(k.name, func(t *testing.T) { f(t, k.start(t)) })
	}
}

// prosodyServer is a private Prosody of one test (it starts in 0.1 s).
type prosodyServer struct{ s *prosodytest.Server }

func newProsody(t testing.TB) testServer {
	return prosodyServer{prosodytest.New(t, prosodytest.Options{})}
}

func (p prosodyServer) Kind() string                      { return "prosody" }
func (p prosodyServer) Domain() string                    { return p.s.Domain }
func (p prosodyServer) Addr() string                      { return p.s.Addr }
func (p prosodyServer) TLSAddr() string                   { return p.s.TLSAddr }
func (p prosodyServer) CAFile() string                    { return p.s.CAFile }
func (p prosodyServer) TLS() TLSMode                      { return StartTLS }
func (p prosodyServer) Password(local string) string      { return prosodytest.Password(local) }
func (p prosodyServer) Stop() error                       { return p.s.Stop() }
func (p prosodyServer) Restart(ctx context.Context) error { return p.s.Restart(ctx) }

// Users registers the names as they are: the server is the test's own.
func (p prosodyServer) Users(t testing.TB, names ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, n := range names {
		if err := p.s.Register(ctx, n, prosodytest.Password(n)); err != nil {
			t.Fatal(err)
		}
	}
	return names
}

// ejabberdServer is the test binary's one private ejabberd (it starts in
// about 2.5 s), with fresh accounts per test.
type ejabberdServer struct{ s *ejabberdtest.Server }

func newEjabberd(t testing.TB) testServer { return ejabberdServer{ejabberdtest.Shared(t)} }

func (e ejabberdServer) Kind() string                      { return "ejabberd" }
func (e ejabberdServer) Domain() string                    { return e.s.Domain }
func (e ejabberdServer) Addr() string                      { return e.s.Addr }
func (e ejabberdServer) TLSAddr() string                   { return e.s.TLSAddr }
func (e ejabberdServer) CAFile() string                    { return e.s.CAFile }
func (e ejabberdServer) TLS() TLSMode                      { return StartTLS }
func (e ejabberdServer) Password(local string) string      { return ejabberdtest.Password(local) }
func (e ejabberdServer) Stop() error                       { return e.s.Stop() }
func (e ejabberdServer) Restart(ctx context.Context) error { return e.s.Restart(ctx) }

// Users registers the names with a number no other test used.
func (e ejabberdServer) Users(t testing.TB, names ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	locals, err := e.s.Users(ctx, names...)
	if err != nil {
		t.Fatal(err)
	}
	return locals
}
