package calllog

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/call"
)

const killEnv = "CALLLOG_KILL_TEST_PATH"

// TestKillHelper is the process TestKill kills: it records calls, says so
// after each Record returns, and never closes the log.
func TestKillHelper(t *testing.T) {
	path := os.Getenv(killEnv)
	if path == "" {
		t.Skip("run by TestKill")
	}
	l, err := Open(path)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	for i := 0; ; i++ {
		x := ev(call.EventIncoming, call.Incoming, i)
		x.ID = fmt.Sprint("k", i)
		if err := l.Record(x); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("recorded", x.ID)
	}
}

// TestKill kills a recording process and wants every call it reported as
// recorded (as a client shows an event only after Record returns).
func TestKill(t *testing.T) {
	if os.Getenv(killEnv) != "" {
		return
	}
	path := filepath.Join(t.TempDir(), FileName)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestKillHelper$")
	cmd.Env = append(os.Environ(), killEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	shown := map[string]bool{}
	sc := bufio.NewScanner(out)
	for sc.Scan() && len(shown) < 50 {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "recorded" {
			shown[f[1]] = true
		} else if len(f) > 0 && f[0] == "error" {
			t.Fatal(sc.Text())
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if len(shown) < 50 {
		t.Fatalf("helper reported only %d calls", len(shown))
	}
	l, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got, err := l.List(context.Background(), 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, e := range got {
		have[e.ID] = true
	}
	for id := range shown {
		if !have[id] {
			t.Errorf("%s was reported recorded but is lost after the kill", id)
		}
	}
	t.Logf("%d reported, %d in the log after the kill", len(shown), len(got))
}
