package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"

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
