package client

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
)

// newOfflineClient returns a client with its loop running and no session:
// what it sends is queued as offline, which is all these tests need.
func newOfflineClient(t *testing.T) *Client {
	t.Helper()
	c, err := newClient(Config{JID: phone, Trust: trustAll})
	if err != nil {
		t.Fatal(err)
	}
	c.startLoop()
	return c
}

// ring makes the propose in the constant propose (call c1) arrive.
func ring(t *testing.T, c *Client) {
	t.Helper()
	if err := c.run(context.Background(), func() { c.apply(c.dev.Receive(time.Now(), []byte(propose))) }); err != nil {
		t.Fatal(err)
	}
}

// answered reports whether call c1 was answered here; read only after the
// loop has returned (Close), or on the loop.
func answered(c *Client) bool {
	info, ok := c.dev.Call("c1")
	return ok && info.State == call.StateActive && !info.Elsewhere
}

// TestCloseWithUnreadEvents: Close returns only when every goroutine of the
// client has, the one that delivers events included, even when nobody
// reads them; Events is closed by then. Before, the delivering goroutine
// stayed blocked forever on an event nobody read (synctest reports it as a
// deadlock of the bubble).
func TestCloseWithUnreadEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newOfflineClient(t)
		ring(t, c) // an incoming event that nobody reads
		synctest.Wait()
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case _, ok := <-c.Events():
			if ok {
				t.Error("Events delivered an event after Close returned")
			}
		default:
			t.Error("Events is not closed after Close returned")
		}
		if st, _ := c.Status(); st.State != ConnClosed {
			t.Errorf("status after Close = %v, want closed", st.State)
		}
	})
}

// TestStopDeliversQueuedEvents: a client that stops on its own (a conflict,
// a refused password) still delivers the events queued before, then closes
// Events; Close afterwards waits for it all.
func TestStopDeliversQueuedEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newOfflineClient(t)
		ring(t, c)
		c.stopWith(ErrAuth)
		ev, ok := <-c.Events()
		if !ok || ev.Type != call.EventIncoming {
			t.Fatalf("first event after the stop = %v %v, want the incoming call", ev.Type, ok)
		}
		for range c.Events() {
		}
		st, _ := c.Status()
		if st.State != ConnFailed || !errors.Is(st.Err, ErrAuth) {
			t.Errorf("status = %v (%v), want failed with ErrAuth", st.State, st.Err)
		}
		c.Close()
		if st, _ := c.Status(); st.State != ConnFailed {
			t.Errorf("Close replaced the failure: status %v", st.State)
		}
		if !errors.Is(c.Err(), ErrAuth) {
			t.Errorf("Err() = %v, want ErrAuth", c.Err())
		}
	})
}

// block occupies the loop until the returned func is called.
func block(t *testing.T, c *Client) (release func()) {
	started, free := make(chan struct{}), make(chan struct{})
	c.post(func() { close(started); <-free })
	<-started
	return func() { close(free) }
}

// TestQueuedActionCancelled: an action whose context ends while it waits
// for the loop does not happen, and says so.
func TestQueuedActionCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newOfflineClient(t)
		defer c.Close()
		ring(t, c)
		release := block(t, c)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error)
		go func() { errc <- c.CallByID("c1").Answer(ctx) }()
		synctest.Wait() // Answer is queued behind the blocked loop
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("Answer = %v, want context.Canceled", err)
		}
		release()
		var was bool
		if err := c.run(context.Background(), func() { was = answered(c) }); err != nil {
			t.Fatal(err)
		}
		if was {
			t.Error("the cancelled Answer answered the call")
		}
	})
}

// TestStartedActionFinishes: once the loop has started an action, the
// caller waits for it and gets nil, whatever its context does meanwhile.
func TestStartedActionFinishes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := newOfflineClient(t)
		defer c.Close()
		ctx, cancel := context.WithCancel(context.Background())
		ran := false
		err := c.run(ctx, func() {
			cancel()
			synctest.Wait() // the caller has seen ctx end
			ran = true
		})
		if err != nil || !ran {
			t.Fatalf("run = %v, ran %v; want nil after the action ran", err, ran)
		}
	})
}

