package client

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/internal/ejabberdtest"
	"github.com/jmi-xmpp/jmi/internal/netns"
	"github.com/jmi-xmpp/jmi/internal/prosodytest"
)

// federationSkipEnv, set to 1, lets TestFederation skip where it cannot run
// (no root for the namespaces); otherwise it fails.
const federationSkipEnv = "JMI_SKIP_FEDERATION"

// The servers of the federation tests: each with a domain and a loopback
// address of its own, in a private /etc/hosts, listening on 5222 (clients)
// and 5269 (servers), as deployed servers do. The fixed ports and the hosts
// file are why the test runs in private network and mount namespaces: no
// other program on the machine shares that loopback or sees that file.
var federationHosts = []struct{ domain, addr string }{
	{"a.test", "127.0.0.2"}, // Prosody
	{"b.test", "127.0.0.3"}, // Prosody
	{"c.test", "127.0.0.4"}, // ejabberd
}

// federationOpen are the cases that fail for a reason found in a server,
// not in jmi: skipped by name, listed by ./dev test under SKIPPED TESTS,
// and run anyway with JMI_FEDERATION_OPEN=1.
var federationOpen = map[string]string{
	// None now. "prosody-ejabberd/restart-mid-call" was here: after the
	// restart the phone's proceed never reached Romeo in 3 runs of 3. The
	// cause was jmi's: the phone wrote its answer into the socket ejabberd
	// had closed, before it read the close, and so never queued it; since
	// the client closes its side at once, the case passed 5 runs of 5.
}

// federationOpenEnv, set to 1, runs the cases of federationOpen too.
const federationOpenEnv = "JMI_FEDERATION_OPEN"

// federatedServer is a testServer that can hold contacts on other servers.
type federatedServer interface {
	testServer
	// addContact puts contact (a bare JID on another server) into the
	// roster of the account local, with a subscription both ways, before
	// the account first logs in.
	addContact(t testing.TB, local, contact string)
}

// TestFederation runs the end-to-end scenarios with Romeo on one server
// and Juliet on another, over s2s: TestFederation/prosody-prosody/...,
// TestFederation/prosody-ejabberd/... (Juliet on ejabberd), and
// TestFederation/ejabberd-prosody/... (Romeo on ejabberd). Romeo and Juliet
// are contacts, and their devices trust the roster. The test runs in
// private namespaces, which need root: without it, it fails, unless
// JMI_SKIP_FEDERATION=1.
func TestFederation(t *testing.T) {
	if !netns.Inside() {
		netns.Rerun(t, federationSkipEnv)
		return
	}
	if err := netns.SetUp(); err != nil {
		t.Fatal(err)
	}
	// The names in /etc/hosts (Prosody reads it) and in a DNS server of
	// the namespace (ejabberd resolves only through DNS).
	hosts, names := "127.0.0.1 localhost\n", map[string]string{}
	for _, h := range federationHosts {
		hosts += h.addr + " " + h.domain + "\n"
		names[h.domain] = h.addr
	}
	dns, err := netns.StartDNS("127.0.0.1:53", names)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dns.Close() })
	dir := t.TempDir()
	// Unmounted at the end, so that -count=N can mount them again: the
	// file under the deleted dir would leave a mount nothing can replace.
	for _, f := range []struct{ path, content string }{
		{"/etc/hosts", hosts},
		{"/etc/resolv.conf", "nameserver 127.0.0.1\n"},
	} {
		unmount, err := netns.BindFile(dir, f.path, []byte(f.content))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := unmount(); err != nil {
				t.Error(err)
			}
		})
	}
	// Each server starts when a pair first needs it (ejabberd takes
	// seconds), and serves every scenario of every pair it is in, with
	// fresh accounts per scenario.
	a := lazyServer(t, startFederatedProsody, 0)
	b := lazyServer(t, startFederatedProsody, 1)
	c := lazyServer(t, startFederatedEjabberd, 2)
	pairs := []struct {
		name          string
		romeo, juliet func(testing.TB) federatedServer
	}{
		{"prosody-prosody", a, b},
		{"prosody-ejabberd", a, c},
		{"ejabberd-prosody", c, b},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					if why, open := federationOpen[p.name+"/"+sc.name]; open && os.Getenv(federationOpenEnv) != "1" {
						netns.ReportSkip(fmt.Sprintf("%s: open: %s (%s=1 runs it)", t.Name(), why, federationOpenEnv))
						t.Skipf("SKIPPED, open: %s (%s=1 runs it)", why, federationOpenEnv)
					}
					start := time.Now()
					sc.run(t, newFederatedWorld(t, p.romeo(t), p.juliet(t)))
					t.Logf("%s took %s", t.Name(), time.Since(start).Round(time.Millisecond))
				})
			}
		})
	}
}

