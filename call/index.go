package call

import (
	"container/heap"
	"fmt"
	"time"

	"mellium.im/xmpp/jid"
)

// Limits of Config. See Config.MaxUntrustedPerPeer and MaxUntrusted.
const (
	DefaultMaxUntrustedPerPeer = 16
	DefaultMaxUntrusted        = 1024
)

// The per-peer index: every input finds the calls it must look at in
// O(log n), whatever the number of calls remembered with that peer (a
// stranger may send thousands of proposes; ended calls are remembered for
// SessionTimeout).

// peerIndex holds what a propose from a peer, or a call to it, must look at,
// and the peer's share of the untrusted calls.
type peerIndex struct {
	calls int // remembered calls with this peer
	// answering: calls whose propose was seen that are outgoing and wait
	// for an answer, or answered: what a new propose from the peer crosses
	// (§4.1) or moves (§4.2).
	answering peerQueue
	// waiting: incoming calls whose propose was seen, not deferred by
	// catch-up, that ring or wait here: what calling the peer back crosses.
	waiting peerQueue
	// untrusted counts the peer's calls counted against
	// MaxUntrustedPerPeer; endedUntrusted holds those of them that ended,
	// oldest first, to be forgotten first when the limit is reached.
	untrusted      int
	endedUntrusted callFIFO
}

// peerQueue is a binary min-heap of calls by start, then id: the order in
// which the engine has always considered a peer's calls. Each call knows its
// place (callState.pslot) and its queue (callState.pq): a call is in at most
// one peer queue.
type peerQueue []*callState

func (q peerQueue) Len() int { return len(q) }
func (q peerQueue) Less(i, j int) bool {
	if !q[i].Started.Equal(q[j].Started) {
		return q[i].Started.Before(q[j].Started)
	}
	return q[i].ID < q[j].ID
}
func (q peerQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].pslot, q[j].pslot = i+1, j+1
}
func (q *peerQueue) Push(x any) {
	c := x.(*callState)
	c.pslot = len(*q) + 1
	*q = append(*q, c)
}
func (q *peerQueue) Pop() any {
	old := *q
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	c.pslot = 0
	return c
}

// first returns the first call of q, or nil.
func (q peerQueue) first() *callState {
	if len(q) == 0 {
		return nil
	}
	return q[0]
}

// callFIFO is a queue of ended untrusted calls, oldest first. Entries go
// stale when their call is forgotten or vouched for; they are skipped when
// met and dropped in bulk once they outnumber the live ones, so the queue
// stays within twice its limit.
type callFIFO struct {
	list []*callState
	head int
}

func (f *callFIFO) push(c *callState, limit int) {
	f.list = append(f.list, c)
	if len(f.list)-f.head > 2*limit+16 {
		live := f.list[:0]
		for _, o := range f.list[f.head:] {
			if o.evictable() {
				live = append(live, o)
			}
		}
		clear(f.list[len(live):])
		f.list, f.head = live, 0
	}
}

// pop returns the oldest call of f that may still be forgotten, or nil.
func (f *callFIFO) pop() *callState {
	for f.head < len(f.list) {
		c := f.list[f.head]
		f.list[f.head] = nil
		f.head++
		if c.evictable() {
			return c
		}
	}
	f.list, f.head = f.list[:0], 0
	return nil
}

// evictable says c may be forgotten to make room for another untrusted
// call: it is counted as untrusted, remembered, and over.
func (c *callState) evictable() bool {
	return c.counted && c.pidx != nil && c.State == StateEnded
}

// peerQueueOf says which queue of the peer index c belongs in, or nil.
func (c *callState) peerQueueOf() *peerQueue {
	switch {
	case c.pidx == nil || !c.proposeSeen:
		return nil
	case c.State == StateActive, c.Direction == Outgoing && c.State == StateProposing:
		return &c.pidx.answering
	case c.Direction == Incoming && !c.deferred && (c.State == StateRinging || c.State == StatePending):
		return &c.pidx.waiting
	}
	return nil
}

// reindex puts c where its state says in its peer's index, in O(log n). It
// must follow every change of a call's State, Direction, proposeSeen,
// deferred or Started; the tests check after every input that it did (see
// checkIndexes).
func (m *Machine) reindex(c *callState) {
	want := c.peerQueueOf()
	if c.pq == want {
		if want != nil {
			heap.Fix(want, c.pslot-1)
		}
		return
	}
	if c.pq != nil {
		heap.Remove(c.pq, c.pslot-1)
		c.pq = nil
	}
	if want != nil {
		heap.Push(want, c)
		c.pq = want
	}
}

func (m *Machine) linkPeer(c *callState) {
	k := c.Peer.String()
	idx := m.byPeer[k]
	if idx == nil {
		idx = &peerIndex{}
		m.byPeer[k] = idx
	}
	idx.calls++
	c.pidx = idx
	if c.counted {
		idx.untrusted++
	}
	m.reindex(c)
}

