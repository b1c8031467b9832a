package sim

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/jingle/session"
)

// answered sorts an outcome into what a person cares about: did the call
// happen? An active call or one finished after an answer did; a declined,
// withdrawn or missed one did not.
func answered(i call.Info) (decided, yes bool) {
	switch i.State {
	case call.StateActive:
		return true, true
	case call.StateEnded:
		return true, i.Outcome == call.EventFinished
	}
	return false, false
}

// view is one device's snapshot of one call.
type view struct {
	d *Device
	i call.Info
}

// Check verifies the invariants over every online device. It is meaningful
// at a quiescent point: nothing in flight.
func (w *World) Check() error {
	byID := map[string][]view{}
	// Each online device's calls, snapshotted once for every check.
	snaps := map[*Device]map[string]call.Info{}
	for _, a := range w.Accounts {
		for _, d := range a.Devices {
			if !d.Online {
				continue
			}
			snap := map[string]call.Info{}
			snaps[d] = snap
			for _, i := range d.Machine.Calls() {
				snap[i.ID] = i
				byID[i.ID] = append(byID[i.ID], view{d, i})
				// Nothing rings for a session older than the ring window
				// (§5), in catch-up or otherwise.
				if i.State == call.StateRinging && w.Now.Sub(i.Started) > call.DefaultRingWindow {
					return fmt.Errorf("%s rings for %s, proposed %s ago", d.JID, i.ID, w.Now.Sub(i.Started))
				}
			}
		}
	}
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		views := byID[id]
		var ringing, decidedBy []string
		inCall := map[string][]string{}
		var yes, no []string
		for _, v := range views {
			name := v.d.JID.String()
			switch {
			case v.i.State == call.StateRinging:
				ringing = append(ringing, name)
			case v.i.State == call.StateActive || (v.i.State == call.StateEnded && v.i.Outcome != call.EventMissed):
				// Missed is each device's own time-out (or the echo of a
				// withdrawal every device gets): not a decision that
				// others must have heard of.
				decidedBy = append(decidedBy, fmt.Sprintf("%s(%s/%s)", name, v.i.State, v.i.Outcome))
			}
			if v.i.State == call.StateActive && !v.i.Elsewhere {
				acct := v.d.Account.Bare.String()
				inCall[acct] = append(inCall[acct], name)
			}
			if decided, y := answered(v.i); decided && y {
				yes = append(yes, name)
			} else if decided {
				no = append(no, fmt.Sprintf("%s(%s)", name, v.i.Outcome))
			}
		}
		// No device rings for a call answered, declined, withdrawn or
		// finished anywhere.
		if len(ringing) > 0 && len(decidedBy) > 0 {
			return fmt.Errorf("call %s: %s ring(s) although %s decided it", id, strings.Join(ringing, ", "), strings.Join(decidedBy, ", "))
		}
		// At most one device of each account is in the call.
		for acct, devs := range inCall {
			if len(devs) > 1 {
				return fmt.Errorf("call %s: %d devices of %s are in it: %s", id, len(devs), acct, strings.Join(devs, ", "))
			}
		}
		// Every device agrees whether the call happened.
		if len(yes) > 0 && len(no) > 0 {
			return fmt.Errorf("call %s: answered for %s but not for %s", id, strings.Join(yes, ", "), strings.Join(no, ", "))
		}
	}
	return w.checkSessions(snaps)
}

// RunCrossed plays a crossed call (§4.1): a device of each account calls the
// other, the second before it has seen any answer to the first (at the same
// moment, or while the first rings on its device), and nothing else happens
// but delivery in a random order. It checks that exactly one call survives,
// the same on every device of both sides.
func RunCrossed(seed uint64, log *strings.Builder) error {
	w := NewWorld(seed, log)
	a := w.Accounts[0].Devices[w.rng.IntN(len(w.Accounts[0].Devices))]
	b := w.Accounts[1].Devices[w.rng.IntN(len(w.Accounts[1].Devices))]
	first := w.propose(a)
	// Some of the first call's messages arrive before b calls: its propose
	// may already ring on b, or on b's other devices only.
	for k := w.rng.IntN(len(w.queue) + 1); k > 0; k-- {
		w.deliverOne()
	}
	ids := [2]string{first, w.propose(b)}
	for len(w.queue) > 0 {
		if w.rng.IntN(4) == 0 {
			w.advance(time.Duration(w.rng.IntN(50)) * time.Millisecond)
		}
		w.deliverOne()
	}
	if err := w.Check(); err != nil {
		return err
	}
	var active []string
	for _, acct := range w.Accounts {
		for _, d := range acct.Devices {
			n := 0
			for _, id := range ids {
				if i, ok := d.Machine.Call(id); ok && i.State == call.StateActive {
					n++
					active = append(active, id)
				}
			}
			if n != 1 {
				return fmt.Errorf("%s has %d of the crossed calls %v active, want 1", d.JID, n, ids)
			}
		}
	}
	for _, id := range active {
		if id != active[0] {
			return fmt.Errorf("devices disagree on the surviving call: %v", active)
		}
	}
	return nil
}

// Run plays one schedule of n random steps with the given seed, checking the
// invariants at every quiescent point and at the end, after every device is
// back online, and again once every time-out has come. A transcript goes to log when it is not nil.
func Run(seed uint64, n int, log *strings.Builder) (err error) {
	w := NewWorld(seed, log)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	for range n {
		w.Step()
		if len(w.queue) == 0 {
			if err := w.Check(); err != nil {
				return err
			}
		}
	}
	w.AllOnline()
	if err := w.Check(); err != nil {
		return err
	}
	// Then every time-out comes: a session that waited on one (for a
	// session-terminate lost with a dropped connection) is over now, so the
	// checks allow no exception.
	w.advance(2 * session.DefaultIQTimeout)
	w.Quiesce()
	w.strict = true
	return w.Check()
}
