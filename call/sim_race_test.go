//go:build race

package call_test

// defaultSchedules is smaller under the race detector, which is about ten
// times slower.
const defaultSchedules = 1000