// TestActionNilIffDone: Answer with a context cancelled at any moment, or a
// Close racing it, either answers and returns nil or does not and returns
// an error. Before, a cancelled Answer answered the call and returned
// context.Canceled in about half the tries.
func TestActionNilIffDone(t *testing.T) {
	for i := range 200 {
		c := newOfflineClient(t)
		ring(t, c)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { errc <- c.CallByID("c1").Answer(ctx) }()
		if i%2 == 0 {
			cancel()
		} else {
			go c.Close()
		}
		err := <-errc
		c.Close()
		cancel()
		if was := answered(c); was != (err == nil) {
			t.Fatalf("try %d: Answer returned %v, and the call answered: %v", i, err, was)
		}
	}
}

// TestEventQueueOrder: events come out in the order they went in, none
// lost, while the pusher never waits for the reader (as pion ice's
// TestUpdateOrdering checks its notifier); end closes the channel after the
// last one.
func TestEventQueueOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newEventQueue()
		const n = 10000
		for i := range n {
			q.push(call.Event{ID: strconv.Itoa(i)})
		}
		q.end()
		q.push(call.Event{ID: "after the end"}) // dropped: nothing follows end
		i := 0
		for ev := range q.out {
			if ev.ID != strconv.Itoa(i) {
				t.Fatalf("event %d is %q", i, ev.ID)
			}
			i++
		}
		if i != n {
			t.Fatalf("%d events delivered, want %d", i, n)
		}
		<-q.drained
	})
}

// TestEventQueueAbandon: abandon drops what nobody read and returns the
// delivering goroutine at once, even when the reader is gone mid-way.
func TestEventQueueAbandon(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newEventQueue()
		for i := range 10 {
			q.push(call.Event{ID: strconv.Itoa(i)})
		}
		if ev := <-q.out; ev.ID != "0" {
			t.Fatalf("first event %q", ev.ID)
		}
		synctest.Wait() // the goroutine waits to hand over the second
		q.abandon()
		<-q.drained
		if _, ok := <-q.out; ok {
			t.Error("an event came out after abandon")
		}
	})
}

// TestUnwritableInputRefused: a media or a reason the encoder cannot write
// is refused before the engine acts, so no call rings nowhere and no call
// ends here unheard by the peer. Before, the engine took the action and
// only the send failed (or, before the encoder refused it, the peer read
// another text).
func TestUnwritableInputRefused(t *testing.T) {
	c := newOfflineClient(t)
	defer c.Close()
	ctx := context.Background()
	if h, err := c.Call(ctx, romeoJ, "audio\nforged row"); !errors.Is(err, jmi.ErrBadMedia) {
		t.Errorf("Call with a bad media = %v, %v; want ErrBadMedia", h, err)
	}
	var calls int
	if err := c.run(ctx, func() { calls = len(c.dev.Calls()) }); err != nil {
		t.Fatal(err)
	}
	if calls != 0 {
		t.Errorf("%d calls after a refused Call, want 0", calls)
	}
	ring(t, c)
	bad := &jmi.Reason{Condition: jmi.Busy, Text: "busy\x00"}
	if err := c.CallByID("c1").Decline(ctx, bad); !errors.Is(err, jmi.ErrNotXMLText) {
		t.Errorf("Decline with a NUL in the text = %v, want ErrNotXMLText", err)
	}
	if err := c.CallByID("c1").Decline(ctx, &jmi.Reason{Condition: "not a name"}); !errors.Is(err, jmi.ErrNotXMLText) {
		t.Errorf("Decline with a bad condition = %v, want ErrNotXMLText", err)
	}
	info, ok, err := c.CallByID("c1").Info(ctx)
	if err != nil || !ok || info.State != call.StateRinging {
		t.Errorf("after the refused declines: %+v %v %v, want the call still ringing", info, ok, err)
	}
}
