package slixpeer

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// TestPasswordNotInArguments: the password reaches the script through its
// environment, never its command line, which any user can read with ps.
func TestPasswordNotInArguments(t *testing.T) {
	const pw = "s3cret-pw"
	cmd := command(context.Background(), "peer.py", Options{JID: "juliet@localhost/phone", Password: pw, Server: "127.0.0.1:5222", Role: "listen"})
	for _, a := range cmd.Args {
		if strings.Contains(a, pw) {
			t.Errorf("the password is in the arguments: %q", cmd.Args)
		}
	}
	if !slices.Contains(cmd.Env, PasswordEnv+"="+pw) {
		t.Errorf("no %s=%s in the environment", PasswordEnv, pw)
	}
}
