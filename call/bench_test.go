package call_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
	"mellium.im/xmpp/jid"
)

// noSelfCheck turns off, for a benchmark, the check of the engine's
// indexes after every input that every test runs: it scans every call.
func noSelfCheck(b *testing.B) {
	call.SetSelfCheck(false)
	b.Cleanup(func() { call.SetSelfCheck(true) })
}

// BenchmarkLiveCall is one whole call on the callee's device: propose,
// answer, the peer's finish, and the tick that forgets a call a day old
// (4 inputs per op). A call every ten minutes keeps 144 ended calls
// remembered, as a busy day would.
func BenchmarkLiveCall(b *testing.B) {
	noSelfCheck(b)
	m := call.New(call.Config{Account: julietPhone})
	now := t0
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := fmt.Sprint("c", i)
		i++
		now = now.Add(10 * time.Minute)
		m.Handle(now, call.Signal{From: romeoOrchard, To: juliet, Trusted: true, Element: &jmi.Propose{ID: id, Descriptions: audio}})
		m.Handle(now, call.UserProceed{ID: id})
		m.Handle(now, call.Signal{From: romeoOrchard, To: julietPhone, Element: &jmi.Finish{ID: id}})
		m.Handle(now, call.Tick{})
	}
	b.ReportMetric(float64(b.N*4)/b.Elapsed().Seconds(), "inputs/s")
}

// BenchmarkCatchUp100k replays 100,000 archived signals (25,000 calls of
// propose, ringing, proceed and finish seen from another device) through one
// catch-up.
func BenchmarkCatchUp100k(b *testing.B) {
	noSelfCheck(b)
	var sigs []call.Signal
	for i := range 25000 {
		id := fmt.Sprint("c", i)
		at := t0.Add(time.Duration(i) * time.Second)
		sigs = append(sigs,
			call.Signal{From: romeoOrchard, To: juliet, Via: call.ViaArchive, Stamp: at, Trusted: true, Element: &jmi.Propose{ID: id, Descriptions: audio}},
			call.Signal{From: julietTablet, To: romeoOrchard, Via: call.ViaArchive, Stamp: at, Element: &jmi.Ringing{ID: id}},
			call.Signal{From: julietTablet, To: romeoOrchard, Via: call.ViaArchive, Stamp: at, Element: &jmi.Proceed{ID: id}},
			call.Signal{From: romeoOrchard, To: julietTablet, Via: call.ViaArchive, Stamp: at, Element: &jmi.Finish{ID: id}},
		)
	}
	now := t0.Add(30000 * time.Second)
	b.ReportAllocs()
	for b.Loop() {
		m := call.New(call.Config{Account: julietPhone})
		m.Handle(now, call.CatchUpStarted{})
		for _, s := range sigs {
			m.Handle(now, s)
		}
		m.Handle(now, call.CatchUpEnded{})
	}
	b.ReportMetric(float64(len(sigs)), "signals/op")
}

