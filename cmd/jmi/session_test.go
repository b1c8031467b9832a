package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/calllog"
	"github.com/jmi-xmpp/jmi/client"
	"github.com/jmi-xmpp/jmi/internal/prosodytest"
	"mellium.im/xmpp/jid"
)

// startListen runs "jmi listen" as Juliet with args until the test ends;
// it returns the command's standard error and its exit status once it
// exits.
func (w *listenWorld) startListen(t *testing.T, ctx context.Context, args ...string) (*jsonEvents, *syncBuffer, <-chan int) {
	t.Helper()
	out, errOut := newJSONEvents(), &syncBuffer{}
	status := make(chan int, 1)
	go func() {
		status <- runEnv(ctx, env{
			args:  append([]string{"listen", "--json", "--ca-file", w.srv.CAFile, "--trust", "romeo@" + w.srv.Domain}, args...),
			stdin: strings.NewReader(""), stdout: out, stderr: errOut, getenv: w.julietEnv(true),
		})
	}()
	return out, errOut, status
}

// exitStatus waits for a command's exit status.
func exitStatus(t *testing.T, status <-chan int, errOut *syncBuffer) int {
	t.Helper()
	select {
	case st := <-status:
		return st
	case <-time.After(20 * time.Second):
		t.Fatalf("the command did not exit; stderr:\n%s", errOut)
	}
	return -1
}

