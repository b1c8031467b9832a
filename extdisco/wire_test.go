package extdisco_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/extdisco"
	"github.com/jmi-xmpp/jmi/internal/goldentest"
	"github.com/jmi-xmpp/jmi/internal/turntest"
)

// summary is a readable account of what a decoded element means.
func summary(el *extdisco.Element) string {
	var b strings.Builder
	if el.Credentials {
		b.WriteString("credentials")
	} else {
		b.WriteString("services")
	}
	if el.Type != "" {
		fmt.Fprintf(&b, " type=%s", el.Type)
	}
	for _, s := range el.Services {
		fmt.Fprintf(&b, "\n  %s", s)
		if s.Username != "" || s.Password != "" {
			fmt.Fprintf(&b, " user=%s pass=%s", s.Username, s.Password)
		}
		if !s.Expires.IsZero() {
			fmt.Fprintf(&b, " expires=%s", s.Expires.UTC().Format(time.RFC3339))
		}
		if s.Name != "" {
			fmt.Fprintf(&b, " name=%q", s.Name)
		}
	}
	for _, s := range el.Skipped {
		fmt.Fprintf(&b, "\n  skipped #%d: %v", s.Index, s.Err)
	}
	return b.String()
}

var wantSummary = map[string]string{
	"xep0215-services": `services
  stun udp stun.shakespeare.lit:9998
  turn udp relay.shakespeare.lit:9999 user=nb78932lkjlskjfdb7g8 pass=jj929jkj5sadjfj93v3n
  stun udp 192.0.2.1:8888
  turn udp 192.0.2.1:8889 user=auu98sjl2wk3e9fjdsl7 pass=93jn3bakj9s832lrjbbz
  ftp tcp ftp.shakespeare.lit:20 user=guest pass=guest name="Shakespearean File Server"`,
	"xep0215-request":      `services`,
	"xep0215-request-type": `services type=turn`,
	"xep0215-services-type": `services type=turn
  turn udp turn.shakespeare.lit:9999 user=nb78932lkjlskjfdb7g8 pass=jj929jkj5sadjfj93v3n
  turn udp 192.0.2.1:8889 user=auu98sjl2wk3e9fjdsl7 pass=93jn3bakj9s832lrjbbz`,
	"xep0215-credentials-request": `credentials
  turn - turn.shakespeare.lit:default`,
	"xep0215-credentials": `credentials
  turn - turn.shakespeare.lit:default user=nb78932lkjlskjfdb7g8 pass=jj929jkj5sadjfj93v3n`,
	"credentials-expires": `credentials
  turn udp turn.example:3478 (restricted) user=1796180608:jmi pass=q8cLKWGcR8HYTI8qCvp34pHN7Ts= expires=2026-12-02T03:03:28Z`,
	"xep0215-extended": `services
  stun udp stun.shakespeare.lit:9998`,
	"prosody-0.12-turn-external": `services
  stun udp 127.0.0.1:3478
  turn udp 127.0.0.1:3478 (restricted) user=1796180608:jmi pass=q8cLKWGcR8HYTI8qCvp34pHN7Ts= expires=2026-12-02T03:03:28Z`,
	"skipped": `services
  stun udp [2001:db8::1]:3478
  turns - turn.example:default user=u pass=p
  sip sctp sip.example:5060 name="not for ICE"
  skipped #0: extdisco: service without host
  skipped #1: extdisco: service port out of range: "0"
  skipped #2: extdisco: service port out of range: "70000"
  skipped #3: extdisco: service port out of range: "34x"
  skipped #4: extdisco: bad service host: "turn example?transport=tcp"
  skipped #5: extdisco: bad service type or transport: transport "UDP"
  skipped #6: extdisco: service without type
  skipped #7: extdisco: bad service expiry: "tomorrow"
  skipped #8: extdisco: bad service restricted flag: "yes"`,
}

