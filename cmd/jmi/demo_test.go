package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/internal/prosodytest"
)

// TestDemo runs the README's main command end to end through a private
// Prosody.
func TestDemo(t *testing.T) {
	if os.Getenv(prosodytest.SkipEnv) == "1" {
		t.Skipf("%s=1", prosodytest.SkipEnv)
	}
	status, out, errOut := runCmd(t, "", "demo")
	if status != 0 {
		t.Fatalf("status %d: %s\n%s", status, errOut, out)
	}
	for _, want := range []string{"RINGS", "answered by juliet@localhost/phone [elsewhere]", "missed call from romeo@localhost", "tie-break", "moved to", "all 5 steps behaved as expected"} {
		if !strings.Contains(out, want) {
			t.Errorf("the timeline lacks %q:\n%s", want, out)
		}
	}
}

// TestDemoServe follows what "jmi demo --serve" prints: its listen and call
// command lines, run as printed (plus flags that end them), make a call.
func TestDemoServe(t *testing.T) {
	if os.Getenv(prosodytest.SkipEnv) == "1" {
		t.Skipf("%s=1", prosodytest.SkipEnv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncBuffer{}
	served := make(chan int, 1)
	go func() {
		served <- run(ctx, []string{"demo", "--serve"}, strings.NewReader(""), out, io.Discard, os.Getenv)
	}()
	out.waitFor(t, "Romeo's history:")
	// command finds the printed line that runs jmi sub, as an environment
	// and arguments.
	command := func(sub, extra string) (func(string) string, []string) {
		for _, line := range strings.Split(out.String(), "\n") {
			f := strings.Fields(line)
			for i, w := range f {
				if w == "jmi" && i+1 < len(f) && f[i+1] == sub && (extra == "" || strings.Contains(line, extra)) {
					vars := map[string]string{}
					for _, kv := range f[:i] {
						k, v, _ := strings.Cut(kv, "=")
						vars[k] = v
					}
					return func(k string) string { return vars[k] }, f[i+1:]
				}
			}
		}
		t.Fatalf("no jmi %s line in:\n%s", sub, out)
		return nil, nil
	}
	laptopEnv, laptop := command("listen", "laptop")
	errOut := &syncBuffer{}
	listened := make(chan int, 1)
	go func() {
		args := append(laptop, "--answer", "accept", "--exit-after", "1")
		listened <- run(ctx, args, strings.NewReader(""), io.Discard, errOut, laptopEnv)
	}()
	errOut.waitFor(t, "waiting for calls")
	romeoEnv, romeo := command("call", "")
	for i := range romeo[:len(romeo)-1] {
		if romeo[i] == "--hangup-after" {
			romeo[i+1] = "100ms" // not the 10 s a person gets to see the call
		}
	}
	var callOut bytes.Buffer
	if st := run(ctx, romeo, strings.NewReader(""), &callOut, io.Discard, romeoEnv); st != exitOK {
		t.Fatalf("the printed jmi call: status %d\n%s", st, callOut.String())
	}
	if st := <-listened; st != exitOK {
		t.Errorf("the printed jmi listen: status %d\n%s", st, errOut)
	}
	cancel()
	if st := <-served; st != exitOK {
		t.Errorf("jmi demo --serve: status %d after Ctrl-C", st)
	}
}

// TestServeHangUp: closing the terminal of "jmi demo --serve" (SIGHUP)
// stops its private Prosody and removes its directory, as Ctrl-C does.
func TestServeHangUp(t *testing.T) {
	if os.Getenv(killArgsEnv) != "" {
		return
	}
	if os.Getenv(prosodytest.SkipEnv) == "1" {
		t.Skipf("%s=1", prosodytest.SkipEnv)
	}
	p := startKillProc(t, []string{"demo", "--serve"})
	p.waitText(t, "Romeo's history:")
	// The server's directory is the parent of the printed --data-dir.
	f := strings.Fields(p.text()[strings.Index(p.text(), "--data-dir "):])
	dir := filepath.Dir(f[1])
	raw, err := os.ReadFile(filepath.Join(dir, "prosody.pid"))
	if err != nil {
		t.Fatalf("the server's pid file: %v\n%s", err, p.text())
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() { // do not leave the server behind
			_ = syscall.Kill(pid, syscall.SIGKILL)
			_ = os.RemoveAll(dir)
		}
	})
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(killWait):
		t.Fatalf("jmi demo --serve did not exit within %s of SIGHUP", killWait)
	}
	if !p.cmd.ProcessState.Success() {
		t.Errorf("jmi demo --serve: %v after SIGHUP, want exit status 0\n%s", p.cmd.ProcessState, p.text())
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("Prosody (pid %d) still runs after SIGHUP: %v", pid, err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the server's directory %s is still there: %v", dir, err)
	}
}
