// Package ejabberdtest starts a private ejabberd XMPP server for tests, beside
// the Prosody of package prosodytest and in the same shape: from a temporary
// directory, on 127.0.0.1 and free ports, with a self-signed certificate,
// carbons (XEP-0280), the archive (XEP-0313) and offline storage on, and
// nothing shared with an ejabberd the machine may already run.
//
// Debian's ejabberd package (23.01) provides the server; install it with
// "apt-get install -y ejabberd". Its own service is neither needed nor
// touched: the node runs without Erlang distribution (no node name, cookie or
// epmd, so two runs never clash), and accounts and rosters are made through
// the server's HTTP API on a loopback port, which takes milliseconds where
// every ejabberdctl command boots an Erlang VM (about a second). As root the
// node runs as the ejabberd user, in a directory chowned to it.
//
// ejabberd takes about 2.5 s to start, so a test package shares one server
// (Shared, stopped by CloseShared from TestMain) and gives every test fresh
// accounts (Users); New starts a server of its own.
package ejabberdtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/jmi-xmpp/jmi/internal/loopback"
)

// ErrNotInstalled is returned by Start when ejabberd is not installed.
var ErrNotInstalled = errors.New("ejabberdtest: ejabberd is not installed (on Debian: apt-get install -y ejabberd)")

// SkipEnv is the environment variable that, set to 1, lets New and Shared
// skip a test instead of failing it when ejabberd is missing.
const SkipEnv = "JMI_SKIP_EJABBERD"

// ctlScript is Debian's control script; Start reads from it where the
// package keeps ejabberd's Erlang libraries and which erl it runs.
const ctlScript = "/usr/sbin/ejabberdctl"

// DebugEnv is the environment variable that, set to 1, makes the server of
// Shared log every stanza.
const DebugEnv = "JMI_EJABBERD_DEBUG"

// Options configure a server. The zero Options work.
type Options struct {
	// Domain is the virtual host; default "localhost".
	Domain string
	// Dir is where the config, database, certificate and log go; default a
	// new temporary directory that Close removes.
	Dir string
	// Debug logs at debug level (every stanza) instead of info.
	Debug bool
	// Host is the loopback address it listens on; default 127.0.0.1.
	// Federation tests give each server an address of its own, which its
	// domain resolves to in /etc/hosts.
	Host string
	// Port, when not 0, is the port of client connections instead of a
	// free one.
	Port int
	// S2S turns on server-to-server connections on port 5269 of Host, for
	// federation tests: STARTTLS where the peer offers it and dialback
	// (XEP-0220), as a test certificate fails the peer's certificate
	// check. ejabberd finds other servers only through DNS (its s2s uses
	// Erlang's own DNS client and never reads /etc/hosts), and after a
	// failed look-up bounces everything for that domain for minutes.
	S2S bool
}

// Server is a running private ejabberd.
type Server struct {
	// Domain is the virtual host, the domain part of every account.
	Domain string
	// Addr is the host:port of client connections with STARTTLS (plaintext
	// is allowed too, as it listens on loopback only).
	Addr string
	// TLSAddr is the host:port of direct-TLS client connections.
	TLSAddr string
	// CAFile is the PEM file of the self-signed certificate the server
	// presents for Domain; trust it to verify the server.
	CAFile string
	// Dir holds the config, database, certificate and log.
	Dir string

	ownDir  bool
	apiAddr string
	logFile string
	erl     string
	erlLibs string
	cred    *syscall.Credential

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	next int // the number of the next fresh account
}

