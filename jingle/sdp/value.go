package sdp

import (
	"net/url"
	"strings"

	"github.com/jmi-xmpp/jmi/jingle"
)

// MaxMidLength is the longest content name used as an SDP mid: libwebrtc
// (Conversations, Monal) sends the mid in the RTP MID header extension,
// which carries at most 16 bytes (RFC 8843 §15.2).
const MaxMidLength = 16

// Party is a side of a Jingle session: the one who sent session-initiate,
// or the other. It says whose view an SDP description is written from.
type Party uint8

// The two parties of XEP-0166 §3.
const (
	// Initiator is the party that sent session-initiate: its description
	// is the offer.
	Initiator Party = iota
	// Responder is the party that answers with session-accept.
	Responder
)

// String returns "initiator" or "responder".
func (p Party) String() string {
	if p == Responder {
		return "responder"
	}
	return "initiator"
}

// direction is the SDP direction attribute, written by author, for the
// Jingle senders (XEP-0167 §4: senders='initiator' is a=sendonly in the
// initiator's description and a=recvonly in the responder's).
func direction(s jingle.Senders, author Party) string {
	switch s {
	case jingle.SendersNone:
		return "inactive"
	case jingle.SendersInitiator:
		if author == Initiator {
			return "sendonly"
		}
		return "recvonly"
	case jingle.SendersResponder:
		if author == Responder {
			return "sendonly"
		}
		return "recvonly"
	}
	return "sendrecv"
}

// senders is the Jingle senders for the SDP direction dir written by
// author; ok is false when dir is no direction.
func senders(dir string, author Party) (jingle.Senders, bool) {
	self, other := jingle.SendersInitiator, jingle.SendersResponder
	if author == Responder {
		self, other = other, self
	}
	switch dir {
	case "sendrecv":
		return jingle.SendersBoth, true
	case "sendonly":
		return self, true
	case "recvonly":
		return other, true
	case "inactive":
		return jingle.SendersNone, true
	}
	return jingle.SendersBoth, false
}

// isSpace reports the white space that is trimmed and collapsed: SP, HTAB,
// CR, LF, VT, FF.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'
}

func trim(s string) string {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

// token returns s without surrounding white space when what is left is one
// non-empty word of visible ASCII: the shape of every SDP field that is not
// free text (RFC 4566 §9 token, ice-char, byte-string without space). The
// value is otherwise refused, never repaired: a space inside a ufrag is not
// a typo to guess at.
func token(s string) (string, bool) {
	s = trim(s)
	if s == "" {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return "", false
		}
	}
	return s, true
}

// tokenWithout is token, refusing also the bytes of forbidden (the
// separators of the line it goes into).
func tokenWithout(s, forbidden string) (string, bool) {
	t, ok := token(s)
	if !ok || strings.ContainsAny(t, forbidden) {
		return "", false
	}
	return t, true
}

// words returns s with surrounding white space removed and every run of
// white space inside it made one space: free text such as an msid
// ("stream track") or an rtcp-fb subtype with parameters. Control
// characters other than white space and non-ASCII bytes refuse the value.
func words(s string) (string, bool) {
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isSpace(c):
			space = true
			continue
		case c < ' ' || c >= 0x7f:
			return "", false
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteByte(c)
	}
	return b.String(), b.Len() > 0
}

// isMid reports whether name can be an SDP mid (RFC 5888 §4: a token).
func isMid(name string) bool {
	if name == "" || len(name) > MaxMidLength {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isTokenChar(name[i]) {
			return false
		}
	}
	return true
}

// isTokenChar reports the characters of RFC 4566 §9 token.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`{|}~", c) >= 0
}

// removeSpace returns s without any white space: a fingerprint may be
// broken over lines in XML text.
func removeSpace(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x80 && isSpace(byte(r)) }) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if !isSpace(s[i]) {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// isURI reports whether s, one token, is a URI that pion's extmap parser
// takes.
func isURI(s string) bool {
	if _, ok := token(s); !ok {
		return false
	}
	_, err := url.Parse(s)
	return err == nil
}
