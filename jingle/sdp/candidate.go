package sdp

import (
	"encoding/xml"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/jmi-xmpp/jmi/jingle"
)

// candidateTypes are the candidate types of RFC 8445 §5.1.1 (XEP-0176 §5.1).
var candidateTypes = map[string]bool{"host": true, "srflx": true, "prflx": true, "relay": true}

// CandidateFromJingle returns the ICE candidate c of the content named
// content (in a transport-info or a transport) as pion's AddICECandidate
// takes it: an RFC 8839 "candidate:" line, with the content name as mid.
//
// A candidate that pion would not use is refused with ErrUnusedCandidate:
// component 2 (Dino sends RTCP candidates; pion multiplexes RTCP on the RTP
// component and does not filter remote candidates by component) and any
// protocol but UDP (Monal may send tcp). A candidate with a value that
// cannot be one field of the line is refused with ErrBadCandidate, a
// content name that cannot be a mid with ErrBadName.
func CandidateFromJingle(content string, c jingle.Candidate) (webrtc.ICECandidateInit, error) {
	if !isMid(content) {
		return webrtc.ICECandidateInit{}, fmt.Errorf("%w: %q", ErrBadName, content)
	}
	line, err := candidateLine(c)
	if err != nil {
		return webrtc.ICECandidateInit{}, err
	}
	mid := content
	return webrtc.ICECandidateInit{Candidate: "candidate:" + line, SDPMid: &mid}, nil
}

// candidateLine returns the value of the a=candidate line of c, without the
// "candidate:" prefix.
func candidateLine(c jingle.Candidate) (string, error) {
	if c.Component != 1 {
		return "", fmt.Errorf("%w: component %d (only component 1 is used, RTCP is multiplexed)", ErrUnusedCandidate, c.Component)
	}
	protocol, ok := token(c.Protocol)
	if !ok || !strings.EqualFold(protocol, "udp") {
		return "", fmt.Errorf("%w: protocol %q (only udp is used)", ErrUnusedCandidate, c.Protocol)
	}
	foundation, ok := token(c.Foundation)
	if !ok || len(foundation) > 32 {
		return "", fmt.Errorf("%w: foundation %q", ErrBadCandidate, c.Foundation)
	}
	ip, ok := token(c.IP)
	if !ok {
		return "", fmt.Errorf("%w: ip %q", ErrBadCandidate, c.IP)
	}
	typ, _ := token(c.Type)
	if !candidateTypes[typ] {
		return "", fmt.Errorf("%w: type %q", ErrBadCandidate, c.Type)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s 1 udp %d %s %d typ %s", foundation, c.Priority, ip, c.Port, typ)
	if c.RelAddr != "" {
		raddr, ok := token(c.RelAddr)
		if !ok {
			return "", fmt.Errorf("%w: rel-addr %q", ErrBadCandidate, c.RelAddr)
		}
		fmt.Fprintf(&b, " raddr %s rport %d", raddr, c.RelPort)
	}
	fmt.Fprintf(&b, " generation %d", c.Generation)
	if c.Network != 0 {
		fmt.Fprintf(&b, " network-id %d", c.Network)
	}
	return b.String(), nil
}

// CandidateToJingle returns the Jingle candidate of an RFC 8839 candidate
// line, with or without its "a=" and "candidate:" prefixes: the Candidate of
// the ICECandidateInit that pion's ICECandidate.ToJSON returns for a local
// candidate (its SDPMid names the content of the transport-info).
//
// The candidate's id, which XEP-0176 requires and SDP does not have, is
// derived from the fields that make the candidate, so that the same line
// always gives the same id. Known extensions cross (generation, network-id,
// tcptype); other extensions are dropped. A candidate of component 2 or over
// TCP is returned with ErrUnusedCandidate, so that it is never sent; a line
// that does not parse gives ErrBadCandidate.
func CandidateToJingle(line string) (jingle.Candidate, error) {
	s := trim(line)
	s = strings.TrimPrefix(s, "a=")
	s = strings.TrimPrefix(s, "candidate:")
	f := strings.Fields(s)
	if len(f) < 8 {
		return jingle.Candidate{}, fmt.Errorf("%w: %d fields in %q, at least 8 are needed", ErrBadCandidate, len(f), truncate(line))
	}
	bad := func(what string) (jingle.Candidate, error) {
		return jingle.Candidate{}, fmt.Errorf("%w: %s in %q", ErrBadCandidate, what, truncate(line))
	}
	var c jingle.Candidate
	if !isASCII(s) {
		return bad("a byte outside ASCII")
	}
	c.Foundation = f[0]
	if len(c.Foundation) > 32 {
		return bad("a foundation longer than 32 characters")
	}
	component, err := strconv.ParseUint(f[1], 10, 8)
	if err != nil || component == 0 {
		return bad("component " + strconv.Quote(f[1]))
	}
	c.Component = uint8(component)
	c.Protocol = strings.ToLower(f[2])
	priority, err := strconv.ParseUint(f[3], 10, 32)
	if err != nil {
		return bad("priority " + strconv.Quote(f[3]))
	}
	c.Priority = uint32(priority)
	c.IP = f[4]
	port, err := strconv.ParseUint(f[5], 10, 16)
	if err != nil {
		return bad("port " + strconv.Quote(f[5]))
	}
	c.Port = uint16(port)
	if f[6] != "typ" {
		return bad(`no "typ"`)
	}
	c.Type = f[7]
	if !candidateTypes[c.Type] {
		return bad("type " + strconv.Quote(c.Type))
	}
	rest := f[8:]
	if len(rest)%2 != 0 {
		return bad("an extension without a value")
	}
	for i := 0; i < len(rest); i += 2 {
		name, value := rest[i], rest[i+1]
		switch name {
		case "raddr":
			c.RelAddr = value
		case "rport":
			p, err := strconv.ParseUint(value, 10, 16)
			if err != nil {
				return bad("rport " + strconv.Quote(value))
			}
			c.RelPort = uint16(p)
		case "generation":
			g, err := strconv.ParseUint(value, 10, 8)
			if err != nil {
				return bad("generation " + strconv.Quote(value))
			}
			c.Generation = uint8(g)
		case "network-id":
			// The Jingle network is one byte; a larger id is dropped.
			if n, err := strconv.ParseUint(value, 10, 8); err == nil {
				c.Network = uint8(n)
			}
		case "tcptype":
			if isNCName(value) {
				c.Attrs = append(c.Attrs, xml.Attr{Name: xml.Name{Local: "tcptype"}, Value: value})
			}
		}
	}
	if c.RelAddr == "" {
		c.RelPort = 0
	}
	c.ID = candidateID(c)
	if c.Component != 1 || c.Protocol != "udp" {
		return c, fmt.Errorf("%w: component %d over %s", ErrUnusedCandidate, c.Component, c.Protocol)
	}
	return c, nil
}

// candidateID derives a XEP-0176 candidate id from what makes the
// candidate: the same candidate always gets the same id, and two
// candidates of one session differ in one of these fields.
func candidateID(c jingle.Candidate) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s %d %s %s %d %s %d", c.Foundation, c.Component, c.Protocol, c.IP, c.Port, c.Type, c.Generation)
	return strconv.FormatUint(h.Sum64(), 36)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x7f || (s[i] < ' ' && !isSpace(s[i])) {
			return false
		}
	}
	return true
}

// isNCName reports a value that can be an XML attribute of a candidate
// without escaping surprises: letters, digits, '-', '.', '_'.
func isNCName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// truncate shortens s for an error message.
func truncate(s string) string {
	const limit = 80
	if len(s) > limit {
		return s[:limit] + "…"
	}
	return s
}
