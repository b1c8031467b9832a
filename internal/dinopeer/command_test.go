package dinopeer_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/internal/prosodytest"
)

// TestDinoMediaCommand: the command itself, `jmi call --media-log`, calls
// Dino, Dino answers, and after three seconds jmi hangs up and exits 0.
// Its media log shows what an "I hear nothing" report needs: the
// candidate pairs, the selected one, ICE, DTLS and SRTP, and RTP both
// ways. The whole log is printed (go test -v) as the README's sample.
//
// Open, so it runs only with JMI_DINO_COMMAND=1: in about half the runs
// Dino opens its call window on the click but never sends <proceed/>, and
// jmi call gives up after its ring timeout (exit 4). The client-level
// TestDinoMedia, which places the same call from a client.Client, has not
// failed so; the difference is not found yet.
func TestDinoMediaCommand(t *testing.T) {
	if os.Getenv("JMI_DINO_COMMAND") != "1" {
		line := t.Name() + ": open: Dino sometimes never proceeds (JMI_DINO_COMMAND=1 runs it)"
		if name := os.Getenv("JMI_SKIPPED_FILE"); name != "" {
			if f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0); err == nil {
				f.WriteString(line + "\n")
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
	notes := d.Notices()
	cmd := exec.Command(bin, "call", "--media-log", "--hangup-after", "3s", "--ring-timeout", "60s",
		"--jid", "romeo@"+w.srv.Domain+"/cli", "--server", w.srv.Addr, "--ca-file", w.srv.CAFile, "--data-dir", t.TempDir(),
		w.juliet.String())
	cmd.Env = append(os.Environ(), "JMI_PASSWORD="+prosodytest.Password("romeo"))
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Kill()
		<-exited
		t.Logf("jmi call --media-log with Dino 0.4.2:\n%s\n%s", stdout.String(), stderr.String())
	}()
	n := ringing(t, d, notes, "romeo@"+w.srv.Domain)
	if err := d.Click(n.ID, "accept"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		exited <- err // for the deferred wait
		var exit *exec.ExitError
		if errors.As(err, &exit) || err != nil {
			t.Fatalf("jmi call: %v", err)
		}
	case <-time.After(wait):
		t.Fatalf("jmi call did not end within %s", wait)
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
