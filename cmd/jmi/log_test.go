package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/calllog"
)

func runLogCmd(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	getenv := func(k string) string {
		if k == "JMI_DATA_DIR" {
			return dir
		}
		return ""
	}
	status := run(context.Background(), append([]string{"log"}, args...), strings.NewReader(""), &out, &errOut, getenv)
	return status, out.String(), errOut.String()
}

func TestLog(t *testing.T) {
	empty := t.TempDir()
	if st, out, _ := runLogCmd(t, empty); st != 0 || !strings.Contains(out, "No calls yet") {
		t.Fatalf("empty: %d %q", st, out)
	}

	dir := t.TempDir()
	l, err := calllog.Open(filepath.Join(dir, calllog.FileName))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	romeo := jid.MustParse("romeo@example.net")
	phone := jid.MustParse("juliet@example.com/phone")
	for _, ev := range []call.Event{
		{Type: call.EventIncoming, ID: "a", Direction: call.Incoming, Peer: romeo, Media: []string{"audio"}, At: at},
		{Type: call.EventMissed, ID: "a", Direction: call.Incoming, Peer: romeo, At: at.Add(30 * time.Second)},
		{Type: call.EventProposed, ID: "b", Direction: call.Outgoing, Peer: romeo, Media: []string{"audio", "video"}, At: at.Add(time.Hour)},
		{Type: call.EventProceeded, ID: "b", Direction: call.Outgoing, Peer: romeo, Device: phone, At: at.Add(time.Hour + 5*time.Second)},
		{Type: call.EventFinished, ID: "b", Direction: call.Outgoing, Peer: romeo, At: at.Add(time.Hour + 65*time.Second)},
		// Answered on another device: no duration here.
		{Type: call.EventIncoming, ID: "c", Direction: call.Incoming, Peer: romeo, Media: []string{"audio"}, At: at.Add(-2 * time.Hour)},
		{Type: call.EventProceeded, ID: "c", Direction: call.Incoming, Peer: romeo, Device: jid.MustParse("juliet@example.com/tablet"), Elsewhere: true, At: at.Add(-2*time.Hour + 3*time.Second)},
		{Type: call.EventFinished, ID: "c", Direction: call.Incoming, Peer: romeo, Elsewhere: true, At: at.Add(-2*time.Hour + 50*time.Second)},
		// Hung up within the second it was answered: 0s, not "-".
		{Type: call.EventIncoming, ID: "d", Direction: call.Incoming, Peer: romeo, Media: []string{"audio"}, At: at.Add(-3 * time.Hour)},
		{Type: call.EventProceeded, ID: "d", Direction: call.Incoming, Peer: romeo, Device: phone, At: at.Add(-3*time.Hour + 2*time.Second)},
		{Type: call.EventFinished, ID: "d", Direction: call.Incoming, Peer: romeo, At: at.Add(-3*time.Hour + 2*time.Second)},
	} {
		if err := l.Record(ev); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()

	tests := []struct {
		name  string
		args  []string
		lines int
		want  []string
	}{
		{"table", nil, 5, []string{"TIME", "outgoing", "answered", "1m0s", "juliet@example.com/phone", "missed",
			"answered elsewhere  juliet@example.com/tablet  -\n", "answered            juliet@example.com/phone   0s\n"}},
		{"limit", []string{"--limit", "1"}, 2, []string{"outgoing"}},
		{"json", []string{"--json"}, 4, []string{`"outcome":"missed"`, `"duration_seconds":60`}},
		{"data-dir flag", []string{"--data-dir", dir, "--json", "--limit", "1"}, 1, []string{`"id":"b"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, out, errOut := runLogCmd(t, dir, tt.args...)
			if st != 0 {
				t.Fatalf("status %d: %s", st, errOut)
			}
			if n := strings.Count(out, "\n"); n != tt.lines {
				t.Errorf("%d lines, want %d:\n%s", n, tt.lines, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("no %q in\n%s", w, out)
				}
			}
			if strings.Contains(strings.Join(tt.args, " "), "--json") {
				for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
					var v map[string]any
					if err := json.Unmarshal([]byte(line), &v); err != nil {
						t.Errorf("not JSON: %q", line)
					}
				}
			}
		})
	}
	if st, _, _ := runLogCmd(t, dir, "--limit", "0"); st != exitUsage {
		t.Errorf("--limit 0: status %d, want %d", st, exitUsage)
	}
}

// TestShowHistory: what the catch-up finds of calls before this session is
// marked as history, with the date when it is not today; a ring is news.
func TestShowHistory(t *testing.T) {
	var out bytes.Buffer
	since := time.Date(2026, 11, 25, 10, 0, 0, 0, time.Local)
	s := &session{out: &out, since: since}
	romeo := jid.MustParse("romeo@example.net")
	for _, ev := range []call.Event{
		{Type: call.EventFinished, ID: "yesterday", Peer: romeo, Elsewhere: true, At: since.Add(-20 * time.Hour)},
		{Type: call.EventMissed, ID: "earlier", Peer: romeo, At: since.Add(-time.Minute)},
		{Type: call.EventIncoming, ID: "fresh", Peer: romeo, Media: []string{"audio"}, At: since.Add(-10 * time.Second)},
		{Type: call.EventProceeded, ID: "fresh", Peer: romeo, Device: jid.MustParse("juliet@example.com/cli"), At: since.Add(time.Second)},
	} {
		s.show(ev)
	}
	want := "Nov 24 14:00:00  earlier: call ended [elsewhere]  (yesterda)\n" +
		"09:59:00  earlier: missed call from romeo@example.net  (earlier)\n" +
		"09:59:50  RINGS: romeo@example.net calls (audio)  (fresh)\n" +
		"10:00:01  in the call, answered by juliet@example.com/cli  (fresh)\n"
	if got := out.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