// TestGolden decodes every example of testdata/wire (XEP-0215's, and
// Prosody 0.12's answer as mod_external_services writes it), checks what
// it means, re-encodes it against its golden file, and decodes that again
// to the same services.
func TestGolden(t *testing.T) {
	seen := goldentest.Each(t, "testdata/wire", func(t *testing.T, name, path string, in []byte) {
		el, err := extdisco.Parse(in)
		if err != nil {
			t.Fatalf("Parse: %v", err)
		}
		want, ok := wantSummary[name]
		if !ok {
			t.Fatalf("no expectation for %s; got\n%s", name, summary(el))
		}
		if got := summary(el); got != want {
			t.Errorf("decoded\n got: %s\nwant: %s", got, want)
		}
		out, err := extdisco.Marshal(el)
		if err != nil {
			t.Fatal(err)
		}
		goldentest.Compare(t, strings.TrimSuffix(path, ".xml")+".golden.xml", append(out, '\n'))
		again, err := extdisco.Parse(out)
		if err != nil {
			t.Fatalf("Parse of the encoding: %v\n%s", err, out)
		}
		el.Skipped = nil
		if a, b := summary(again), summary(el); a != b {
			t.Errorf("encode→decode changed it:\n%s\nwas\n%s", a, b)
		}
	})
	for name := range wantSummary {
		if !seen[name] {
			t.Errorf("no testdata/wire/%s.xml", name)
		}
	}
}

// TestProsodyExample checks that the Prosody example's password is what
// Prosody computes for its username with turntest's default secret.
func TestProsodyExample(t *testing.T) {
	b, err := os.ReadFile("testdata/wire/prosody-0.12-turn-external.xml")
	if err != nil {
		t.Fatal(err)
	}
	el, err := extdisco.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	s := el.Services[1]
	if _, pw := turntest.Credentials("turntest-secret", "jmi", s.Expires); pw != s.Password || !strings.HasSuffix(s.Username, ":jmi") {
		t.Errorf("password %q, want %q", s.Password, pw)
	}
}

// TestBad checks that every input of testdata/bad is refused with its
// error.
func TestBad(t *testing.T) {
	want := map[string]error{
		"dtd":                 extdisco.ErrDTD,
		"old-namespace":       extdisco.ErrNotExtdisco,
		"unclosed":            extdisco.ErrMalformed,
		"iq-without-services": extdisco.ErrNotExtdisco,
		"two-roots":           extdisco.ErrMalformed,
		"bad-type-filter":     extdisco.ErrBadType,
		"too-many-services":   extdisco.ErrTooManyServices,
		"too-deep":            extdisco.ErrTooLarge,
		// XEP-0215 1.0.0's example 5 leaves its first <service> open.
		"xep0215-push-as-published": extdisco.ErrMalformed,
	}
	files, err := filepath.Glob("testdata/bad/*.xml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad inputs: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".xml")
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expectation for %s", name)
			}
			el, err := extdisco.Parse(in)
			if !errors.Is(err, w) {
				t.Errorf("Parse = %v, %v; want %v", el, err, w)
			}
		})
	}
	if _, err := extdisco.Parse(make([]byte, extdisco.MaxSize+1)); !errors.Is(err, extdisco.ErrTooLarge) {
		t.Errorf("Parse of %d bytes: %v, want ErrTooLarge", extdisco.MaxSize+1, err)
	}
}

