package attack

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/calllog"
	"github.com/jmi-xmpp/jmi/internal/prosodytest"
	"github.com/jmi-xmpp/jmi/internal/rawxmpp"
)

// The data directory rows: the jmi command on a data directory that is
// damaged or cannot be written. Each either recovers or fails at once with
// one line that names the file; none panics, hangs or loses a call
// silently. They run the built command, as a person would.

var (
	jmiOnce sync.Once
	jmiBin  string
	jmiErr  error
	jmiDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if jmiDir != "" {
		os.RemoveAll(jmiDir)
	}
	os.Exit(code)
}

// jmiCommand builds the jmi command once for the package's tests.
func jmiCommand(t *testing.T) string {
	t.Helper()
	jmiOnce.Do(func() {
		if jmiDir, jmiErr = os.MkdirTemp("", "jmi-attack-"); jmiErr != nil {
			return
		}
		jmiBin = filepath.Join(jmiDir, "jmi")
		out, err := exec.Command("go", "build", "-o", jmiBin, "github.com/jmi-xmpp/jmi/cmd/jmi").CombinedOutput()
		if err != nil {
			jmiErr = errors.New("go build: " + err.Error() + ": " + string(out))
		}
	})
	if jmiErr != nil {
		t.Fatal(jmiErr)
	}
	return jmiBin
}

// commandRun is what one run of the command did.
type commandRun struct {
	status         int
	stdout, stderr string
}

// runJMI runs the command with args against srv (nil: an address nothing
// listens on, for the runs that must fail before they dial) and waits for
// it to exit, at most within.
func runJMI(t *testing.T, srv *prosodytest.Server, within time.Duration, args ...string) commandRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	cmd := exec.CommandContext(ctx, jmiCommand(t), args...)
	server, ca := "127.0.0.1:1", ""
	if srv != nil {
		server, ca = srv.Addr, srv.CAFile
	}
	cmd.Env = append(os.Environ(), "JMI_PASSWORD="+prosodytest.Password("juliet"), "JMI_SERVER="+server)
	if ca != "" {
		cmd.Args = append(cmd.Args[:2], append([]string{"--ca-file", ca}, cmd.Args[2:]...)...)
	}
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("jmi %s did not exit within %s (it hangs); stderr:\n%s", strings.Join(args, " "), within, stderr.String())
	}
	r := commandRun{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.status = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return r
}

// failsNaming: the run exited 1 with one line on standard error that
// names the file, and no panic.
func failsNaming(t *testing.T, r commandRun, file string, words ...string) {
	t.Helper()
	if r.status != 1 {
		t.Errorf("exit status %d, want 1; stderr:\n%s", r.status, r.stderr)
	}
	if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
		t.Errorf("it panicked:\n%s", r.stderr)
	}
	msg := strings.TrimSpace(r.stderr)
	if strings.Count(msg, "\n") != 0 || msg == "" {
		t.Errorf("stderr is %d lines, want one:\n%s", strings.Count(msg, "\n")+1, msg)
	}
	if !strings.Contains(msg, file) {
		t.Errorf("the error does not name %s: %s", file, msg)
	}
	for _, w := range words {
		if !strings.Contains(msg, w) {
			t.Errorf("the error does not say %q: %s", w, msg)
		}
	}
}

