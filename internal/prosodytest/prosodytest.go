// Package prosodytest starts a private Prosody XMPP server for tests and for
// the demo: from a temporary directory, on 127.0.0.1 and free ports, with
// carbons (XEP-0280), the archive (XEP-0313) and offline storage on, and
// nothing shared with a Prosody the machine may already run.
//
// Debian's prosody package (0.12) provides the server; install it with
// "apt-get install -y prosody". Tests use New, which fails the test when
// Prosody is missing unless JMI_SKIP_PROSODY=1 asks to skip.
package prosodytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/jmi-xmpp/jmi/internal/loopback"
)

// ErrNotInstalled is returned by Start when the prosody or prosodyctl
// executables are not on the PATH.
var ErrNotInstalled = errors.New("prosodytest: prosody is not installed (on Debian: apt-get install -y prosody)")

// SkipEnv is the environment variable that, set to 1, lets New skip a test
// instead of failing it when Prosody is missing.
const SkipEnv = "JMI_SKIP_PROSODY"

// Options configure a server. The zero Options work.
type Options struct {
	// Domain is the virtual host; default "localhost".
	Domain string
	// Dir is where the config, data, certificate and log go; default a new
	// temporary directory that Close removes.
	Dir string
	// Debug logs at debug level (every stanza) instead of info.
	Debug bool
	// Host is the loopback address it listens on; default 127.0.0.1.
	// Federation tests give each server an address of its own (127.0.0.2,
	// 127.0.0.3, ...), which its domain resolves to in /etc/hosts.
	Host string
	// S2S turns on server-to-server connections on port 5269 of Host, for
	// federation tests. Other servers are found through /etc/hosts
	// (Prosody resolves with libunbound, which reads it only when told
	// to), and authenticated with dialback (XEP-0220): a test certificate
	// fails the s2s certificate check ("unable to get local issuer
	// certificate"), and s2s_secure_auth = false falls back to dialback.
	S2S bool
	// Port, when not 0, is the port of client connections (STARTTLS or
	// plaintext) instead of a free one: 5222 for a client that has no
	// server setting and falls back to DOMAIN:5222, as Dino does. Start
	// fails with ErrPortInUse when something already listens there.
	Port int
	// ExternalServices, when set, makes the server offer a STUN and a
	// TURN server through XEP-0215 (mod_external_services); off by
	// default.
	ExternalServices *ExternalServices
}

// ExternalServices are the STUN and TURN services the server offers
// through XEP-0215, both over UDP at Host:Port (a TURN server answers STUN
// binding requests too, as internal/turntest's does). For the TURN service
// Prosody computes TURN REST credentials from Secret: username
// "EXPIRES:USER", password base64(HMAC-SHA1(Secret, username)), valid for
// TTL, and marks it restricted.
type ExternalServices struct {
	// Host and Port are the address of the STUN and TURN server.
	Host string
	Port int
	// Secret is the secret shared with the TURN server.
	Secret string
	// User is the user part of the TURN username; "" leaves the username
	// the expiry alone.
	User string
	// TTL is how long the credentials are valid; 0 is Prosody's default,
	// one day.
	TTL time.Duration
}

// ErrPortInUse is returned by Start when Options.Port is taken.
var ErrPortInUse = errors.New("prosodytest: the port asked for is in use")

