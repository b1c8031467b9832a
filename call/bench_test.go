package call_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
)

// BenchmarkLiveCall is one whole call on the callee's device: propose,
// answer, the peer's finish, and the tick that forgets a call a day old
// (4 inputs per op). A call every ten minutes keeps 144 ended calls
// remembered, as a busy day would.
func BenchmarkLiveCall(b *testing.B) {
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