// Start writes a configuration and a self-signed certificate into a fresh
// directory and starts ejabberd, returning once it accepts client
// connections and API calls. ctx bounds the start-up.
func Start(ctx context.Context, opts Options) (*Server, error) {
	erl, erlLibs, err := findInstall()
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("openssl"); err != nil {
		return nil, errors.New("ejabberdtest: openssl is not installed (on Debian: apt-get install -y openssl)")
	}
	s := &Server{Domain: opts.Domain, Dir: opts.Dir, erl: erl, erlLibs: erlLibs}
	if s.Domain == "" {
		s.Domain = "localhost"
	}
	if os.Geteuid() == 0 {
		// Debian's ejabberdctl refuses to run the node as root; do as it does.
		cred, err := lookupCredential("ejabberd")
		if err != nil {
			return nil, err
		}
		s.cred = cred
	}
	if s.Dir == "" {
		dir, err := os.MkdirTemp("", "jmi-ejabberd-")
		if err != nil {
			return nil, fmt.Errorf("ejabberdtest: %w", err)
		}
		s.Dir, s.ownDir = dir, true
	}
	host := opts.Host
	if host == "" {
		host = "127.0.0.1"
	}
	ports, err := loopback.FreePorts(host, 3)
	if err != nil {
		s.removeDir()
		return nil, err
	}
	if opts.Port != 0 {
		ports[0] = opts.Port
	}
	s.Addr = net.JoinHostPort(host, strconv.Itoa(ports[0]))
	s.TLSAddr = net.JoinHostPort(host, strconv.Itoa(ports[1]))
	s.apiAddr = net.JoinHostPort(host, strconv.Itoa(ports[2]))
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

// findInstall returns the erl that Debian's ejabberdctl runs and the
// ERL_LIBS it sets, or ErrNotInstalled.
func findInstall() (erl, erlLibs string, err error) {
	script, err := os.ReadFile(ctlScript)
	if err != nil {
		return "", "", ErrNotInstalled
	}
	libs := regexp.MustCompile(`(?m)^ERL_LIBS='([^']+)'`).FindSubmatch(script)
	bin := regexp.MustCompile(`(?m)^ERL="([^"]+)"`).FindSubmatch(script)
	if libs == nil || bin == nil {
		return "", "", fmt.Errorf("ejabberdtest: %s does not say where ejabberd's libraries are (not Debian's ejabberd 23.01?)", ctlScript)
	}
	if _, err := os.Stat(string(bin[1])); err != nil {
		return "", "", ErrNotInstalled
	}
	return string(bin[1]), string(libs[1]), nil
}

func lookupCredential(name string) (*syscall.Credential, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("ejabberdtest: running as root needs the %s user of Debian's package: %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("ejabberdtest: user %s has uid %q gid %q", name, u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// New starts a server for a test and stops it when the test ends, printing
// the server's log if the test failed. When ejabberd is missing the test
// fails, unless the environment variable JMI_SKIP_EJABBERD is 1.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
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
			t.Logf("ejabberd log:\n%s", s.Log())
		}
		if err := s.Close(); err != nil {
			t.Errorf("stopping ejabberd: %v", err)
		}
	})
	return s
}

var shared struct {
	sync.Mutex
	srv *Server
	err error
}

// Shared returns the one server of this test binary, starting it at the
// first call; TestMain stops it with CloseShared. Tests that share it must
// use accounts of their own (Users) and must not run in parallel with a test
// that restarts it. If the test fails, the server's log since the test began
// is printed (ejabberd writes its log a little late: the last lines may be
// missing). JMI_EJABBERD_DEBUG=1 logs every stanza.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.Lock()
	if shared.srv == nil && shared.err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		shared.srv, shared.err = Start(ctx, Options{Debug: os.Getenv(DebugEnv) == "1"})
		cancel()
	}
	s, err := shared.srv, shared.err
	shared.Unlock()
	if errors.Is(err, ErrNotInstalled) && os.Getenv(SkipEnv) == "1" {
		t.Skipf("%v (skipped: %s=1)", err, SkipEnv)
	}
	if err != nil {
		t.Fatal(err)
	}
	from := s.logSize()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ejabberd log during the test:\n%s", s.logFrom(from))
		}
	})
	return s
}

// CloseShared stops the server Shared started, if any. Call it from TestMain
// after m.Run. A test binary killed before that leaves no server running
// (only its temporary directory): the server gets SIGKILL when the process
// that started it dies.
func CloseShared() {
	shared.Lock()
	defer shared.Unlock()
	if shared.srv != nil {
		_ = shared.srv.Close()
	}
	shared.srv, shared.err = nil, nil
}

// Password is the password Users gives an account.
func Password(user string) string { return "pw-" + user }

// Users registers a fresh account for each name, with the password
// Password(localpart), and returns their localparts in order: name plus a
// number no earlier call on s used, so that tests sharing a server never see
// each other's archive, offline messages or roster.
func (s *Server) Users(ctx context.Context, names ...string) ([]string, error) {
	s.mu.Lock()
	n := s.next
	s.next++
	s.mu.Unlock()
	locals := make([]string, len(names))
	for i, name := range names {
		locals[i] = fmt.Sprintf("%s-%d", name, n)
		if err := s.Register(ctx, locals[i], Password(locals[i])); err != nil {
			return nil, err
		}
	}
	return locals, nil
}

// Register creates the account user@Domain with the given password.
func (s *Server) Register(ctx context.Context, user, password string) error {
	_, err := s.api(ctx, "register", map[string]string{"user": user, "host": s.Domain, "password": password})
	return err
}