// Server is a running private Prosody.
type Server struct {
	// Domain is the virtual host, the domain part of every account.
	Domain string
	// Addr is the host:port of client connections (STARTTLS or plaintext).
	Addr string
	// TLSAddr is the host:port of direct-TLS client connections.
	TLSAddr string
	// CAFile is the PEM file of the self-signed certificate the server
	// presents for Domain; trust it to verify the server.
	CAFile string
	// Dir holds the config, data, certificate and log.
	Dir string

	ownDir  bool
	config  string
	logFile string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start writes a configuration and a self-signed certificate into a fresh
// directory and starts Prosody in the foreground, returning once it accepts
// connections. ctx bounds the start-up.
func Start(ctx context.Context, opts Options) (*Server, error) {
	for _, bin := range []string{"prosody", "prosodyctl", "openssl"} {
		if _, err := exec.LookPath(bin); err != nil {
			if bin == "openssl" {
				return nil, fmt.Errorf("prosodytest: openssl is not installed (on Debian: apt-get install -y openssl)")
			}
			return nil, ErrNotInstalled
		}
	}
	s := &Server{Domain: opts.Domain, Dir: opts.Dir}
	if s.Domain == "" {
		s.Domain = "localhost"
	}
	if s.Dir == "" {
		dir, err := os.MkdirTemp("", "jmi-prosody-")
		if err != nil {
			return nil, fmt.Errorf("prosodytest: %w", err)
		}
		s.Dir, s.ownDir = dir, true
	}
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	ports, err := loopback.FreePorts(host, 2)
	if err != nil {
		s.removeDir()
		return nil, err
	}
	if opts.Port != 0 {
		// Prosody would log the failed bind and go on without c2s; find
		// out first, with a message that says what to do.
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(opts.Port)))
		if err != nil {
			s.removeDir()
			return nil, fmt.Errorf("%w: %s:%d: %v (stop what listens there, or run in a private network namespace)", ErrPortInUse, host, opts.Port, err)
		}
		l.Close()
		ports[0] = opts.Port
	}
	s.Addr = net.JoinHostPort(host, strconv.Itoa(ports[0]))
	s.TLSAddr = net.JoinHostPort(host, strconv.Itoa(ports[1]))
	if err := s.writeFiles(ctx, host, ports, opts); err != nil {
		s.removeDir()
		return nil, err
	}
	if err := s.start(ctx); err != nil {
		s.removeDir()
		return nil, err
	}
	return s, nil
}

// New starts a server for a test and stops it when the test ends, printing
// the server's log if the test failed. When Prosody is missing the test
// fails, unless the environment variable JMI_SKIP_PROSODY is 1.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := Start(ctx, opts)
	if errors.Is(err, ErrNotInstalled) && os.Getenv(SkipEnv) == "1" {
		t.Skipf("%v (skipped: %s=1)", err, SkipEnv)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("prosody log:\n%s", s.Log())
		}
		if err := s.Close(); err != nil {
			t.Errorf("stopping prosody: %v", err)
		}
	})
	return s
}

// NewWithUsers is New with the given accounts registered, each with the
// password Password(user).
func NewWithUsers(t testing.TB, opts Options, users ...string) *Server {
	t.Helper()
	s := New(t, opts)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, u := range users {
		if err := s.Register(ctx, u, Password(u)); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// Password is the password NewWithUsers gives user.
func Password(user string) string { return "pw-" + user }

// Register creates the account user@Domain with the given password. It works
// whether or not the server is running.
func (s *Server) Register(ctx context.Context, user, password string) error {
	cmd := exec.CommandContext(ctx, "prosodyctl", "--config", s.config, "register", user, s.Domain, password)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("prosodytest: register %s@%s: %v: %s", user, s.Domain, err, bytes.TrimSpace(out))
	}
	return nil
}

// SetRoster writes user's roster: each contact (a bare JID, on this server
// or another) with its subscription ("both", "to", "from"). It replaces the
// roster, and must be called before the account's first login or any
// stanza for it: Prosody reads the roster of an account at its login and
// keeps it while the account is online. A roster written so is the same on
// both sides at once, where the subscription handshake would cross the
// servers four times (and over s2s) before both sides agree.
func (s *Server) SetRoster(user string, contacts map[string]string) error {
	var b bytes.Buffer
	b.WriteString("return {\n\t[false] = { version = 1; };\n")
	for contact, sub := range contacts {
		local, _, _ := strings.Cut(contact, "@")
		fmt.Fprintf(&b, "\t[%q] = { subscription = %q; groups = {}; name = %q; };\n", contact, sub, local)
	}
	b.WriteString("};\n")
	dir := filepath.Join(s.Dir, "data", encodePath(s.Domain), "roster")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("prosodytest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, encodePath(user)+".dat"), b.Bytes(), 0o640); err != nil {
		return fmt.Errorf("prosodytest: %w", err)
	}
	return nil
}

// Unregister deletes the account user@Domain. It works whether or not the
// server is running.
func (s *Server) Unregister(ctx context.Context, user string) error {
	cmd := exec.CommandContext(ctx, "prosodyctl", "--config", s.config, "deluser", user+"@"+s.Domain)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("prosodytest: deluser %s@%s: %v: %s", user, s.Domain, err, bytes.TrimSpace(out))
	}
	return nil
}

// encodePath names a host or user in Prosody's data directory as its
// datamanager does: every byte but ASCII letters and digits as %xx.
func encodePath(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02x", c)
		}
	}
	return b.String()
}

