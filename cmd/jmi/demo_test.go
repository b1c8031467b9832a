package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
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
	for _, want := range []string{"RINGS", "answered by juliet@localhost/phone [elsewhere]", "missed call from romeo@localhost", "tie-break", "moved to",
		"== 6. a real audio call", "all 6 steps behaved as expected"} {
		if !strings.Contains(out, want) {
			t.Errorf("the timeline lacks %q:\n%s", want, out)
		}
	}
	// Step 6: both sides connected and heard the other's tone (the step
	// fails unless it is within 2 %: the line is printed before the check).
	step6 := out[strings.Index(out, "== 6."):]
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`romeo/orchard +media connected`),
		regexp.MustCompile(`juliet/phone +media connected`),
		regexp.MustCompile(`romeo/orchard +media: PCMU over udp4? host 127\.0\.0\.1:\d+ <-> udp4? host 127\.0\.0\.1:\d+`),
		regexp.MustCompile(`romeo/orchard +heard 6(4[6-9]|5\d|6\d|7[0-4]) Hz at -\d+ dBFS`),
		regexp.MustCompile(`juliet/phone +heard 4(3\d|4\d) Hz at -\d+ dBFS`),
	} {
		if !want.MatchString(step6) {
			t.Errorf("step 6 lacks %s:\n%s", want, step6)
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
	recording := filepath.Join(t.TempDir(), "heard-by-romeo.wav")
	for i := range romeo[:len(romeo)-1] {
		switch romeo[i] {
		case "--hangup-after":
			romeo[i+1] = "2500ms" // not the 10 s a person gets, but a status line's worth
		case "--record":
			romeo[i+1] = recording // not in the current directory
		}
	}
	var callOut bytes.Buffer
	if st := run(ctx, romeo, strings.NewReader(""), &callOut, io.Discard, romeoEnv); st != exitOK {
		t.Fatalf("the printed jmi call: status %d\n%s", st, callOut.String())
	}
	// The person sees the audio flowing both ways, and has the recording
	// of the laptop's tone.
	if !strings.Contains(callOut.String(), "audio: connected, PCMU") || !audioLine.MatchString(callOut.String()) {
		t.Errorf("the printed jmi call shows no audio flowing:\n%s", callOut.String())
	}
	heardTone(t, recording, 660)
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