// Befriend gives a and b (localparts) each other in their rosters with a
// subscription both ways, as two contacts who accepted each other.
func (s *Server) Befriend(ctx context.Context, a, b string) error {
	for _, p := range [][2]string{{a, b}, {b, a}} {
		_, err := s.api(ctx, "add_rosteritem", map[string]string{
			"localuser": p[0], "localhost": s.Domain, "user": p[1], "host": s.Domain,
			"nick": p[1], "group": "", "subs": "both",
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// AddContact puts contact (a bare JID, on this server or another) into
// user's roster (a localpart) with the subscription subs ("both", "to",
// "from"), on this side only: a contact on another server needs the same
// there.
func (s *Server) AddContact(ctx context.Context, user, contact, subs string) error {
	local, domain, ok := strings.Cut(contact, "@")
	if !ok {
		return fmt.Errorf("ejabberdtest: contact %q is not a bare JID", contact)
	}
	_, err := s.api(ctx, "add_rosteritem", map[string]string{
		"localuser": user, "localhost": s.Domain, "user": local, "host": domain,
		"nick": local, "group": "", "subs": subs,
	})
	return err
}

// Roster returns the bare JIDs in user's roster with their subscription.
func (s *Server) Roster(ctx context.Context, user string) (map[string]string, error) {
	body, err := s.api(ctx, "get_roster", map[string]string{"user": user, "host": s.Domain})
	if err != nil {
		return nil, err
	}
	var items []struct {
		JID          string `json:"jid"`
		Subscription string `json:"subscription"`
	}
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, fmt.Errorf("ejabberdtest: get_roster answered %s: %w", body, err)
	}
	roster := map[string]string{}
	for _, it := range items {
		roster[it.JID] = it.Subscription
	}
	return roster, nil
}

// api calls a command of ejabberd's HTTP API (mod_http_api, open to
// loopback only) and returns its answer.
func (s *Server) api(ctx context.Context, command string, args map[string]string) ([]byte, error) {
	body, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.apiAddr+"/api/"+command, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ejabberdtest: %s: %w", command, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("ejabberdtest: %s: %w", command, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ejabberdtest: %s: %s: %s", command, resp.Status, bytes.TrimSpace(out))
	}
	return out, nil
}

// Stop stops the server and waits for it to exit (about 2 s); its data
// stays, so Restart brings back the same accounts, archive and offline
// messages.
func (s *Server) Stop() error { return s.stop(syscall.SIGTERM) }

// stop sends sig to the node and waits for it to exit, then ends what is
// left of its process group (port programs such as eimp and memsup).
func (s *Server) stop(sig syscall.Signal) error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	// The Erlang VM stops cleanly on SIGTERM (init:stop), closing mnesia.
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	return nil
}

// Restart starts a stopped server again on the same ports.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	running := s.cmd != nil
	s.mu.Unlock()
	if running {
		return errors.New("ejabberdtest: restart of a running server")
	}
	return s.start(ctx)
}

// Close kills the server and removes its directory if Start made it.
func (s *Server) Close() error {
	err := s.stop(syscall.SIGKILL)
	s.removeDir()
	return err
}

// Log returns what the server has logged so far.
func (s *Server) Log() string { return s.logFrom(0) }

func (s *Server) logSize() int64 {
	fi, err := os.Stat(s.logFile)
	if err != nil {
		return 0
	}
	return fi.Size()
}

func (s *Server) logFrom(offset int64) string {
	b, err := os.ReadFile(s.logFile)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if offset > int64(len(b)) {
		offset = 0
	}
	return string(b[offset:])
}

func (s *Server) removeDir() {
	if s.ownDir {
		_ = os.RemoveAll(s.Dir)
	}
}