// Stop stops the server and waits for it to exit; its data stays, so Restart
// brings back the same accounts, archive and offline messages.
func (s *Server) Stop() error { return s.stop(syscall.SIGTERM) }

// Kill ends the server with SIGKILL, as a crash or the OOM killer would: no
// stream is closed, the clients find their connections reset. Its data
// stays, so Restart brings it back.
func (s *Server) Kill() error { return s.stop(syscall.SIGKILL) }

// Freeze stops the server with SIGSTOP, as a wedged or swapped-out server
// is: the kernel still accepts connections on its ports and queues them,
// but nothing reads or answers. Thaw undoes it; Stop, Kill and Close thaw
// a frozen server first.
func (s *Server) Freeze() error { return s.signal(syscall.SIGSTOP) }

// Thaw lets a frozen server run on.
func (s *Server) Thaw() error { return s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) error {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		return errors.New("prosodytest: the server is not running")
	}
	return syscall.Kill(-cmd.Process.Pid, sig)
}

// QueuedConnections returns how many connections wait in the accept queue
// of the client port: for a frozen server, the clients that dialled it and
// now wait for an answer. It reads the kernel's socket table.
func (s *Server) QueuedConnections() (int, error) {
	_, port, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return 0, err
	}
	want, err := strconv.Atoi(port)
	if err != nil {
		return 0, err
	}
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n")[1:] {
		// sl local_address rem_address st tx_queue:rx_queue ...; for a
		// listening socket (st 0A) rx_queue is the accept backlog.
		f := strings.Fields(line)
		if len(f) < 5 || f[3] != "0A" {
			continue
		}
		_, hexPort, ok := strings.Cut(f[1], ":")
		p, err := strconv.ParseUint(hexPort, 16, 16)
		if !ok || err != nil || int(p) != want {
			continue
		}
		_, rx, _ := strings.Cut(f[4], ":")
		q, err := strconv.ParseUint(rx, 16, 32)
		if err == nil {
			n += int(q)
		}
	}
	return n, nil
}

// stop ends the server with sig and waits for it to exit.
func (s *Server) stop(sig syscall.Signal) error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(sig)
	// A frozen server takes SIGTERM only once it runs again.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGCONT)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	return nil
}

// Restart starts a stopped server again on the same ports.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		return errors.New("prosodytest: restart of a running server")
	}
	return s.start(ctx)
}

// Close stops the server and removes its directory if Start made it. It
// kills the server, as nothing of it is kept: Prosody's own shutdown waits
// about a second for connections that still had something to write.
func (s *Server) Close() error {
	err := s.stop(syscall.SIGKILL)
	s.removeDir()
	return err
}

// Log returns what the server has logged so far.
func (s *Server) Log() string {
	b, err := os.ReadFile(s.logFile)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	return string(b)
}

func (s *Server) removeDir() {
	if s.ownDir {
		_ = os.RemoveAll(s.Dir)
	}
}