// TestDataDirLock: a second "jmi listen" or "jmi call" on the data
// directory a "jmi listen" uses fails at once with a clear error, instead
// of sharing the history (lost writes, calls answered here recorded as
// answered elsewhere) and the device's session. Once the first exits, the
// directory is free again.
func TestDataDirLock(t *testing.T) {
	w := newListenWorld(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, errOut, status := w.startListen(t, ctx, "--data-dir", dir)
	errOut.waitFor(t, "waiting for calls")

	for _, args := range [][]string{
		{"listen", "--ca-file", w.srv.CAFile, "--data-dir", dir},
		{"call", "--ca-file", w.srv.CAFile, "--data-dir", dir, "romeo@" + w.srv.Domain},
	} {
		second, stop := context.WithTimeout(context.Background(), 10*time.Second)
		var stderr bytes.Buffer
		began := time.Now()
		st := runEnv(second, env{args: args, stdin: strings.NewReader(""), stdout: &bytes.Buffer{}, stderr: &stderr, getenv: w.julietEnv(true)})
		stop()
		if st != exitError || !strings.Contains(stderr.String(), "in use by another jmi (pid ") || !strings.Contains(stderr.String(), dir) {
			t.Errorf("jmi %s on a data directory in use: status %d after %s; stderr:\n%s", args[0], st, time.Since(began).Round(time.Millisecond), stderr.String())
		}
	}
	cancel()
	if st := exitStatus(t, status, errOut); st != exitOK {
		t.Fatalf("the first listener: status %d; stderr:\n%s", st, errOut)
	}
	again, stop := context.WithCancel(context.Background())
	defer stop()
	_, errOut, status = w.startListen(t, again, "--data-dir", dir)
	errOut.waitFor(t, "waiting for calls")
	stop()
	if st := exitStatus(t, status, errOut); st != exitOK {
		t.Fatalf("after the first exited: status %d; stderr:\n%s", st, errOut)
	}
}

// TestListenConflict: another session logs in with the listener's full
// JID; the server ends the listener's stream with <conflict/>, and "jmi
// listen" exits 1 saying so, instead of taking the resource back for ever.
func TestListenConflict(t *testing.T) {
	w := newListenWorld(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, errOut, status := w.startListen(t, ctx, "--data-dir", t.TempDir())
	errOut.waitFor(t, "waiting for calls")
	dial, stop := context.WithTimeout(context.Background(), 20*time.Second)
	defer stop()
	other, err := client.Dial(dial, client.Config{JID: jid.MustParse("juliet@" + w.srv.Domain + "/cli"), Password: prosodytest.Password("juliet"), Server: w.srv.Addr, CAFile: w.srv.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		other.Close()
		for range other.Events() {
		}
	}()
	if st := exitStatus(t, status, errOut); st != exitError {
		t.Errorf("status %d, want %d", st, exitError)
	}
	if !strings.Contains(errOut.String(), "another session logged in as juliet@"+w.srv.Domain+"/cli") {
		t.Errorf("no clear word of the conflict:\n%s", errOut)
	}
	if err := other.Err(); err != nil {
		t.Errorf("the session that took over stopped: %v", err)
	}
}

// fullDisk mounts a small tmpfs on a new directory and returns it, with a
// function that fills it to the last byte. It skips the test where mounting
// is not allowed (not root, or no CAP_SYS_ADMIN). It unmounts lazily at
// the end, so that a command still closing its files cannot keep it busy.
func fullDisk(t *testing.T) (dir string, fill func()) {
	t.Helper()
	dir = t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "jmi-test-full", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs to fill (needs root): %v %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "--lazy", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir, func() {
		t.Helper()
		f, err := os.Create(filepath.Join(dir, "filler"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		chunk := make([]byte, 4096)
		for {
			if _, err := f.Write(chunk); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				return
			}
		}
	}
}

// TestListenHistoryFull: the disk fills while "jmi listen" is in a call.
// A second call rings; the history can record neither it nor the end of
// the first. The listener says so plainly, answers no new call (it rings
// on the other devices), carries the call under way to its end, then exits
// 1. Before, only a warning went to standard error and the listener
// carried on.
func TestListenHistoryFull(t *testing.T) {
	dir, fill := fullDisk(t)
	w := newListenWorld(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The second call comes from the nurse: a second call from Romeo would
	// move the first (XEP-0353 §4.2).
	if err := w.srv.Register(ctx, "nurse", prosodytest.Password("nurse")); err != nil {
		t.Fatal(err)
	}
	nurse := w.dial(t, "nurse", "chamber")
	out, errOut, status := w.startListen(t, ctx, "--answer", "accept", "--trust", "nurse@"+w.srv.Domain, "--data-dir", dir)
	errOut.waitFor(t, "waiting for calls")
	juliet := jid.MustParse("juliet@" + w.srv.Domain)
	first, err := w.romeo.Call(ctx, juliet)
	if err != nil {
		t.Fatal(err)
	}
	w.romeoWaits(t, call.EventProceeded, first.ID())
	out.next(t, "proceeded", first.ID())
	fill()

	second, err := nurse.Call(ctx, juliet)
	if err != nil {
		t.Fatal(err)
	}
	out.next(t, "incoming", second.ID())
	errOut.waitFor(t, "THE CALL HISTORY COULD NOT BE WRITTEN")
	if err := second.Withdraw(ctx, nil); err != nil {
		t.Fatal(err)
	}
	out.next(t, "missed", second.ID())
	select {
	case st := <-status:
		t.Fatalf("exited with %d while a call was up; stderr:\n%s", st, errOut)
	default:
	}
	if err := first.HangUp(ctx, nil); err != nil {
		t.Fatal(err)
	}
	out.next(t, "finished", first.ID())
	if st := exitStatus(t, status, errOut); st != exitError {
		t.Errorf("status %d after the call ended, want %d; stderr:\n%s", st, exitError, errOut)
	}
	if !strings.Contains(errOut.String(), `missing from "jmi log"`) {
		t.Errorf("the user is not told what it means:\n%s", errOut)
	}
	// What the user was told is true: the history lacks the second call and
	// the end of the first.
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	history, err := calllog.Open(filepath.Join(dir, calllog.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer history.Close()
	entries, err := history.List(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].ID != first.ID() || entries[0].Outcome != calllog.Active {
		t.Errorf("history %+v, want only the first call, still active", entries)
	}
}

// TestCallHistoryFull: the disk fills while "jmi call" rings. It says so
// plainly, carries the call on to its end (answered, then hung up by the
// callee), then exits 1 instead of 0.
func TestCallHistoryFull(t *testing.T) {
	dir, fill := fullDisk(t)
	w := newListenWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	errOut := &syncBuffer{}
	status := make(chan int, 1)
	go func() {
		status <- runEnv(ctx, env{
			args:  []string{"call", "--ca-file", w.srv.CAFile, "--data-dir", dir, "romeo@" + w.srv.Domain},
			stdin: strings.NewReader(""), stdout: &syncBuffer{}, stderr: errOut, getenv: w.julietEnv(true),
		})
	}()
	var id string
	deadline := time.After(20 * time.Second)
	for id == "" {
		select {
		case ev := <-w.romeo.Events():
			if ev.Type == call.EventIncoming {
				id = ev.ID
			}
		case <-deadline:
			t.Fatalf("Romeo's device did not ring; stderr:\n%s", errOut)
		}
	}
	fill()
	if err := w.romeo.CallByID(id).Answer(ctx); err != nil {
		t.Fatal(err)
	}
	errOut.waitFor(t, "THE CALL HISTORY COULD NOT BE WRITTEN")
	select {
	case st := <-status:
		t.Fatalf("exited with %d while the call was up; stderr:\n%s", st, errOut)
	default:
	}
	if err := w.romeo.CallByID(id).HangUp(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if st := exitStatus(t, status, errOut); st != exitError {
		t.Errorf("status %d after an answered call the history lacks, want %d; stderr:\n%s", st, exitError, errOut)
	}
	if !strings.Contains(errOut.String(), "jmi call: the call history could not be written") {
		t.Errorf("no last word of the failure:\n%s", errOut)
	}
}
