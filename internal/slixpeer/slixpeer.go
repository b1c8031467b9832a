// Package slixpeer runs a slixmpp client (Debian's python3-slixmpp and its
// xep_0353 plugin) as a peer for jmi's interoperability tests: the shapes
// slixmpp sends (urn:xmpp:jingle-message:0, no type, no store hint) and how
// it reacts to what jmi sends.
package slixpeer

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/jmi-xmpp/jmi/internal/prosodytest"
)

//go:embed peer.py
var script []byte

// Python is the interpreter that has slixmpp.
const Python = "/usr/bin/python3"

// PasswordEnv is the environment variable through which the peer gets its
// password.
const PasswordEnv = "SLIXPEER_PASSWORD"

// ErrNotInstalled says python3-slixmpp is missing.
var ErrNotInstalled = errors.New("slixpeer: python3-slixmpp is not installed")

// Options say how the peer logs in and what it does.
type Options struct {
	JID, Password string
	Server        string // host:port
	CAFile        string // trust this CA for STARTTLS; empty with Plaintext
	Plaintext     bool
	// Role is "answer", "reject", "listen", "call", "call-retract" or
	// "watch"; Args are the role's arguments (PEER, and AFTER seconds for
	// call-retract). A watch peer logs in with priority -1, so that no
	// message to the bare JID reaches it, and reports the other resources
	// of its account as they come online and go offline.
	Role string
	Args []string
	// Events ends the peer after this many lines; 0 waits for Timeout.
	Events int
	// Timeout in seconds; default 30.
	Timeout float64
}

// Line is one JSON line of the peer: exactly one of Got, Sent, Ignored,
// Ready, Online, Offline, Error or Timeout is set.
//
// Got and Sent name the JMI elements slixmpp's xep_0353 plugin received
// (and fired an event for) and sent; Ignored names a JMI element that
// arrived but that the plugin fires no event for (ringing, finish). Ready,
// the first line, comes once the server has reflected the peer's initial
// presence, that is once a message to its bare JID reaches it. Online and
// Offline are the full JIDs a watch peer saw come and go.
type Line struct {
	Got     string   `json:"got,omitempty"`
	Sent    string   `json:"sent,omitempty"`
	Ignored string   `json:"ignored,omitempty"`
	ID      string   `json:"id,omitempty"`
	From    string   `json:"from,omitempty"`
	To      string   `json:"to,omitempty"`
	Ready   string   `json:"ready,omitempty"`
	Online  string   `json:"online,omitempty"`
	Offline string   `json:"offline,omitempty"`
	Error   string   `json:"error,omitempty"`
	Timeout *float64 `json:"timeout,omitempty"`
}

// Peer is a running slixmpp peer.
type Peer struct {
	// Lines delivers the peer's lines; it is closed when the peer exits.
	Lines <-chan Line
	cmd   *exec.Cmd
	once  sync.Once
	dir   string
	done  chan struct{}
	stop  chan struct{}
}

// Available reports whether slixmpp can be run.
func Available() bool {
	return exec.Command(Python, "-c", "import slixmpp.plugins.xep_0353").Run() == nil
}

// Require ends a test that needs slixmpp when it is missing: it fails, or
// skips when the environment variable prosodytest.SkipEnv is 1, as the
// Prosody harness does.
func Require(t testing.TB) {
	t.Helper()
	if Available() {
		return
	}
	if os.Getenv(prosodytest.SkipEnv) == "1" {
		t.Skip(ErrNotInstalled)
	}
	t.Fatal(ErrNotInstalled)
}

// Start runs the peer until ctx ends, it exits, or Stop.
func Start(ctx context.Context, o Options) (*Peer, error) {
	if !Available() {
		return nil, ErrNotInstalled
	}
	dir, err := os.MkdirTemp("", "slixpeer")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "peer.py")
	if err := os.WriteFile(path, script, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := command(ctx, path, o)
	out, err := cmd.StdoutPipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("slixpeer: %w", err)
	}
	lines := make(chan Line, 64)
	p := &Peer{Lines: lines, cmd: cmd, dir: dir, done: make(chan struct{}), stop: make(chan struct{})}
	go func() {
		defer close(p.done)
		defer cmd.Wait()
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var l Line
			if json.Unmarshal(sc.Bytes(), &l) != nil {
				l = Line{Error: "unreadable line: " + sc.Text()}
			}
			select {
			case lines <- l:
			case <-ctx.Done():
				return
			case <-p.stop:
				return
			}
		}
	}()
	return p, nil
}

// command is the peer script at path run with o.
func command(ctx context.Context, path string, o Options) *exec.Cmd {
	if o.Timeout == 0 {
		o.Timeout = 30
	}
	args := []string{path, "--jid", o.JID, "--server", o.Server,
		"--events", strconv.Itoa(o.Events), "--timeout", strconv.FormatFloat(o.Timeout, 'f', -1, 64)}
	if o.Plaintext {
		args = append(args, "--plaintext")
	} else if o.CAFile != "" {
		args = append(args, "--ca", o.CAFile)
	}
	args = append(append(args, o.Role), o.Args...)
	cmd := exec.CommandContext(ctx, Python, args...)
	// The password goes in the environment, not the arguments, so that it
	// never shows in ps.
	cmd.Env = append(os.Environ(), PasswordEnv+"="+o.Password)
	cmd.Stderr = os.Stderr
	return cmd
}

// Stop kills the peer, waits for it to exit and removes its files.
func (p *Peer) Stop() {
	p.once.Do(func() {
		close(p.stop)
		p.cmd.Process.Kill()
		<-p.done
		os.RemoveAll(p.dir)
	})
}