func (s *Server) start(ctx context.Context) error {
	spool := filepath.Join(s.Dir, "spool")
	// What ejabberdctl foreground runs, without its distribution options:
	// a node with no name needs no cookie and no epmd.
	cmd := exec.Command(s.erl, "+K", "true", "-noinput", "-mnesia", "dir", strconv.Quote(spool), "-s", "ejabberd")
	cmd.Dir = s.Dir
	cmd.Env = []string{
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
		"HOME=" + s.Dir,
		"LANG=C.UTF-8",
		"EJABBERD_CONFIG_PATH=" + filepath.Join(s.Dir, "ejabberd.yml"),
		"EJABBERD_LOG_PATH=" + s.logFile,
		"ERL_LIBS=" + s.erlLibs,
		"ERL_CRASH_DUMP_BYTES=0",
	}
	// Its own process group, so that a signal to the test does not reach it
	// and stop can end it with everything it started; SIGKILL when the test
	// binary dies, so that a killed run leaves nothing running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: s.cred}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("ejabberdtest: starting ejabberd: %w", err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	// The one poll allowed: wait for the API and the client port, bounded
	// by ctx. The listeners open once every module has started.
	for {
		_, apiErr := s.api(ctx, "status", map[string]string{})
		if apiErr == nil {
			c, err := net.DialTimeout("tcp", s.Addr, 200*time.Millisecond)
			if err == nil {
				c.Close()
				return nil
			}
		}
		select {
		case <-done:
			s.mu.Lock()
			s.cmd = nil
			s.mu.Unlock()
			return fmt.Errorf("ejabberdtest: ejabberd exited at start: %s\n%s", bytes.TrimSpace(out.Bytes()), s.Log())
		case <-ctx.Done():
			_ = s.stop(syscall.SIGKILL)
			return fmt.Errorf("ejabberdtest: ejabberd did not listen on %s: %w\n%s", s.Addr, ctx.Err(), s.Log())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) writeFiles(ctx context.Context, host string, ports []int, opts Options) error {
	for _, d := range []string{"spool", "logs"} {
		if err := os.MkdirAll(filepath.Join(s.Dir, d), 0o750); err != nil {
			return fmt.Errorf("ejabberdtest: %w", err)
		}
	}
	cert := filepath.Join(s.Dir, s.Domain+".crt")
	key := filepath.Join(s.Dir, s.Domain+".key")
	gen := exec.CommandContext(ctx, "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
		"-nodes", "-days", "3650", "-subj", "/CN="+s.Domain, "-addext", "subjectAltName=DNS:"+s.Domain,
		"-keyout", key, "-out", cert)
	if out, err := gen.CombinedOutput(); err != nil {
		return fmt.Errorf("ejabberdtest: making a certificate: %v: %s", err, bytes.TrimSpace(out))
	}
	// ejabberd wants certificate and key in one file.
	certPEM, err1 := os.ReadFile(cert)
	keyPEM, err2 := os.ReadFile(key)
	if err := errors.Join(err1, err2); err != nil {
		return fmt.Errorf("ejabberdtest: %w", err)
	}
	pem := filepath.Join(s.Dir, "server.pem")
	if err := os.WriteFile(pem, append(certPEM, keyPEM...), 0o600); err != nil {
		return fmt.Errorf("ejabberdtest: %w", err)
	}
	s.CAFile = cert
	s.logFile = filepath.Join(s.Dir, "logs", "ejabberd.log")
	level := "info"
	if opts.Debug {
		level = "debug"
	}
	var buf bytes.Buffer
	err := configTemplate.Execute(&buf, map[string]any{
		"Domain": s.Domain, "Host": host, "Port": ports[0], "TLSPort": ports[1], "APIPort": ports[2],
		"PEM": pem, "Level": level, "S2S": opts.S2S,
	})
	if err != nil {
		return fmt.Errorf("ejabberdtest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "ejabberd.yml"), buf.Bytes(), 0o640); err != nil {
		return fmt.Errorf("ejabberdtest: %w", err)
	}
	if s.cred != nil {
		if err := chownTree(s.Dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			return err
		}
	}
	return nil
}

func chownTree(dir string, uid, gid int) error {
	err := filepath.WalkDir(dir, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
	if err != nil {
		return fmt.Errorf("ejabberdtest: handing %s to the ejabberd user: %w", dir, err)
	}
	return nil
}

// The server's configuration: loopback only, no s2s (unless S2S), STARTTLS offered but
// not required (it listens on loopback only), SCRAM-SHA-256 as the stored
// password hash (so that it offers SCRAM-SHA-256 and SCRAM-SHA-256-PLUS, as
// deployed servers do), carbons, the archive for every message it archives
// at all, and offline storage. No shaper: the default one would slow the
// tests' bursts of messages. The HTTP API is open to loopback callers only,
// for accounts and rosters.
var configTemplate = template.Must(template.New("cfg").Funcs(template.FuncMap{"quote": strconv.Quote}).Parse(`# written by jmi's ejabberdtest
hosts:
  - {{quote .Domain}}
loglevel: {{.Level}}
log_rotate_count: 0
certfiles:
  - {{quote .PEM}}
auth_method: internal
auth_password_format: scram
auth_scram_hash: sha256
disable_sasl_mechanisms:
  - "X-OAUTH2"
  - "DIGEST-MD5"
listen:
  -
    port: {{.Port}}
    ip: {{quote .Host}}
    module: ejabberd_c2s
    starttls: true
    max_stanza_size: 262144
  -
    port: {{.TLSPort}}
    ip: {{quote .Host}}
    module: ejabberd_c2s
    tls: true
    max_stanza_size: 262144
  -
    port: {{.APIPort}}
    ip: {{quote .Host}}
    module: ejabberd_http
    request_handlers:
      /api: mod_http_api
{{- if .S2S}}
  -
    port: 5269
    ip: {{quote .Host}}
    module: ejabberd_s2s_in
s2s_use_starttls: optional
{{- end}}
acl:
  loopback:
    ip:
      - 127.0.0.0/8
api_permissions:
  "loopback admin":
    who:
      acl: loopback
    what:
      - "*"
      - "!stop"
modules:
  mod_admin_extra: {}
  mod_carboncopy: {}
  mod_disco: {}
  mod_mam:
    default: always
  mod_offline: {}
  mod_ping: {}
  mod_roster: {}
{{- if .S2S}}
  mod_s2s_dialback: {}
{{- end}}
`))
