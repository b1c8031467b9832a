package client

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
	"mellium.im/xmpp/disco"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

func trustAll(jid.JID) bool { return true }

// TestE2ECatchUpHealsGoneArchiveID: when the archive no longer has the id
// the state file reads on from (expired after Prosody's week, or reset),
// the server answers item-not-found; the catch-up reads by time instead,
// finds the call missed meanwhile, and saves a fresh position. Before, it
// logged the error, saved the same id again and never caught up again.
func TestE2ECatchUpHealsGoneArchiveID(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	romeo := w.device(t, "romeo", "orchard")
	// The tablet is online, so the call goes to it and to the archive, not
	// to the offline store: the phone can learn of it only from the archive.
	tablet := w.device(t, "juliet", "tablet")
	id, err := callID(romeo.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain())))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, tablet, "incoming", is(call.EventIncoming, id), 5*time.Second)
	if err := romeo.CallByID(id).Withdraw(ctx, nil); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, tablet, "missed", is(call.EventMissed, id), 5*time.Second)
	tablet.Close()

	stateFile := filepath.Join(t.TempDir(), "phone.json")
	const gone = "archive-id-that-expired"
	if err := saveState(stateFile, state{LastArchiveID: gone, CaughtUpAt: time.Now().Add(-10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	var logs logBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the phone's log:\n%s", logs.String())
		}
	})
	phone := w.dialWith(t, "juliet", "phone", Config{Trust: trustAll, StateFile: stateFile, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	waitEvent(t, phone, "the call missed meanwhile", is(call.EventMissed, id), 5*time.Second)
	select {
	case <-phone.Ready():
	case <-ctx.Done():
		t.Fatal("the catch-up did not end")
	}
	st, err := loadState(stateFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.LastArchiveID == "" || st.LastArchiveID == gone {
		t.Errorf("saved archive id %q, want a fresh one", st.LastArchiveID)
	}
	if !strings.Contains(logs.String(), "no longer has the saved position") {
		t.Errorf("the fall-back was not logged:\n%s", logs.String())
	}
}

// TestE2EConflictStops: two clients with the same full JID. The server
// ends the first one's stream with <conflict/>; it stops, with an error
// wrapping ErrConflict, instead of logging in again and taking the
// resource back (which made both reconnect several times a second for
// ever). The second one goes on.
func TestE2EConflictStops(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first := w.device(t, "juliet", "phone")
	second := w.device(t, "juliet", "phone")
	timeout := time.After(10 * time.Second)
drain:
	for {
		select {
		case _, ok := <-first.Events():
			if !ok {
				break drain
			}
		case <-timeout:
			t.Fatalf("the replaced client did not stop; it logged in %d times", first.logins.Load())
		}
	}
	if err := first.Err(); !errors.Is(err, ErrConflict) {
		t.Errorf("Err() = %v, want ErrConflict", err)
	}
	romeo := w.device(t, "romeo", "orchard")
	id, err := callID(romeo.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain())))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, second, "the call on the client that stayed", is(call.EventIncoming, id), 5*time.Second)
	if n, m := first.logins.Load(), second.logins.Load(); n != 1 || m != 1 {
		t.Errorf("logins: first %d, second %d; want one each", n, m)
	}
	romeo.Close()
	if err := romeo.Err(); err != nil {
		t.Errorf("Err() after Close = %v, want nil", err)
	}
}

// failingRecorder fails every write, as a full disk does.
type failingRecorder struct{}

var errDiskFull = errors.New("database or disk is full")

func (failingRecorder) Record(call.Event) error { return errDiskFull }

// TestE2ERecorderFailure: an event the history could not record is still
// delivered (the user must see the call), and RecordErr says so before the
// application reads it.
func TestE2ERecorderFailure(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	phone := w.dialWith(t, "juliet", "phone", Config{Trust: trustAll, Recorder: failingRecorder{}})
	if n, err := phone.RecordErr(); err != nil || n != 0 {
		t.Fatalf("RecordErr before any event: %v %d", err, n)
	}
	romeo := w.device(t, "romeo", "orchard")
	id, err := callID(romeo.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain())))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, phone, "the call, though not recorded", is(call.EventIncoming, id), 5*time.Second)
	n, err := phone.RecordErr()
	if !errors.Is(err, errDiskFull) || n < 1 {
		t.Fatalf("RecordErr when the event is read: %v %d, want the recorder's error", err, n)
	}
	if !strings.Contains(err.Error(), id) {
		t.Errorf("RecordErr %q does not name the call", err)
	}
}

// waitStatus waits up to d for c's status to reach state.
func waitStatus(t *testing.T, c *Client, state ConnState, d time.Duration) Status {
	t.Helper()
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for {
		st, changed := c.Status()
		if st.State == state {
			return st
		}
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("status %v (%v) after %v, want %v", st.State, st.Err, d, state)
		}
	}
}

// TestE2EWrongPasswordAfterReconnect: the status follows the connection
// (online, reconnecting while the server is down), and a password the
// server refuses after a reconnect reaches the application: the client
// stops with ConnFailed and ErrAuth, Err says so and Events closes, instead
// of logging a line and trying again forever.
func TestE2EWrongPasswordAfterReconnect(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	phone := w.device(t, "juliet", "phone")
	if st, _ := phone.Status(); st.State != ConnOnline {
		t.Fatalf("status after Dial = %v, want online", st.State)
	}
	if err := w.srv.Stop(); err != nil {
		t.Fatal(err)
	}
	if st := waitStatus(t, phone, ConnReconnecting, 10*time.Second); st.Err == nil {
		t.Error("reconnecting without a reason")
	}
	// The password changes while the device is away.
	if err := w.prosody().Unregister(ctx, "juliet"); err != nil {
		t.Fatal(err)
	}
	if err := w.prosody().Register(ctx, "juliet", "a-new-password"); err != nil {
		t.Fatal(err)
	}
	if err := w.srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, phone, ConnFailed, 30*time.Second)
	if !errors.Is(st.Err, ErrAuth) {
		t.Errorf("failed with %v, want ErrAuth", st.Err)
	}
	if !errors.Is(phone.Err(), ErrAuth) {
		t.Errorf("Err() = %v, want ErrAuth", phone.Err())
	}
	for range phone.Events() {
	}
	if n := phone.logins.Load(); n != 1 {
		t.Errorf("logged in %d times, want 1", n)
	}
}