// garbageDB writes a calls.db that is no SQLite database (or only its
// header), and returns its path.
func garbageDB(t *testing.T, dir string, header bool) string {
	t.Helper()
	path := filepath.Join(dir, calllog.FileName)
	b := bytes.Repeat([]byte("not a database \x00\xff"), 400)
	if header {
		b = append([]byte("SQLite format 3\x00"), b...)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLogOnGarbageDB(t *testing.T) {
	for _, header := range []bool{false, true} {
		dir := t.TempDir()
		path := garbageDB(t, dir, header)
		r := runJMI(t, nil, wait, "log", "--data-dir", dir)
		failsNaming(t, r, path)
		if r.stdout != "" {
			t.Errorf("stdout: %q", r.stdout)
		}
	}
}

// listenArgs are the arguments of a jmi listen of Juliet's phone on dir.
func listenArgs(dir string) []string {
	return []string{"listen", "--jid", "juliet@localhost/phone", "--tls", "none", "--answer", "ignore", "--data-dir", dir}
}

// TestListenOnDamagedDataDir: a garbage call history or state file stops
// jmi listen and jmi call before they log in, naming the file: the state
// file holds where the archive catch-up reads on from, and reading from a
// guess could ring for calls already handled or skip ones missed; the
// person removes the file named to start again from the catch-up window.
func TestListenOnDamagedDataDir(t *testing.T) {
	stateName := "juliet_localhost_phone.state.json"
	for _, tc := range []struct {
		name  string
		setUp func(t *testing.T, dir string) string // returns the damaged file
		words []string
	}{
		{"garbage calls.db", func(t *testing.T, dir string) string { return garbageDB(t, dir, false) }, nil},
		{"calls.db with only a header", func(t *testing.T, dir string) string { return garbageDB(t, dir, true) }, nil},
		{"garbage state file", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, stateName)
			if err := os.WriteFile(p, []byte("\x00\x01garbage{"), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}, []string{"damaged"}},
		{"truncated state file", func(t *testing.T, dir string) string {
			p := filepath.Join(dir, stateName)
			if err := os.WriteFile(p, []byte(`{"last_archive_id":"abc","caught_up_at":"2026-`), 0o600); err != nil {
				t.Fatal(err)
			}
			return p
		}, []string{"damaged"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, args := range [][]string{
				nil, // listen
				{"call", "--jid", "juliet@localhost/phone", "--tls", "none", "romeo@localhost"},
			} {
				dir := t.TempDir()
				file := tc.setUp(t, dir)
				if args == nil {
					args = listenArgs(dir)
				} else {
					args = append(args, "--data-dir", dir)
				}
				r := runJMI(t, nil, wait, args...)
				failsNaming(t, r, file, tc.words...)
			}
		})
	}
}

// TestStaleLockFile: a lock file left by a jmi that died (its pid in it,
// no process holds the flock) does not stop the next one: jmi call places
// its call, which rings the raw Romeo, is withdrawn at its ring timeout
// (exit 4) and is in the history.
func TestStaleLockFile(t *testing.T) {
	srv := prosodytest.NewWithUsers(t, prosodytest.Options{}, "juliet", "romeo")
	romeo := rawRomeo(t, srv)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "lock"), []byte("99999999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runJMI(t, srv, faultWait, "call", "--jid", "juliet@"+srv.Domain+"/phone", "--data-dir", dir, "--ring-timeout", "2s", "romeo@"+srv.Domain)
	if r.status != 4 {
		t.Errorf("exit status %d, want 4 (not answered); stderr:\n%s", r.status, r.stderr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := romeo.Wait(ctx, rawxmpp.Contains("<propose")); err != nil {
		t.Errorf("romeo: no propose: %v", err)
	}
	history, err := calllog.Open(filepath.Join(dir, calllog.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer history.Close()
	entries, err := history.List(ctx, 10)
	if err != nil || len(entries) != 1 || entries[0].Outcome != calllog.Withdrawn {
		t.Errorf("history: %+v (%v), want one withdrawn call", entries, err)
	}
}

// rawRomeo logs in a raw, available Romeo.
func rawRomeo(t *testing.T, srv *prosodytest.Server) *rawxmpp.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, err := rawxmpp.Dial(ctx, rawxmpp.Config{Addr: srv.Addr, Domain: srv.Domain, User: "romeo", Password: prosodytest.Password("romeo"), Resource: "orchard"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Send(`<presence/>`); err != nil {
		t.Fatal(err)
	}
	return c
}

// mount runs mount(8) with args, skipping the test where mounting is not
// allowed (not root, or no CAP_SYS_ADMIN), and unmounts target at the end.
func mount(t *testing.T, target string, args ...string) {
	t.Helper()
	if out, err := exec.Command("mount", append(args, target)...).CombinedOutput(); err != nil {
		t.Skipf("cannot mount (needs root, and chmod does not stop root's writes): %v %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "--lazy", target).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", target, err, out)
		}
	})
}

// TestReadOnlyDataDir: on a data directory jmi cannot write, jmi call says
// so and exits 1 before it places the call: the raw Romeo receives nothing.
// A read-only call history in a writable directory follows the README's
// rule for a history that cannot be written: jmi call exits 1 once its
// call has ended. (As root chmod 0500 stops no write: a read-only tmpfs
// and a read-only bind mount stand in for it.)
func TestReadOnlyDataDir(t *testing.T) {
	srv := prosodytest.NewWithUsers(t, prosodytest.Options{}, "juliet", "romeo")
	romeo := rawRomeo(t, srv)
	callArgs := func(dir string) []string {
		return []string{"call", "--jid", "juliet@" + srv.Domain + "/phone", "--data-dir", dir, "--ring-timeout", "2s", "romeo@" + srv.Domain}
	}
	t.Run("read-only tmpfs", func(t *testing.T) {
		dir := t.TempDir()
		mount(t, dir, "-t", "tmpfs", "-o", "ro,size=1m", "jmi-test-ro")
		from := romeo.Len()
		r := runJMI(t, srv, faultWait, callArgs(dir)...)
		failsNaming(t, r, dir, "read-only", "cannot record the call history")
		nothingFrom(t, romeo, from)
	})
	t.Run("read-only calls.db", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, calllog.FileName)
		l, err := calllog.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
		mount(t, path, "--bind", path)
		if out, err := exec.Command("mount", "-o", "remount,bind,ro", path).CombinedOutput(); err != nil {
			t.Skipf("cannot remount the bind mount read-only: %v %s", err, out)
		}
		from := romeo.Len()
		r := runJMI(t, srv, faultWait, callArgs(dir)...)
		// Opened read-only, SQLite reads on; the first write fails, and the
		// command follows the README's rule for a history it cannot write:
		// it says so at once and exits 1 when the call has ended. The call
		// is not lost: it reached Romeo and was withdrawn at its timeout.
		if r.status != 1 {
			t.Errorf("exit status %d, want 1; stderr:\n%s", r.status, r.stderr)
		}
		if !strings.Contains(r.stderr, "THE CALL HISTORY COULD NOT BE WRITTEN") || !strings.Contains(r.stderr, "readonly database") {
			t.Errorf("it does not say plainly that the history cannot be written:\n%s", r.stderr)
		}
		if strings.Contains(r.stderr, "panic") {
			t.Errorf("it panicked:\n%s", r.stderr)
		}
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if _, err := romeo.WaitAfter(ctx, from, rawxmpp.Contains("<propose")); err != nil {
			t.Errorf("romeo: no propose: %v", err)
		}
		if _, err := romeo.WaitAfter(ctx, from, rawxmpp.Contains("<retract")); err != nil {
			t.Errorf("romeo: no retract: %v", err)
		}
	})
}

// nothingFrom: nothing reached c since index from, the server's answer to
// a ping after the command's exit being the barrier.
func nothingFrom(t *testing.T, c *rawxmpp.Conn, from int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if _, err := c.IQ(ctx, "probe-ping-ro", `<iq type='get' id='probe-ping-ro'><ping xmlns='urn:xmpp:ping'/></iq>`); err != nil {
		t.Fatal(err)
	}
	for _, st := range c.Since(from) {
		if fromVictim(c, st) {
			t.Errorf("romeo received: %s", st.Raw)
		}
	}
}