// lazyServer starts the server of federationHosts[i] at its first use, in
// whichever subtest that is, and stops it when test ends, with its log if
// test failed.
func lazyServer(test *testing.T, start func(i int) (federatedServer, func() string, func() error, error), i int) func(testing.TB) federatedServer {
	var once struct {
		sync.Once
		srv federatedServer
		err error
	}
	return func(t testing.TB) federatedServer {
		t.Helper()
		once.Do(func() {
			var log func() string
			var closeServer func() error
			once.srv, log, closeServer, once.err = start(i)
			if once.err != nil {
				return
			}
			test.Cleanup(func() {
				if test.Failed() {
					test.Logf("%s log:\n%s", federationHosts[i].domain, log())
				}
				if err := closeServer(); err != nil {
					test.Errorf("stopping %s: %v", federationHosts[i].domain, err)
				}
			})
		})
		if once.err != nil {
			t.Fatal(once.err)
		}
		return once.srv
	}
}

// newFederatedWorld is a world with Romeo's accounts (and everyone else's
// but Juliet's) on romeo and Juliet's on juliet; Romeo and Juliet are
// contacts, subscribed both ways, on both servers.
//
// The rosters are written on each server directly, before the first login,
// not made with the subscription handshake: the handshake crosses the
// servers four times and ends with roster pushes on both sides, which a
// test would have to wait for on two servers before every scenario, while
// a written roster is the same on both sides at once, and it is how the
// single-server harnesses make contacts too.
func newFederatedWorld(t testing.TB, romeo, juliet federatedServer) *world {
	t.Helper()
	w := &world{srv: juliet, remote: romeo, users: map[string]string{}, rosterTrust: true}
	w.addUsers(t, "romeo", "juliet")
	romeo.addContact(t, w.users["romeo"], w.bare("juliet").String())
	juliet.addContact(t, w.users["juliet"], w.bare("romeo").String())
	return w
}

// federatedProsody is a Prosody with s2s, shared by the scenarios: unlike
// the Prosody of one test, it gives each scenario fresh accounts.
type federatedProsody struct {
	prosodyServer
	mu   sync.Mutex
	next int
}

func startFederatedProsody(i int) (federatedServer, func() string, func() error, error) {
	h := federationHosts[i]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := prosodytest.Start(ctx, prosodytest.Options{Domain: h.domain, Host: h.addr, Port: 5222, S2S: true, Debug: os.Getenv(ejabberdtest.DebugEnv) == "1"})
	if err != nil {
		return nil, nil, nil, err
	}
	return &federatedProsody{prosodyServer: prosodyServer{s}}, s.Log, s.Close, nil
}

// Users registers the names with a number no other scenario used.
func (p *federatedProsody) Users(t testing.TB, names ...string) []string {
	t.Helper()
	p.mu.Lock()
	n := p.next
	p.next++
	p.mu.Unlock()
	locals := make([]string, len(names))
	for i, name := range names {
		locals[i] = fmt.Sprintf("%s-%d", name, n)
	}
	return p.prosodyServer.Users(t, locals...)
}

func (p *federatedProsody) addContact(t testing.TB, local, contact string) {
	t.Helper()
	if err := p.s.SetRoster(local, map[string]string{contact: "both"}); err != nil {
		t.Fatal(err)
	}
}

// federatedEjabberd is an ejabberd with s2s, shared by the scenarios.
type federatedEjabberd struct{ ejabberdServer }

func startFederatedEjabberd(i int) (federatedServer, func() string, func() error, error) {
	h := federationHosts[i]
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s, err := ejabberdtest.Start(ctx, ejabberdtest.Options{Domain: h.domain, Host: h.addr, Port: 5222, S2S: true, Debug: os.Getenv(ejabberdtest.DebugEnv) == "1"})
	if err != nil {
		return nil, nil, nil, err
	}
	return federatedEjabberd{ejabberdServer{s}}, s.Log, s.Close, nil
}

func (e federatedEjabberd) addContact(t testing.TB, local, contact string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.s.AddContact(ctx, local, contact, "both"); err != nil {
		t.Fatal(err)
	}
}