// TestDialWrongPassword: a refused password at Dial is ErrAuth too.
func TestDialWrongPassword(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := Dial(ctx, Config{JID: jid.MustParse("juliet@" + w.srv.Domain() + "/phone"), Password: "wrong", Server: w.srv.Addr(), CAFile: w.srv.CAFile()})
	if !errors.Is(err, ErrAuth) {
		t.Errorf("Dial with a wrong password = %v, want ErrAuth", err)
	}
}

// memPosition is an ArchivePosition in memory, as an application keeping
// it in its own database would have one.
type memPosition struct {
	mu    sync.Mutex
	saved []Position
}

func (m *memPosition) LoadPosition() (Position, error) { return Position{}, nil }

func (m *memPosition) SavePosition(p Position) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.saved = append(m.saved, p)
	return nil
}

// TestE2EArchivePosition: Config.Position replaces the state file: the
// catch-up saves the id of the last archive result it read there.
func TestE2EArchivePosition(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	romeo := w.device(t, "romeo", "orchard")
	tablet := w.device(t, "juliet", "tablet")
	id, err := callID(romeo.Call(ctx, jid.MustParse("juliet@"+w.srv.Domain())))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, tablet, "incoming", is(call.EventIncoming, id), 5*time.Second)
	// A withdraw with a reason of its own, as a decline has.
	if err := romeo.CallByID(id).Withdraw(ctx, &jmi.Reason{Condition: jmi.Gone}); err != nil {
		t.Fatal(err)
	}
	if ev := waitEvent(t, tablet, "missed", is(call.EventMissed, id), 5*time.Second); ev.Reason != string(jmi.Gone) {
		t.Errorf("the withdraw reached the tablet with reason %q, want %s", ev.Reason, jmi.Gone)
	}
	pos := &memPosition{}
	phone := w.dialWith(t, "juliet", "phone", Config{Trust: trustAll, Position: pos})
	waitEvent(t, phone, "the missed call from the archive", is(call.EventMissed, id), 5*time.Second)
	select {
	case <-phone.Ready():
	case <-ctx.Done():
		t.Fatal("the catch-up did not end")
	}
	if err := phone.run(ctx, func() {}); err != nil { // the save ran on the loop before Ready
		t.Fatal(err)
	}
	pos.mu.Lock()
	defer pos.mu.Unlock()
	if len(pos.saved) == 0 || pos.saved[len(pos.saved)-1].LastArchiveID == "" {
		t.Errorf("saved positions %+v, want one with an archive id", pos.saved)
	}
}

// TestE2ECloseEndsSession: when Close returns, the server has ended the
// device's session, so what is sent to the device from then on is the
// server's to store or refuse, never routed into a connection that is
// going away. An IQ to the closed device's full JID gets the server's
// error at once (RFC 6121 §8.5.3.1). Before Close waited for the
// server's end of stream it reset the connection, and ejabberd lost a
// propose routed to the session in the milliseconds it took to notice.
func TestE2ECloseEndsSession(t *testing.T) {
	onEveryServer(t, func(t *testing.T, srv testServer) {
		w := newWorldOn(t, srv)
		romeo := w.device(t, "romeo", "orchard")
		const rounds = 10
		for i := range rounds {
			ctx, cancel := context.WithTimeout(context.Background(), eventWait)
			phone, err := Dial(ctx, w.config("juliet", "phone"))
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			full := phone.Account()
			if err := phone.Close(); err != nil {
				t.Error(err)
			}
			_, err = disco.GetInfo(ctx, "", full, romeo.sess())
			cancel()
			var se stanza.Error
			if !errors.As(err, &se) {
				t.Fatalf("round %d of %d: disco#info to %s just after its Close: %v, want the server's error", i+1, rounds, full, err)
			}
		}
	})
}

// TestE2ECloseWhileReconnectingToAHungServer: Close returns at once while
// the client waits, in a reconnect, on a server that accepted the
// connection and answers nothing (frozen, as a wedged or swapped-out
// server is). Before, the reconnect's own 20 s timeout held Close.
func TestE2ECloseWhileReconnectingToAHungServer(t *testing.T) {
	w := newWorld(t)
	srv := w.prosody()
	phone := w.device(t, "juliet", "phone")
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), restartWait)
	defer cancel()
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if err := srv.Freeze(); err != nil {
		t.Fatal(err)
	}
	defer srv.Thaw()
	// Restart's own probe may still be queued: wait for one more, the
	// client's.
	before, err := srv.QueuedConnections()
	if err != nil {
		t.Fatal(err)
	}
	for {
		n, err := srv.QueuedConnections()
		if err != nil {
			t.Fatal(err)
		}
		if n > before {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the client did not dial the frozen server within %s", restartWait)
		case <-time.After(20 * time.Millisecond):
		}
	}
	closed := make(chan struct{})
	go func() {
		phone.Close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return within 5 s while the client waited on a frozen server")
	}
}
