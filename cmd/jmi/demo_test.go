package main

import (
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