// BenchmarkRetained measures the heap one call keeps while active and once
// finished (remembered until SessionTimeout for deduplication).
func BenchmarkRetained(b *testing.B) {
	noSelfCheck(b)
	const n = 10000
	measure := func(finish bool) float64 {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m := call.New(call.Config{Account: julietPhone})
		for i := range n {
			id := fmt.Sprintf("%08d-5325-482f-a412-a6e9f832298d", i)
			m.Handle(t0, call.Signal{From: romeoOrchard, To: juliet, Trusted: true, Element: &jmi.Propose{ID: id, Descriptions: audio}})
			m.Handle(t0, call.UserProceed{ID: id})
			if finish {
				m.Handle(t0, call.Signal{From: romeoOrchard, To: julietPhone, Element: &jmi.Finish{ID: id}})
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(m)
		return float64(after.HeapAlloc-before.HeapAlloc) / n
	}
	var active, finished float64
	for b.Loop() {
		active, finished = measure(false), measure(true)
	}
	b.ReportMetric(active, "B/active-call")
	b.ReportMetric(finished, "B/finished-call")
}

// BenchmarkInputWithDeadline2000 is what the client's loop does for each
// input: Handle, then NextDeadline to reset its timer, with 2,000 calls
// remembered (a call every 43.2 s, each remembered for the 24 h of
// SessionTimeout). The inputs cycle through a call's propose, answer, the
// peer's finish and the tick that forgets the oldest call; one op is one
// input and one NextDeadline. The calls are with one peer, or each with
// another of 2,000 peers.
func BenchmarkInputWithDeadline2000(b *testing.B) {
	noSelfCheck(b)
	const remembered = 2000
	for _, peers := range []int{1, remembered} {
		b.Run(fmt.Sprint("peers=", peers), func(b *testing.B) {
			callers := make([]jid.JID, peers)
			for i := range callers {
				callers[i] = jid.MustParse(fmt.Sprintf("romeo%d@montague.example/orchard", i))
			}
			step := call.DefaultSessionTimeout / remembered
			m := call.New(call.Config{Account: julietPhone})
			now := t0
			n := 0
			var deadline time.Time
			input := func() {
				id := fmt.Sprint("c", n/4)
				from := callers[(n/4)%peers]
				switch n % 4 {
				case 0:
					now = now.Add(step)
					m.Handle(now, call.Signal{From: from, To: juliet, Trusted: true, Element: &jmi.Propose{ID: id, Descriptions: audio}})
				case 1:
					m.Handle(now, call.UserProceed{ID: id})
				case 2:
					m.Handle(now, call.Signal{From: from, To: julietPhone, Element: &jmi.Finish{ID: id}})
				case 3:
					m.Handle(now, call.Tick{})
				}
				n++
				deadline = m.NextDeadline()
			}
			for range 4 * (remembered + 10) {
				input()
			}
			if got := len(m.Calls()); got < remembered-1 || got > remembered+1 {
				b.Fatalf("%d calls remembered, want %d", got, remembered)
			}
			b.ReportAllocs()
			for b.Loop() {
				input()
			}
			if deadline.IsZero() {
				b.Fatal("no deadline")
			}
		})
	}
}

// flood feeds m n untrusted proposes from tybalt, each with a new id, all
// within the ring window of at, as a stranger's flood would.
func flood(m *call.Machine, n int, at time.Time, prefix string) {
	for i := range n {
		m.Handle(at, call.Signal{From: tybalt, To: juliet, Element: &jmi.Propose{ID: fmt.Sprint(prefix, i), Descriptions: audio}})
	}
}

// BenchmarkProposeWith10kPendingFromPeer is one more untrusted propose from
// a stranger who has already sent 10,000 (one op: one propose).
func BenchmarkProposeWith10kPendingFromPeer(b *testing.B) {
	noSelfCheck(b)
	m := call.New(call.Config{Account: julietPhone})
	flood(m, 10000, t0, "f")
	now := t0.Add(time.Second)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		m.Handle(now, call.Signal{From: tybalt, To: juliet, Element: &jmi.Propose{ID: fmt.Sprint("g", i), Descriptions: audio}})
		i++
	}
}

// BenchmarkFloodBurst30k is the engine's whole time for a burst of 30,000
// untrusted proposes from one stranger within a ring window: what a call
// placed during the burst waits for in the client's loop (one op: the
// burst).
func BenchmarkFloodBurst30k(b *testing.B) {
	noSelfCheck(b)
	const n = 30000
	b.ReportAllocs()
	kept := 0
	for b.Loop() {
		m := call.New(call.Config{Account: julietPhone})
		flood(m, n, t0, "f")
		kept = len(m.Calls())
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/propose")
	b.ReportMetric(float64(kept), "calls-kept")
}

// BenchmarkLegitCallDuringFlood is the engine's time for a trusted caller's
// propose (it rings) and retract, with no flood and just after a stranger's
// 30,000 proposes (one op: the two inputs).
func BenchmarkLegitCallDuringFlood(b *testing.B) {
	noSelfCheck(b)
	for _, burst := range []int{0, 30000} {
		b.Run(fmt.Sprint("burst=", burst), func(b *testing.B) {
			m := call.New(call.Config{Account: julietPhone})
			flood(m, burst, t0, "f")
			now := t0.Add(time.Second)
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				id := fmt.Sprint("r", i)
				i++
				m.Handle(now, call.Signal{From: romeoOrchard, To: juliet, Trusted: true, Element: &jmi.Propose{ID: id, Descriptions: audio}})
				m.Handle(now, call.Signal{From: romeoOrchard, To: juliet, Element: &jmi.Retract{ID: id}})
			}
		})
	}
}
