package prosodytest_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/internal/prosodytest"
	"golang.org/x/sys/unix"
)

// helperDirEnv, when set, makes TestServerDiesWithTestBinary the helper:
// it starts a server in that directory, says so, and waits to be killed.
const helperDirEnv = "JMI_PROSODYTEST_HELPER_DIR"

// TestServerDiesWithTestBinary: a test binary killed (as on a time-out)
// leaves no Prosody running; in a private network namespace a server left
// behind would keep the namespace alive for good.
func TestServerDiesWithTestBinary(t *testing.T) {
	if dir := os.Getenv(helperDirEnv); dir != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if _, err := prosodytest.Start(ctx, prosodytest.Options{Dir: dir}); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		// Prosody writes its pid file a little after it listens: name the
		// child instead.
		fmt.Println("ready", children(os.Getpid()))
		select {} // until killed
	}
	if _, err := exec.LookPath("prosody"); err != nil && os.Getenv(prosodytest.SkipEnv) == "1" {
		t.Skipf("%v (skipped: %s=1)", err, prosodytest.SkipEnv)
	}
	dir := t.TempDir()
	helper := exec.Command(os.Args[0], "-test.run=^TestServerDiesWithTestBinary$")
	helper.Env = append(os.Environ(), helperDirEnv+"="+dir)
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	defer helper.Process.Kill()
	said := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(out)
		for lines.Scan() {
			if l := lines.Text(); strings.HasPrefix(l, "ready") || strings.HasPrefix(l, "error") {
				said <- l
				return
			}
		}
		said <- "helper ended"
	}()
	var l string
	select {
	case l = <-said:
	case <-time.After(30 * time.Second):
		t.Fatal("the helper's server did not start within 30 s")
	}
	pid, err := strconv.Atoi(strings.TrimPrefix(l, "ready "))
	if err != nil {
		t.Fatalf("helper: %s", l)
	}
	_ = helper.Process.Kill()
	_ = helper.Wait()
	// Wait for the server to go, on the event of its exit: a pidfd turns
	// readable when the process ends (it is not our child, so Wait cannot).
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return // already gone
	}
	defer unix.Close(fd)
	n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 10_000)
	if err != nil {
		t.Fatalf("waiting for prosody (pid %d) to exit: %v", pid, err)
	}
	if n == 0 {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("prosody (pid %d) still runs 10 s after its test binary was killed", pid)
	}
}

// children returns the pid of the one child of pid, or 0.
func children(pid int) int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		stat, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		// After the command name in parentheses: the state, then the ppid.
		i := strings.LastIndexByte(string(stat), ')')
		fields := strings.Fields(string(stat[i+1:]))
		if i > 0 && len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			child, _ := strconv.Atoi(strings.Fields(string(stat))[0])
			return child
		}
	}
	return 0
}
