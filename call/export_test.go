package call

import (
	"fmt"
	"time"
)

// CheckDeadlines compares NextDeadline with a scan of every remembered call
// (as NextDeadline was computed before the deadline queues) and checks the
// queues' invariant: a call is in a queue exactly when it is remembered and
// has a deadline, once, in the queue of its kind, at the place its slot
// says, and each queue is a min-heap.
func (m *Machine) CheckDeadlines() error {
	var want time.Time
	for _, c := range m.calls {
		if c.deferred && m.catchingUp {
			continue
		}
		if !c.deadline.IsZero() && (want.IsZero() || c.deadline.Before(want)) {
			want = c.deadline
		}
	}
	if got := m.NextDeadline(); !got.Equal(want) {
		return fmt.Errorf("NextDeadline %v, a scan of the %d calls gives %v (catching up %v)", got, len(m.calls), want, m.catchingUp)
	}
	queued := 0
	for _, q := range []struct {
		name     string
		q        deadlineQueue
		deferred bool
	}{{"due", m.due, false}, {"dueDeferred", m.dueDeferred, true}} {
		for i, c := range q.q {
			switch {
			case c.slot != i+1:
				return fmt.Errorf("%s[%d] is call %s with slot %d", q.name, i, c.ID, c.slot)
			case m.calls[c.ID] != c:
				return fmt.Errorf("%s[%d]: call %s is not remembered", q.name, i, c.ID)
			case c.deadline.IsZero():
				return fmt.Errorf("%s[%d]: call %s has no deadline", q.name, i, c.ID)
			case c.deferred != q.deferred:
				return fmt.Errorf("%s[%d]: call %s has deferred %v", q.name, i, c.ID, c.deferred)
			case i > 0 && c.deadline.Before(q.q[(i-1)/2].deadline):
				return fmt.Errorf("%s[%d]: call %s is due before its parent", q.name, i, c.ID)
			}
		}
		queued += len(q.q)
	}
	withDeadline := 0
	for _, c := range m.calls {
		if !c.deadline.IsZero() {
			withDeadline++
		}
	}
	if queued != withDeadline {
		return fmt.Errorf("%d calls queued, %d have a deadline", queued, withDeadline)
	}
	return nil
}

// CheckTicked checks what a Tick at now leaves: no call due at now, but a
// deferred one that rings or waits while catching up.
func (m *Machine) CheckTicked(now time.Time) error {
	for _, c := range m.calls {
		if c.deadline.IsZero() || c.deadline.After(now) {
			continue
		}
		if c.deferred && m.catchingUp && (c.State == StateRinging || c.State == StatePending) {
			continue
		}
		return fmt.Errorf("call %s (%s) still due at %v after a tick at %v", c.ID, c.State, c.deadline, now)
	}
	return nil
}
