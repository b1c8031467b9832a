//go:build !race

package call_test

// defaultSchedules: 100,000 schedules take about 30 seconds on 2 cores.
const defaultSchedules = 100000
