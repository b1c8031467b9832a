package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jmi-xmpp/jmi/internal/goldentest"
)

// TestReplayGolden replays every transcript of testdata/replay and compares
// the output with NAME.jsonl (rewrite with -update, then read the diff: it
// must show the right behaviour, not merely what the code printed).
func TestReplayGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/replay/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(f, ".xml")
		t.Run(filepath.Base(name), func(t *testing.T) {
			status, out, errOut := runCmd(t, "", "replay", f)
			if status != 0 {
				t.Fatalf("status %d: %s", status, errOut)
			}
			goldentest.Compare(t, name+".jsonl", []byte(out))
			// Deterministic: the same transcript, the same output.
			if _, again, _ := runCmd(t, "", "replay", f); again != out {
				t.Error("two runs gave different output")
			}
		})
	}
}

func TestReplayStdinAndErrors(t *testing.T) {
	in, err := os.ReadFile("testdata/replay/03-withdraw-missed.xml")
	if err != nil {
		t.Fatal(err)
	}
	if status, out, _ := runCmd(t, string(in), "replay"); status != 0 || !strings.Contains(out, `"event":"missed"`) {
		t.Errorf("from standard input: status %d, %s", status, out)
	}
	cases := map[string]string{
		"not xml":          "hello",
		"wrong root":       "<log/>",
		"bare account":     "<transcript account='juliet@capulet.example'/>",
		"bad time":         "<transcript account='juliet@capulet.example/phone'><at t='yesterday'/></transcript>",
		"back in time":     "<transcript account='juliet@capulet.example/phone'><at t='2026-01-02T00:00:00Z'/><at t='2026-01-01T00:00:00Z'/></transcript>",
		"unknown action":   "<transcript account='juliet@capulet.example/phone'><do action='dance' id='x'/></transcript>",
		"unknown call":     "<transcript account='juliet@capulet.example/phone'><do action='proceed' id='x'/></transcript>",
		"unknown element":  "<transcript account='juliet@capulet.example/phone'><sing/></transcript>",
		"unclosed":         "<transcript account='juliet@capulet.example/phone'><recv><message>",
		"empty":            "",
		"bad propose peer": "<transcript account='juliet@capulet.example/phone'><do action='propose' to='@' id='x'/></transcript>",
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			status, out, errOut := runCmd(t, in, "replay")
			if status != 1 || strings.Count(errOut, "\n") != 1 {
				t.Errorf("status %d, stdout %q, stderr %q: want 1 and one line", status, out, errOut)
			}
		})
	}
}
