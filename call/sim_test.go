package call_test

import (
	"flag"
	"strings"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/internal/sim"
)

// selfCheckedSchedules is how many schedules of TestSimulation check the
// engine's indexes after every input.
const selfCheckedSchedules = 10000

var (
	simSeed      = flag.Uint64("sim.seed", 0, "first seed of the simulation (0: the default seeds)")
	simSchedules = flag.Int("sim.schedules", defaultSchedules, "how many random schedules TestSimulation plays")
	simSteps     = flag.Int("sim.steps", 120, "random steps per schedule")
)

// TestSimulation plays many seeded random multi-device schedules through the
// server model of internal/sim and checks the invariants at every quiescent
// point. A failure prints its seed and the schedule's transcript; rerun it
// with -sim.seed=N -sim.schedules=1.
func TestSimulation(t *testing.T) {
	start := time.Now()
	first := *simSeed
	if first == 0 {
		first = 1
	}
	// The first schedules also check the engine's indexes after every
	// input (see SetSelfCheck); the rest run at full speed.
	defer call.SetSelfCheck(true)
	for i := 0; i < *simSchedules; i++ {
		if i == selfCheckedSchedules {
			call.SetSelfCheck(false)
		}
		seed := first + uint64(i)
		if err := sim.Run(seed, *simSteps, nil); err != nil {
			var log strings.Builder
			err2 := sim.Run(seed, *simSteps, &log)
			t.Fatalf("seed %d: %v\n(rerun: %v)\ntranscript:\n%s\nrerun with: go test ./call -run TestSimulation -sim.seed=%d -sim.schedules=1", seed, err, err2, log.String(), seed)
		}
	}
	t.Logf("%d schedules of %d steps in %s", *simSchedules, *simSteps, time.Since(start).Round(time.Millisecond))
}

// TestSimulationDeterministic: the same seed gives the same transcript.
func TestSimulationDeterministic(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		var a, b strings.Builder
		errA, errB := sim.Run(seed, *simSteps, &a), sim.Run(seed, *simSteps, &b)
		if a.String() != b.String() || (errA == nil) != (errB == nil) {
			t.Fatalf("seed %d gave two transcripts:\n%s\n----\n%s", seed, a.String(), b.String())
		}
		if a.Len() == 0 {
			t.Fatalf("seed %d: empty transcript", seed)
		}
	}
}

// TestSimulationCrossed: both sides call at the same moment (§4.1); in any
// delivery order exactly one call survives, the same on every device.
func TestSimulationCrossed(t *testing.T) {
	n := *simSchedules / 10
	for seed := uint64(1); seed <= uint64(n); seed++ {
		if err := sim.RunCrossed(seed, nil); err != nil {
			var log strings.Builder
			_ = sim.RunCrossed(seed, &log)
			t.Fatalf("seed %d: %v\ntranscript:\n%s", seed, err, log.String())
		}
	}
}
