package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/jmi-xmpp/jmi/internal/goldentest"
)

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
	goldentest.Each(t, "../../testdata/wire", func(t *testing.T, name, _ string, in []byte) {
		goldentest.Compare(t, filepath.Join("testdata", "parse", name+".json"), []byte(parseOK(t, in)))
	})
}

// parseOK runs jmi parse on in and returns its output; it must succeed in
// silence.
func parseOK(t *testing.T, in []byte) string {
	t.Helper()
	status, out, errOut := runCmd(t, string(in), "parse")
	if status != 0 || errOut != "" {
		t.Fatalf("status %d, stderr %q", status, errOut)
	}
	return out
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
	parseBad(t, filepath.Join("..", "..", "testdata", "bad"), cases)
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

// parseBad runs jmi parse on dir/NAME.xml for each case: it must exit 1
// with one line on standard error that contains the case's text.
func parseBad(t *testing.T, dir string, cases map[string]string) {
	t.Helper()
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join(dir, name+".xml"))
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

// TestParseJingleGolden runs jmi parse on every wire example of package
// jingle and compares the JSON with testdata/parse-jingle/NAME.json.
func TestParseJingleGolden(t *testing.T) {
	goldentest.Each(t, "../../jingle/testdata/wire", func(t *testing.T, name, f string, in []byte) {
		out := parseOK(t, in)
		goldentest.Compare(t, filepath.Join("testdata", "parse-jingle", name+".json"), []byte(out))
		// The re-encoded form means the same.
		re, err := os.ReadFile(strings.TrimSuffix(f, ".xml") + ".golden.xml")
		if err != nil {
			t.Fatal(err)
		}
		if status, again, _ := runCmd(t, string(re), "parse"); status != 0 || again != out {
			t.Errorf("the re-encoded stanza parses as\n%s\nnot\n%s", again, out)
		}
	})
}

// TestParseJingleFields checks the fields the JSON promises on the shapes
// that need leniency: senders both when absent, payloads and candidates in
// the order of the stanza, Dino's component 2 and Monal's tcp candidate as
// they came, no initiator when there was none.
func TestParseJingleFields(t *testing.T) {
	parse := func(name string) map[string]any {
		t.Helper()
		in, err := os.ReadFile(filepath.Join("..", "..", "jingle", "testdata", "wire", name+".xml"))
		if err != nil {
			t.Fatal(err)
		}
		status, out, errOut := runCmd(t, string(in), "parse")
		if status != 0 {
			t.Fatalf("%s: status %d, stderr %q", name, status, errOut)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("%s: %v in %s", name, err, out)
		}
		return v
	}
	conv := parse("conversations-session-initiate")
	content := conv["contents"].([]any)[0].(map[string]any)
	var names []string
	for _, p := range content["payloads"].([]any) {
		names = append(names, p.(map[string]any)["name"].(string))
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"kind", conv["kind"], "jingle"},
		{"action", conv["action"], "session-initiate"},
		{"initiator", conv["initiator"], nil},
		{"type", conv["type"], "set"},
		{"group", conv["group"], map[string]any{"semantics": "BUNDLE", "contents": []any{"0"}}},
		{"senders", content["senders"], "both"},
		{"rtcp_mux", content["rtcp_mux"], true},
		{"payload order", strings.Join(names, ","), "opus,ISAC,ISAC,G722,ILBC,PCMU,PCMA,CN,CN,CN,telephone-event,telephone-event,telephone-event,telephone-event"},
		{"opus", content["payloads"].([]any)[0], map[string]any{"id": 111.0, "name": "opus", "clockrate": 48000.0, "channels": 2.0,
			"parameters": map[string]any{"minptime": "10", "useinbandfec": "1"}, "rtcp_fb": []any{"transport-cc"}}},
		{"fingerprint", content["fingerprint"].(map[string]any)["setup"], "actpass"},
		{"ice option", content["transport"].(map[string]any)["ice_options"], []any{"trickle"}},
	}
	dino := parse("dino-transport-info-component2")
	cand := dino["contents"].([]any)[0].(map[string]any)["transport"].(map[string]any)["candidates"].([]any)[0]
	checks = append(checks, struct {
		what      string
		got, want any
	}{"dino candidate", cand, map[string]any{"component": 2.0, "foundation": "2", "generation": 0.0, "id": "xd8f3k2ja1", "ip": "203.0.113.7",
		"port": 61432.0, "priority": 1677721854.0, "protocol": "udp", "type": "srflx", "rel_addr": "192.168.1.20", "rel_port": 49153.0, "network": 0.0}})
	monal := parse("monal-session-initiate-tcp")
	cands := monal["contents"].([]any)[0].(map[string]any)["transport"].(map[string]any)["candidates"].([]any)
	checks = append(checks, struct {
		what      string
		got, want any
	}{"monal tcp candidate", cands[1].(map[string]any)["protocol"], "tcp"}, struct {
		what      string
		got, want any
	}{"monal tcptype", cands[1].(map[string]any)["attrs"], map[string]any{"tcptype": "active"}})
	term := parse("terminate-success")
	checks = append(checks, struct {
		what      string
		got, want any
	}{"reason", term["reason"], map[string]any{"condition": "success", "text": "Hung up"}}, struct {
		what      string
		got, want any
	}{"no contents", term["contents"], nil})
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.what, c.got, c.want)
		}
	}
}

// TestParseJingleBad checks that invalid Jingle input exits 1 with one line
// naming the problem.
func TestParseJingleBad(t *testing.T) {
	cases := map[string]string{
		"missing-sid":              "missing or empty sid",
		"missing-action":           "missing or empty action",
		"unknown-action":           "unknown action",
		"port-too-large":           "port out of range",
		"bad-setup":                "invalid DTLS setup",
		"too-many-candidates":      "too many candidates",
		"too-many-payload-types":   "too many payload types",
		"too-many-contents":        "too many contents",
		"oversize":                 "input too large",
		"dtd":                      "DTD",
		"malformed":                "malformed XML",
		"bad-from":                 "invalid address",
		"no-jingle":                "no JMI element", // an iq without Jingle reads as before
		"candidate-without-port":   "invalid candidate",
		"fingerprint-without-hash": "invalid fingerprint",
	}
	parseBad(t, filepath.Join("..", "..", "jingle", "testdata", "bad"), cases)
}
