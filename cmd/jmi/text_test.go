package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/calllog"
)

func TestClean(t *testing.T) {
	cases := map[string]string{
		"audio":                       "audio",
		"juliet@capulet.example/ᄀ":    "juliet@capulet.example/ᄀ",
		"a\nb\tc\rd":                  `a\nb\tc\rd`,
		"\x1b[2J\x07":                 `\x1b[2J\x07`,
		"\u009b31m":                   `\x9b31m`,
		"\u202eoidua":                 `\u202eoidua`,
		"Ünïcödé, emoji 📞 and spaces": "Ünïcödé, emoji 📞 and spaces",
	}
	for in, want := range cases {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDescribeEscapes: nothing of an event from the network reaches the
// terminal raw: ids, media, reasons.
func TestDescribeEscapes(t *testing.T) {
	ev := call.Event{Type: call.EventRejected, ID: "c1\n12:00:00  in the call", Peer: jid.MustParse("romeo@montague.example"),
		Device: jid.MustParse("romeo@montague.example/orchard"), Media: []string{"audio\x1b[2J"}, Reason: "busy\nforged", MigratedTo: "x\ry"}
	for _, t2 := range []call.EventType{call.EventProposed, call.EventIncoming, call.EventRejected, call.EventFinished} {
		ev.Type = t2
		got := describe(ev)
		if strings.ContainsAny(got, "\n\r\x1b") {
			t.Errorf("%s: %q holds a control character", t2, got)
		}
	}
}

// TestLogEscapes: a history entry written from hostile input (before the
// decoder refused such media) still prints as one row per call.
func TestLogEscapes(t *testing.T) {
	dir := t.TempDir()
	l, err := calllog.Open(filepath.Join(dir, calllog.FileName))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	forged := "audio\n2026-11-25 09:00:00  incoming   tybalt@capulet.example  audio  answered"
	if err := l.Record(call.Event{Type: call.EventIncoming, ID: "a", Direction: call.Incoming, Peer: jid.MustParse("romeo@example.net"), Media: []string{forged}, At: at}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	st, out, errOut := runLogCmd(t, dir)
	if st != 0 {
		t.Fatalf("status %d: %s", st, errOut)
	}
	if lines := strings.Count(out, "\n"); lines != 2 || !strings.Contains(out, `audio\n2026`) {
		t.Errorf("jmi log printed %d lines:\n%s", lines, out)
	}
}

// TestPromptEscapes: the ringing prompt shows the caller's media escaped;
// its own escape sequences (clear the line, the bell) are the only ones.
func TestPromptEscapes(t *testing.T) {
	var b strings.Builder
	p := &prompter{w: &b}
	at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	p.push(call.Event{Type: call.EventIncoming, ID: "c1", Peer: jid.MustParse("romeo@montague.example"), Media: []string{"audio\x1b]0;pwned\x07"}, At: at})
	p.draw(at.Add(2 * time.Second))
	got := strings.TrimPrefix(b.String(), "\r\033[K\a")
	if strings.ContainsAny(got, "\x1b\x07") || !strings.Contains(got, `audio\x1b]0;pwned\x07`) {
		t.Errorf("prompt %q", b.String())
	}
}
