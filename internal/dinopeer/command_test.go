package dinopeer_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/internal/prosodytest"
)

// TestDinoMediaCommand: the command itself, `jmi call --media-log`, calls
// Dino, Dino answers, and after eight seconds jmi hangs up and exits 0.
// Its media log shows what an "I hear nothing" report needs: the
// candidate pairs, the selected one, ICE, DTLS and SRTP, and RTP both
// ways. The whole log is printed (go test -v) as the README's sample.
//
// Dino 0.4.2 now and then opens its call window on the click and never
// sends <proceed/> (see TestDinoMedia): jmi call then exits 4 at its ring
// timeout, and the test restarts Dino and tries again, twice at most.
//
// Open, so it runs only with JMI_DINO_COMMAND=1 (./dev test lists it as
// skipped): besides the missing proceed, one clean-clone run had a call
// Dino answered and never sent RTP on within the 2.3 s it was up (jmi sent
// 57 packets, received 0), cause not found.
func TestDinoMediaCommand(t *testing.T) {
	if os.Getenv("JMI_DINO_COMMAND") != "1" {
		line := t.Name() + ": open: Dino sometimes sends no RTP on a call from jmi call (JMI_DINO_COMMAND=1 runs it)"
		if name := os.Getenv("JMI_SKIPPED_FILE"); name != "" {
			if f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0); err == nil {
				fmt.Fprintln(f, line)
				f.Close()
			}
		}
		t.Skip(line)
	}
	lanAddress(t) // before Dino starts: it reconnects when the network changes
	w := newWorld(t)
	d := w.dino
	bin := filepath.Join(t.TempDir(), "jmi")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/jmi-xmpp/jmi/cmd/jmi").CombinedOutput(); err != nil {
		t.Fatalf("building jmi: %v\n%s", err, out)
	}
	const attempts = 3
	var stdout, stderr *syncBuffer
	for attempt := 1; ; attempt++ {
		var answered bool
		stdout, stderr, answered = dinoCommandCall(t, w, bin)
		if answered {
			break
		}
		if attempt == attempts {
			t.Fatalf("Dino did not answer jmi call, %d times", attempts)
		}
		t.Logf("Dino did not answer jmi call (attempt %d of %d): restarting Dino", attempt, attempts)
		if err := d.Restart(ctxWithin(t, startWait)); err != nil {
			t.Fatal(err)
		}
	}
	log := stderr.String()
	for _, want := range []string{"selected pair udp", "DTLS connected", "SRTP SRTP_", "RTP PCMU"} {
		if !strings.Contains(log, want) {
			t.Errorf("the media log has no %q", want)
		}
	}
	// The last count, at the end of the call: RTP both ways.
	if i := strings.LastIndex(log, "RTP PCMU: sent "); i < 0 || strings.HasPrefix(log[i:], "RTP PCMU: sent 0 ") || strings.Contains(strings.SplitN(log[i:], "\n", 2)[0], "received 0 ") {
		t.Error("the media log's last count is not of RTP both ways")
	}
	if !strings.Contains(stdout.String(), "audio: PCMU") {
		t.Error("the human output shows no audio line")
	}
}

// dinoCommandCall runs jmi call --media-log to Dino's account, accepts in
// Dino, and waits for jmi to exit: answered says whether Dino answered
// (jmi exited 0) or not (exit 4 at the ring timeout); any other end fails
// the test.
func dinoCommandCall(t *testing.T, w *world, bin string) (stdout, stderr *syncBuffer, answered bool) {
	t.Helper()
	d := w.dino
	notes := d.Notices()
	cmd := exec.Command(bin, "call", "--media-log", "--hangup-after", "8s", "--ring-timeout", "15s",
		"--jid", "romeo@"+w.srv.Domain+"/cli", "--server", w.srv.Addr, "--ca-file", w.srv.CAFile, "--data-dir", t.TempDir(),
		w.juliet.String())
	cmd.Env = append(os.Environ(), "JMI_PASSWORD="+prosodytest.Password("romeo"))
	stdout, stderr = &syncBuffer{}, &syncBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		t.Logf("jmi call --media-log with Dino 0.4.2:\n%s\n%s", stdout.String(), stderr.String())
	}()
	n := ringing(t, d, notes, "romeo@"+w.srv.Domain)
	if err := d.Click(n.ID, "accept"); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 4 {
			return stdout, stderr, false
		}
		if err != nil {
			t.Fatalf("jmi call: %v", err)
		}
		return stdout, stderr, true
	case <-time.After(wait):
		_ = cmd.Process.Kill()
		<-exited
		t.Fatalf("jmi call did not end within %s", wait)
	}
	return nil, nil, false
}