func (m *Machine) unlinkPeer(c *callState) {
	idx := c.pidx
	if idx == nil {
		return
	}
	if c.pq != nil {
		heap.Remove(c.pq, c.pslot-1)
		c.pq = nil
	}
	if c.counted {
		idx.untrusted--
	}
	c.pidx = nil
	if idx.calls--; idx.calls == 0 {
		delete(m.byPeer, c.Peer.String())
	}
}

// answeringWith returns the first call with peer (by start, then id) whose
// propose was seen that waits for the peer's answer or is answered, or nil.
func (m *Machine) answeringWith(peer jid.JID) *callState {
	if idx := m.byPeer[peer.String()]; idx != nil {
		return idx.answering.first()
	}
	return nil
}

// waitingFrom returns the first incoming call from peer that rings or waits
// here, not deferred by catch-up, or nil.
func (m *Machine) waitingFrom(peer jid.JID) *callState {
	if idx := m.byPeer[peer.String()]; idx != nil {
		return idx.waiting.first()
	}
	return nil
}

// The limits on untrusted calls. A call counts as untrusted from its first
// signal until this account vouches for it: a propose from a caller the
// application does not trust (Signal.Trusted), or a stranger's signal for a
// call whose propose was not seen (kept silently, see hold). It stops
// counting when a device of this account acts on it (answers, declines,
// proposed it), when a trusted propose comes for it, and when it is
// forgotten. At most MaxUntrustedPerPeer of them per peer and MaxUntrusted
// in all are remembered; when a limit is reached the oldest of them that
// ended is forgotten first, and when none has ended the new one is dropped:
// not stored, no effect, counted in the next overflow summary. So memory is
// bounded by the limits, however many a stranger sends, and trusted calls
// never count: a flood cannot crowd them out.

// admitUntrusted makes room for one more untrusted call with peer, and
// reports whether there is some.
func (m *Machine) admitUntrusted(peer jid.JID) bool {
	if idx := m.byPeer[peer.String()]; idx != nil && idx.untrusted >= m.cfg.MaxUntrustedPerPeer {
		c := idx.endedUntrusted.pop()
		if c == nil {
			return false
		}
		m.remove(c)
	}
	if m.untrusted >= m.cfg.MaxUntrusted {
		c := m.endedUntrusted.pop()
		if c == nil {
			return false
		}
		m.remove(c)
	}
	return true
}

// count counts c, just added, as untrusted.
func (m *Machine) count(c *callState) {
	if c.counted {
		return
	}
	c.counted = true
	m.untrusted++
	if c.pidx != nil {
		c.pidx.untrusted++
	}
}

// vouch stops counting c as untrusted: this account acted on it, or its
// caller is trusted.
func (m *Machine) vouch(c *callState) {
	if !c.counted {
		return
	}
	c.counted = false
	m.untrusted--
	if c.pidx != nil {
		c.pidx.untrusted--
	}
}

// endedUntrusted queues an untrusted call that just ended to be forgotten
// first when a limit is reached.
func (m *Machine) queueEnded(c *callState) {
	if !c.counted || c.pidx == nil {
		return
	}
	c.pidx.endedUntrusted.push(c, m.cfg.MaxUntrustedPerPeer)
	m.endedUntrusted.push(c, m.cfg.MaxUntrusted)
}

// overflow counts what the limits dropped since the last summary.
type overflow struct {
	count     int
	peer      jid.JID // the one sender, unless manyPeers
	manyPeers bool
	due       time.Time // when the summary goes out
}

// drop counts one input from peer dropped by a limit. The first drop of a
// burst sets the summary's time: one ring window later, so that a flood
// makes one summary a minute, not one event per message.
func (m *Machine) drop(now time.Time, peer jid.JID) {
	o := &m.over
	if o.count == 0 {
		o.peer, o.manyPeers, o.due = peer, false, now.Add(m.cfg.RingWindow)
	} else if !o.peer.Equal(peer) {
		o.manyPeers = true
	}
	o.count++
}

// reportOverflow emits the summary of the drops when it is due: one
// EventIgnored with Count, for the client to log once and record once.
func (m *Machine) reportOverflow(now time.Time, out *effects) {
	o := &m.over
	if o.count == 0 || o.due.After(now) {
		return
	}
	ev := Event{Type: EventIgnored, Ignored: IgnoreOverLimit, Count: o.count, At: now,
		Reason: fmt.Sprintf("%d signals from untrusted senders dropped: over the limit of %d untrusted calls per sender or %d in all", o.count, m.cfg.MaxUntrustedPerPeer, m.cfg.MaxUntrusted)}
	if !o.manyPeers {
		ev.Peer = o.peer
	}
	out.notify(ev)
	*o = overflow{}
}
