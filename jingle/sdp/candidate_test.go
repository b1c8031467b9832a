package sdp_test

import (
	"encoding/xml"
	"errors"
	"reflect"
	"testing"

	"github.com/pion/ice/v4"

	"github.com/jmi-xmpp/jmi/jingle"
	"github.com/jmi-xmpp/jmi/jingle/sdp"
)

func TestCandidateToJingle(t *testing.T) {
	for _, tc := range []struct {
		name string
		line string
		want jingle.Candidate
		err  error
	}{
		{
			name: "pion's host candidate->component 1 udp",
			line: "candidate:2364598539 1 udp 2130706431 127.0.0.1 51756 typ host",
			want: jingle.Candidate{Component: 1, Foundation: "2364598539", Protocol: "udp", Priority: 2130706431, IP: "127.0.0.1", Port: 51756, Type: "host"},
		},
		{
			name: "libwebrtc's srflx with a=, upper case UDP, extensions->raddr, rport, generation, network",
			line: "a=candidate:842163049 1 UDP 1686052607 198.51.100.7 50123 typ srflx raddr 192.0.2.10 rport 50123 generation 2 ufrag Xq9T network-id 1 network-cost 10",
			want: jingle.Candidate{Component: 1, Foundation: "842163049", Protocol: "udp", Priority: 1686052607, IP: "198.51.100.7", Port: 50123, Type: "srflx", RelAddr: "192.0.2.10", RelPort: 50123, Generation: 2, Network: 1},
		},
		{
			name: "white space around and inside->normalised",
			line: "  candidate:1  1 udp\t2130706431 127.0.0.1 4000 typ host \r\n",
			want: jingle.Candidate{Component: 1, Foundation: "1", Protocol: "udp", Priority: 2130706431, IP: "127.0.0.1", Port: 4000, Type: "host"},
		},
		{
			name: "component 2->returned with ErrUnusedCandidate",
			line: "candidate:1 2 udp 2130706430 127.0.0.1 4001 typ host",
			want: jingle.Candidate{Component: 2, Foundation: "1", Protocol: "udp", Priority: 2130706430, IP: "127.0.0.1", Port: 4001, Type: "host"},
			err:  sdp.ErrUnusedCandidate,
		},
		{
			name: "tcp with tcptype->returned with ErrUnusedCandidate, tcptype kept",
			line: "candidate:3 1 tcp 1518280447 192.0.2.10 9 typ host tcptype active",
			want: jingle.Candidate{Component: 1, Foundation: "3", Protocol: "tcp", Priority: 1518280447, IP: "192.0.2.10", Port: 9, Type: "host",
				Attrs: []xml.Attr{{Name: xml.Name{Local: "tcptype"}, Value: "active"}}},
			err: sdp.ErrUnusedCandidate,
		},
		{name: "too few fields", line: "candidate:1 1 udp 1 127.0.0.1 4000 typ", err: sdp.ErrBadCandidate},
		{name: "port out of range", line: "candidate:1 1 udp 1 127.0.0.1 65536 typ host", err: sdp.ErrBadCandidate},
		{name: "component 0", line: "candidate:1 0 udp 1 127.0.0.1 4000 typ host", err: sdp.ErrBadCandidate},
		{name: "unknown type", line: "candidate:1 1 udp 1 127.0.0.1 4000 typ local", err: sdp.ErrBadCandidate},
		{name: "no typ", line: "candidate:1 1 udp 1 127.0.0.1 4000 type host", err: sdp.ErrBadCandidate},
		{name: "extension without value", line: "candidate:1 1 udp 1 127.0.0.1 4000 typ host generation", err: sdp.ErrBadCandidate},
		{name: "control byte", line: "candidate:1 1 udp 1 127.0.0.1 4000 typ host\x00", err: sdp.ErrBadCandidate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sdp.CandidateToJingle(tc.line)
			if !errors.Is(err, tc.err) || (tc.err == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if errors.Is(err, sdp.ErrBadCandidate) {
				return
			}
			if got.ID == "" {
				t.Error("no id: XEP-0176 requires one")
			}
			again, _ := sdp.CandidateToJingle(tc.line)
			if again.ID != got.ID {
				t.Errorf("id %q then %q for the same line", got.ID, again.ID)
			}
			got.ID = ""
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

// TestCandidateFromJingle checks the line written for each candidate, and
// that pion's own parser reads the same candidate back from it.
func TestCandidateFromJingle(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content string
		c       jingle.Candidate
		line    string
		err     error
	}{
		{
			name: "Dino's host candidate->line with generation", content: "audio",
			c:    jingle.Candidate{Component: 1, Foundation: "1", Generation: 0, ID: "x", IP: "192.0.2.1", Network: 0, Port: 4000, Priority: 2130706431, Protocol: "udp", Type: "host"},
			line: "candidate:1 1 udp 2130706431 192.0.2.1 4000 typ host generation 0",
		},
		{
			name: "Conversations' relay with rel-addr and network->raddr, rport, network-id", content: "0",
			c:    jingle.Candidate{Component: 1, Foundation: "3", Generation: 1, IP: "203.0.113.5", Network: 3, Port: 3478, Priority: 41885439, Protocol: "udp", Type: "relay", RelAddr: "198.51.100.7", RelPort: 50123},
			line: "candidate:3 1 udp 41885439 203.0.113.5 3478 typ relay raddr 198.51.100.7 rport 50123 generation 1 network-id 3",
		},
		{
			name: "white space around the values, UDP in capitals->trimmed", content: "0",
			c:    jingle.Candidate{Component: 1, Foundation: " 1 ", IP: " 192.0.2.1\n", Port: 4000, Priority: 1, Protocol: "UDP", Type: " host "},
			line: "candidate:1 1 udp 1 192.0.2.1 4000 typ host generation 0",
		},
		{name: "component 2 (Dino's RTCP)->unused", content: "audio", err: sdp.ErrUnusedCandidate,
			c: jingle.Candidate{Component: 2, Foundation: "1", IP: "192.0.2.1", Port: 4001, Priority: 1, Protocol: "udp", Type: "host"}},
		{name: "tcp (Monal)->unused", content: "0", err: sdp.ErrUnusedCandidate,
			c: jingle.Candidate{Component: 1, Foundation: "1", IP: "192.0.2.1", Port: 9, Priority: 1, Protocol: "tcp", Type: "host"}},
		{name: "ip with a space inside->bad", content: "0", err: sdp.ErrBadCandidate,
			c: jingle.Candidate{Component: 1, Foundation: "1", IP: "192.0.2.1 typ", Port: 9, Priority: 1, Protocol: "udp", Type: "host"}},
		{name: "foundation with a line break->bad", content: "0", err: sdp.ErrBadCandidate,
			c: jingle.Candidate{Component: 1, Foundation: "1\r\na=x", IP: "192.0.2.1", Port: 9, Priority: 1, Protocol: "udp", Type: "host"}},
		{name: "content name with a space->bad name", content: "my audio", err: sdp.ErrBadName,
			c: jingle.Candidate{Component: 1, Foundation: "1", IP: "192.0.2.1", Port: 9, Priority: 1, Protocol: "udp", Type: "host"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			init, err := sdp.CandidateFromJingle(tc.content, tc.c)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if init.Candidate != tc.line {
				t.Errorf("line %q\nwant %q", init.Candidate, tc.line)
			}
			if init.SDPMid == nil || *init.SDPMid != tc.content {
				t.Errorf("mid %v, want %q", init.SDPMid, tc.content)
			}
			p, err := ice.UnmarshalCandidate(init.Candidate)
			if err != nil {
				t.Fatalf("pion cannot parse %q: %v", init.Candidate, err)
			}
			if p.Component() != 1 || p.Port() != int(tc.c.Port) || p.Priority() != tc.c.Priority || p.Address() != trimmed(tc.c.IP) || p.NetworkType().NetworkShort() != "udp" {
				t.Errorf("pion reads %s", p)
			}
			back, err := sdp.CandidateToJingle(init.Candidate)
			if err != nil {
				t.Fatal(err)
			}
			if back.Foundation != trimmed(tc.c.Foundation) || back.IP != trimmed(tc.c.IP) || back.RelAddr != tc.c.RelAddr || back.RelPort != tc.c.RelPort || back.Generation != tc.c.Generation || back.Network != tc.c.Network {
				t.Errorf("read back %+v from %+v", back, tc.c)
			}
		})
	}
}

func trimmed(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\n') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\n') {
		s = s[:len(s)-1]
	}
	return s
}
