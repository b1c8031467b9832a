package call

import (
	"fmt"
	"time"
)

// Every test of the package checks the Machine's indexes after every input
// (the simulator's schedules and the fuzzer's sequences too); benchmarks
// turn it off with SetSelfCheck(false), as it scans every call.
func init() { SetSelfCheck(true) }

// SetSelfCheck turns the check of the indexes after every input on or off.
func SetSelfCheck(on bool) {
	selfCheck = nil
	if on {
		selfCheck = func(m *Machine) error {
			if err := m.CheckDeadlines(); err != nil {
				return err
			}
			return m.checkIndexes()
		}
	}
}

// checkIndexes compares the peer index and the counts of untrusted calls
// with a scan of every call: each call in the queue its state says, at its
// slot, each queue a min-heap, the counts exact and within the limits.
func (m *Machine) checkIndexes() error {
	calls := map[*peerIndex]int{}
	untrusted := map[*peerIndex]int{}
	total := 0
	for id, c := range m.calls {
		idx := m.byPeer[c.Peer.String()]
		switch {
		case c.pidx != idx || idx == nil:
			return fmt.Errorf("call %s: not linked to the index of its peer %s", id, c.Peer)
		case c.pq != c.peerQueueOf():
			return fmt.Errorf("call %s (%s %s, propose seen %v, deferred %v): in the wrong peer queue", id, directionName(c.Direction), c.State, c.proposeSeen, c.deferred)
		case c.pq != nil && (c.pslot < 1 || c.pslot > len(*c.pq) || (*c.pq)[c.pslot-1] != c):
			return fmt.Errorf("call %s: slot %d does not hold it", id, c.pslot)
		case c.pq == nil && c.pslot != 0:
			return fmt.Errorf("call %s: in no peer queue but with slot %d", id, c.pslot)
		case c.silent && c.proposeSeen:
			return fmt.Errorf("call %s: silent, though its propose was seen", id)
		case c.deferred && c.State == StatePending && c.slot == 0:
			return fmt.Errorf("call %s: deferred and pending but in no deadline queue", id)
		}
		calls[idx]++
		if c.counted {
			untrusted[idx]++
			total++
		}
	}
	if len(calls) != len(m.byPeer) {
		return fmt.Errorf("%d peers indexed, %d have calls", len(m.byPeer), len(calls))
	}
	for peer, idx := range m.byPeer {
		switch {
		case idx.calls != calls[idx]:
			return fmt.Errorf("peer %s: %d calls indexed, %d remembered", peer, idx.calls, calls[idx])
		case idx.untrusted != untrusted[idx]:
			return fmt.Errorf("peer %s: %d untrusted calls counted, %d are", peer, idx.untrusted, untrusted[idx])
		case idx.untrusted > m.cfg.MaxUntrustedPerPeer:
			return fmt.Errorf("peer %s: %d untrusted calls, over the limit of %d", peer, idx.untrusted, m.cfg.MaxUntrustedPerPeer)
		}
		for _, q := range []*peerQueue{&idx.answering, &idx.waiting} {
			for i, c := range *q {
				if c.pq != q || c.pslot != i+1 {
					return fmt.Errorf("peer %s: call %s at %d of a queue that it does not know", peer, c.ID, i)
				}
				if i > 0 && q.Less(i, (i-1)/2) {
					return fmt.Errorf("peer %s: call %s comes before its parent", peer, c.ID)
				}
			}
		}
		if n := len(idx.endedUntrusted.list); n > 2*m.cfg.MaxUntrustedPerPeer+17 {
			return fmt.Errorf("peer %s: %d ended untrusted calls queued", peer, n)
		}
	}
	if total != m.untrusted || total > m.cfg.MaxUntrusted {
		return fmt.Errorf("%d untrusted calls, %d counted, limit %d", total, m.untrusted, m.cfg.MaxUntrusted)
	}
	if n := len(m.endedUntrusted.list); n > 2*m.cfg.MaxUntrusted+17 {
		return fmt.Errorf("%d ended untrusted calls queued", n)
	}
	return nil
}

// CheckDeadlines compares NextDeadline with a scan of every remembered call
// (as NextDeadline was computed before the deadline queues) and checks the
// queues' invariant: a call is in a queue exactly when it is remembered and
// has a deadline, once, in the queue of its kind, at the place its slot
// says, and each queue is a min-heap.
func (m *Machine) CheckDeadlines() error {
	var want time.Time
	if m.over.count > 0 {
		want = m.over.due
	}
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