func (s *Server) start(ctx context.Context) error {
	cmd := exec.Command("prosody", "--config", s.config, "-F")
	cmd.Dir = s.Dir
	// Its own process group, so that a signal to the test does not reach it
	// and Stop can end it with everything it started; SIGKILL when the test
	// binary dies, so that a killed run (a time-out) leaves no server
	// behind, not even in a private network namespace, which a server left
	// there would keep alive.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("prosodytest: starting prosody: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	// The one poll allowed: wait for the port, bounded by ctx.
	for {
		c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-done:
			s.mu.Lock()
			s.cmd = nil
			s.mu.Unlock()
			return fmt.Errorf("prosodytest: prosody exited at start: %s\n%s", bytes.TrimSpace(out.Bytes()), s.Log())
		case <-ctx.Done():
			_ = s.Stop()
			return fmt.Errorf("prosodytest: prosody did not listen on %s: %w", s.Addr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// extTTL is the TTL of the external services in whole seconds, 0 for the
// default.
func extTTL(e *ExternalServices) int {
	if e == nil || e.TTL <= 0 {
		return 0
	}
	return int((e.TTL + time.Second - 1) / time.Second)
}

func (s *Server) writeFiles(ctx context.Context, host string, ports []int, opts Options) error {
	for _, d := range []string{"data", "certs"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o750); err != nil {
			return fmt.Errorf("prosodytest: %w", err)
		}
	}
	cert := filepath.Join(s.Dir, "certs", s.Domain+".crt")
	key := filepath.Join(s.Dir, "certs", s.Domain+".key")
	gen := exec.CommandContext(ctx, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
		"-nodes", "-days", "3650", "-subj", "/CN="+s.Domain, "-addext", "subjectAltName=DNS:"+s.Domain,
		"-keyout", key, "-out", cert)
	if out, err := gen.CombinedOutput(); err != nil {
		return fmt.Errorf("prosodytest: making a certificate: %v: %s", err, bytes.TrimSpace(out))
	}
	s.CAFile = cert
	s.logFile = filepath.Join(s.Dir, "prosody.log")
	s.config = filepath.Join(s.Dir, "prosody.cfg.lua")
	level := "info"
	if opts.Debug {
		level = "debug"
	}
	var buf bytes.Buffer
	err := configTemplate.Execute(&buf, map[string]any{
		"Dir": s.Dir, "Domain": s.Domain, "Host": host, "Port": ports[0], "TLSPort": ports[1],
		"Cert": cert, "Key": key, "Log": s.logFile, "Level": level, "Root": os.Geteuid() == 0,
		"S2S": opts.S2S, "Ext": opts.ExternalServices, "ExtTTL": extTTL(opts.ExternalServices),
	})
	if err != nil {
		return fmt.Errorf("prosodytest: %w", err)
	}
	if err := os.WriteFile(s.config, buf.Bytes(), 0o640); err != nil {
		return fmt.Errorf("prosodytest: %w", err)
	}
	return nil
}

// The server's configuration: loopback only, no s2s (unless S2S: then
// dialback, TLS where the peer offers it, hosts from /etc/hosts), no HTTP, carbons,
// archive and offline storage on, plaintext allowed because it listens on
// loopback only, and with ExternalServices mod_external_services with a
// STUN and a TURN service (the TURN one with its secret). Two settings change only how fast it goes, never what it
// does:
//   - Nagle off: with it every TLS login stalls about 45 ms.
//   - generational garbage collection (Lua 5.4; an older Lua logs an error
//     and keeps the default): Prosody's default collects so eagerly that it
//     spends about as much CPU collecting as routing and archiving, about
//     0.25 ms per archived message; this halves the server's CPU per message.
//
// Not opportunistic_writes, though it saves a fifth of a call's set-up: with
// it, Prosody 0.12.3 sometimes stopped accepting connections for good after
// a client was killed (5 of 40 runs of jmi's kill test on a loaded machine,
// none of 40 without it).
var configTemplate = template.Must(template.New("cfg").Parse(`-- written by jmi's prosodytest
{{if .Root}}run_as_root = true
{{end}}pidfile = "{{.Dir}}/prosody.pid"
data_path = "{{.Dir}}/data"
certificates = "{{.Dir}}/certs"
interfaces = { "{{.Host}}" }
local_interfaces = { "{{.Host}}" }
use_ipv6 = false
c2s_ports = { {{.Port}} }
c2s_direct_tls_ports = { {{.TLSPort}} }
{{if .S2S}}s2s_ports = { 5269 }
s2s_secure_auth = false
s2s_require_encryption = false
unbound = { hoststxt = true }
{{else}}s2s_ports = { }
{{end}}
http_ports = { }
https_ports = { }
network_settings = { nagle = false }
gc = { mode = "generational" }
modules_enabled = {
	"roster"; "saslauth"; "tls"; "disco"; "presence"; "message"; "iq";
	"carbons"; "mam"; "offline"; "ping"; "smacks"; "posix";{{if .S2S}} "dialback";{{end}}{{if .Ext}} "external_services";{{end}}
}
{{with .Ext}}external_services = {
	{ type = "stun", transport = "udp", host = {{printf "%q" .Host}}, port = {{.Port}} };
	{ type = "turn", transport = "udp", host = {{printf "%q" .Host}}, port = {{.Port}}, secret = {{printf "%q" .Secret}}{{if .User}}, username = {{printf "%q" .User}}{{end}}{{if $.ExtTTL}}, ttl = {{$.ExtTTL}}{{end}} };
}
{{end}}{{if not .S2S}}modules_disabled = { "s2s" }
{{end}}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "internal_hashed"
storage = "internal"
default_archive_policy = true
archive_expires_after = "never"
log = { { levels = { min = "{{.Level}}" }, to = "file", filename = "{{.Log}}" } }
VirtualHost "{{.Domain}}"
	ssl = { certificate = "{{.Cert}}", key = "{{.Key}}" }
`))