// TestICEServers checks the URIs, credentials and skips of ICEServers.
func TestICEServers(t *testing.T) {
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	services := []extdisco.Service{
		0:  {Type: "stun", Host: "stun.example", Port: 3478, Transport: "udp"},
		1:  {Type: "stun", Host: "stun.example"},
		2:  {Type: "turn", Host: "turn.example", Port: 3478, Transport: "udp", Username: "u", Password: "p", Expires: now.Add(time.Hour)},
		3:  {Type: "turn", Host: "turn.example", Port: 3478, Transport: "tcp", Username: "u", Password: "p"},
		4:  {Type: "turns", Host: "turn.example", Port: 5349, Username: "u", Password: "p"},
		5:  {Type: "turn", Host: "2001:db8::1", Username: "u", Password: "p"},
		6:  {Type: "stun", Host: "2001:db8::1", Port: 3478},
		7:  {Type: "turn", Host: "old.example", Username: "u", Password: "p", Expires: now},
		8:  {Type: "turn", Host: "turn.example", Restricted: true},
		9:  {Type: "stun", Host: "stun.example", Transport: "tcp"},
		10: {Type: "ftp", Host: "ftp.example"},
		11: {Type: "turn", Host: "turn.example", Transport: "sctp", Username: "u", Password: "p"},
		12: {Type: "stun", Host: "stun.example", Port: 3478, Transport: "udp"},
		13: {Type: "turn", Host: "rest.example", Username: fmt.Sprintf("%d:jmi", now.Unix()), Password: "p"},
		14: {Type: "turn", Host: "rest.example", Username: fmt.Sprintf("%d", now.Add(time.Minute).Unix()), Password: "p"},
		15: {Type: "turn", Host: "static.example", Username: "12345", Password: "p"},
	}
	got, skipped := extdisco.ICEServers(services, now)
	var lines []string
	for _, s := range got {
		lines = append(lines, fmt.Sprintf("%s %s %v", s.URLs[0], s.Username, s.Credential))
	}
	want := []string{
		"stun:stun.example:3478  <nil>",
		"stun:stun.example  <nil>",
		"turn:turn.example:3478?transport=udp u p",
		"turn:turn.example:3478?transport=tcp u p",
		"turns:turn.example:5349?transport=tcp u p",
		"turn:[2001:db8::1]?transport=udp u p",
		"stun:[2001:db8::1]:3478  <nil>",
		"turn:rest.example?transport=udp 1796169660 p",
		"turn:static.example?transport=udp 12345 p",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("ICE servers\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	wantSkipped := map[int]error{7: extdisco.ErrExpired, 8: extdisco.ErrNoCredentials, 9: extdisco.ErrNotICE, 10: extdisco.ErrNotICE, 11: extdisco.ErrNotICE, 12: extdisco.ErrNotICE, 13: extdisco.ErrExpired}
	if len(skipped) != len(wantSkipped) {
		t.Errorf("skipped %v, want %d", skipped, len(wantSkipped))
	}
	for _, s := range skipped {
		if !errors.Is(s.Err, wantSkipped[s.Index]) {
			t.Errorf("service %d skipped for %v, want %v", s.Index, s.Err, wantSkipped[s.Index])
		}
	}
}

// TestRefresh: half-way to the earliest expiry still ahead.
func TestRefresh(t *testing.T) {
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	services := []extdisco.Service{
		{Type: "stun", Host: "a"},
		{Type: "turn", Host: "b", Expires: now.Add(-time.Hour)},
		{Type: "turn", Host: "c", Expires: now.Add(24 * time.Hour)},
		{Type: "turn", Host: "d", Expires: now.Add(2 * time.Hour)},
		{Type: "turn", Host: "e", Username: fmt.Sprintf("%d:jmi", now.Add(4*time.Hour).Unix())},
	}
	if got, want := extdisco.Refresh(services, now), now.Add(time.Hour); !got.Equal(want) {
		t.Errorf("Refresh = %s, want %s", got, want)
	}
	if got := extdisco.Refresh(services[:1], now); !got.IsZero() {
		t.Errorf("Refresh without expiry = %s, want zero", got)
	}
	// Prosody without a ttl: the expiry is in the TURN REST username.
	if got, want := extdisco.Refresh(services[4:], now), now.Add(2*time.Hour); !got.Equal(want) {
		t.Errorf("Refresh of a TURN REST username = %s, want %s", got, want)
	}
}
