package netns

import (
	"slices"
	"testing"
)

// TestChildArgs: the child runs the one test, and below it what the
// parent's -run selected; it keeps the parent's other flags but not the
// files the parent writes.
func TestChildArgs(t *testing.T) {
	for _, tc := range []struct {
		name, run string
		args      []string
		want      []string
	}{
		{"all tests", "", []string{"-test.timeout=10m0s", "-test.count=1"},
			[]string{"-test.timeout=10m0s", "-test.count=1", "-test.v=true", "-test.run=^TestFederation$"}},
		{"a subtest", "TestFederation/prosody-prosody/crossed", []string{"-test.run=TestFederation/prosody-prosody/crossed", "-test.v=test2json"},
			[]string{"-test.v=true", "-test.run=^TestFederation$/prosody-prosody/crossed"}},
		{"two-word run flag", "Fed", []string{"-test.run", "Fed", "-test.v", "-test.short"},
			[]string{"-test.short", "-test.v=true", "-test.run=^TestFederation$"}},
		{"parent's files", "", []string{"-test.testlogfile=/tmp/x", "-test.coverprofile=c.out", "-test.paniconexit0"},
			[]string{"-test.paniconexit0", "-test.v=true", "-test.run=^TestFederation$"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := childArgs("TestFederation", tc.run, tc.args); !slices.Equal(got, tc.want) {
				t.Errorf("childArgs(%q, %q) = %q, want %q", tc.run, tc.args, got, tc.want)
			}
		})
	}
}
