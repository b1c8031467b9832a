package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// runCmd runs the jmi command line in-process.
func runCmd(t *testing.T, stdin string, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	status = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut, func(string) string { return "" })
	return status, out.String(), errOut.String()
}

// TestParseGolden runs jmi parse on every wire example of package jmi and
// compares the JSON with testdata/parse/NAME.json.
func TestParseGolden(t *testing.T) {
	files, err := filepath.Glob("../../testdata/wire/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no wire examples: %v", err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, ".golden.xml") {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(f), ".xml")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			status, out, errOut := runCmd(t, string(in), "parse")
			if status != 0 || errOut != "" {
				t.Fatalf("status %d, stderr %q", status, errOut)
			}
			golden := filepath.Join("testdata", "parse", name+".json")
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run ParseGolden -update)", err)
			}
			if out != string(want) {
				t.Errorf("got  %s\nwant %s", out, want)
			}
		})
	}
}

// TestParseBad checks that invalid input exits 1 with one line naming the
// problem.
func TestParseBad(t *testing.T) {
	cases := map[string]string{
		"spec-tiebreak-retract-as-printed": "malformed XML",
		"no-element":                       "no JMI element",
		"missing-id":                       "missing or empty id",
		"empty-id":                         "missing or empty id",
		"no-description":                   "without a description",
		"malformed":                        "malformed XML",
		"dtd":                              "DTD",
		"entity":                           "malformed XML",
		"unknown-element":                  "unknown JMI element",
		"two-elements":                     "more than one JMI element",
		"bad-from":                         "invalid address",
		"not-a-message":                    "no JMI element",
		"empty":                            "no JMI element",
		"trailing":                         "after the end of the stanza",
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("..", "..", "testdata", "bad", name+".xml"))
			if err != nil {
				t.Fatal(err)
			}
			status, out, errOut := runCmd(t, string(in), "parse")
			if status != 1 || out != "" {
				t.Errorf("status %d, stdout %q; want 1 and nothing", status, out)
			}
			if strings.Count(errOut, "\n") != 1 || !strings.Contains(errOut, want) {
				t.Errorf("stderr %q: want one line containing %q", errOut, want)
			}
		})
	}
	t.Run("too-long-id", func(t *testing.T) {
		status, _, errOut := runCmd(t, "<proceed xmlns='urn:xmpp:jingle-message:0' id='"+strings.Repeat("x", 2000)+"'/>", "parse")
		if status != 1 || !strings.Contains(errOut, "id too long") {
			t.Errorf("status %d, stderr %q", status, errOut)
		}
	})
	t.Run("too-many-descriptions", func(t *testing.T) {
		in := "<propose xmlns='urn:xmpp:jingle-message:0' id='x'>" + strings.Repeat("<description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>", 17) + "</propose>"
		status, _, errOut := runCmd(t, in, "parse")
		if status != 1 || !strings.Contains(errOut, "too many descriptions") {
			t.Errorf("status %d, stderr %q", status, errOut)
		}
	})
}

func TestParseUsage(t *testing.T) {
	if status, _, errOut := runCmd(t, "", "parse", "extra"); status != 2 || !strings.Contains(errOut, "standard input") {
		t.Errorf("extra argument: status %d, stderr %q", status, errOut)
	}
	if status, _, errOut := runCmd(t, "", "parse", "-h"); status != 0 || !strings.Contains(errOut, "Usage: jmi parse") {
		t.Errorf("-h: status %d, stderr %q", status, errOut)
	}
	if status, out, _ := runCmd(t, "", "help"); status != 0 || !strings.Contains(out, "parse") {
		t.Errorf("help: status %d, stdout %q", status, out)
	}
	if status, _, _ := runCmd(t, ""); status != 2 {
		t.Errorf("no command: status %d, want 2", status)
	}
	if status, _, _ := runCmd(t, "", "frobnicate"); status != 2 {
		t.Errorf("unknown command: status %d, want 2", status)
	}
}
