// Package extdisco implements XEP-0215: External Service Discovery
// (urn:xmpp:extdisco:2), the way an XMPP server tells its clients which STUN
// and TURN servers to use for the ICE of their Jingle calls.
//
// Fetch asks the server for its services (an IQ get of <services/> to the
// server's domain, which Prosody's mod_external_services answers), and asks
// for the credentials of restricted services that came without them
// (<credentials/>, XEP-0215 §3.3). ICEServers turns the services into the
// STUN and TURN servers of a pion PeerConnection (media.Config.ICEServers),
// and Refresh says when to fetch again. LookupICEServers does the three
// for a client before a call, through the client's own IQ sender.
//
// The wire types decode leniently where servers differ (an unknown service
// type is kept; an attribute XEP-0215 does not define is ignored) and
// strictly where a value would reach the ICE agent: a service without a
// type or host, with a port out of range, a host or transport that cannot
// be part of a STUN URI, a bad expiry or restricted flag is skipped, with
// its reason in Skipped. More than MaxServices services, or input beyond
// MaxDepth or MaxTokens, is refused as a whole.
//
// # Prosody
//
// Prosody 0.12's mod_external_services answers for its VirtualHost's domain
// and gives TURN credentials inline: for a service with a secret it computes
// TURN REST credentials (draft-uberti-behave-turn-rest-00), username
// "EXPIRES:USER" (or "EXPIRES" without a user), password
// base64(HMAC-SHA1(secret, username)), EXPIRES being now + ttl (one day by
// default), and marks the service restricted. It writes the expires
// attribute only when the service is configured with a ttl (Service.ExpiresAt
// reads the username otherwise). Its <credentials/> handler answers the same
// for a requested type and host (and port), so with Prosody Fetch never
// needs to ask.
//
// Not implemented: the pushes of §3.4 (a server's IQ set with changed
// services); a client fetches again when the earliest expiry nears.
package extdisco

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jmi-xmpp/jmi/internal/xmlread"
)

// NS is the namespace of XEP-0215 version 0.7 and later, which Prosody
// 0.12 serves (beside the older urn:xmpp:extdisco:1).
const NS = "urn:xmpp:extdisco:2"

// Limits of the decoder.
const (
	// MaxServices is the most <service/> children accepted in one
	// answer: a server lists a handful (Prosody's mod_turn_external at
	// most five), and every one may cost the ICE agent an allocation.
	MaxServices = 32
	// MaxValue is the longest attribute value of a service kept, in
	// bytes; a longer one skips the service.
	MaxValue = 1024
	// MaxDepth is the deepest nesting of elements accepted, the
	// outermost element (an <iq/>, or a bare <services/>) being 1.
	MaxDepth = 8
	// MaxTokens is the most XML tokens one answer may consist of.
	MaxTokens = 4096
	// MaxSize is the longest input Parse reads, in bytes.
	MaxSize = 64 << 10
)

// Errors of the decoder. A service is skipped for one of the per-service
// errors (wrapped with the detail in Skipped.Err); the others refuse the
// whole input.
var (
	// ErrMalformed is returned for input that is not well-formed XML.
	ErrMalformed = errors.New("extdisco: malformed XML")
	// ErrTooLarge is returned for input beyond MaxSize, MaxTokens or
	// MaxDepth.
	ErrTooLarge = errors.New("extdisco: input too large")
	// ErrDTD is returned for input with a DTD, which XMPP forbids.
	ErrDTD = errors.New("extdisco: DTDs are not allowed")
	// ErrNotExtdisco is returned when the element is neither <services/>
	// nor <credentials/> of NS, or an <iq/> carries neither.
	ErrNotExtdisco = errors.New("extdisco: not an external service discovery element")
	// ErrTooManyServices is returned for more than MaxServices services.
	ErrTooManyServices = errors.New("extdisco: too many services")

	// ErrNoType skips a service without a type attribute.
	ErrNoType = errors.New("extdisco: service without type")
	// ErrNoHost skips a service without a host attribute.
	ErrNoHost = errors.New("extdisco: service without host")
	// ErrBadHost skips a service whose host is neither a DNS name nor an
	// IP address (it would not parse as part of a STUN or TURN URI).
	ErrBadHost = errors.New("extdisco: bad service host")
	// ErrBadPort skips a service whose port is not a number from 1 to
	// 65535.
	ErrBadPort = errors.New("extdisco: service port out of range")
	// ErrBadType skips a service whose type or transport is not a short
	// lower-case token (letters, digits, '-').
	ErrBadType = errors.New("extdisco: bad service type or transport")
	// ErrBadExpires skips a service whose expires is not an XEP-0082
	// date and time.
	ErrBadExpires = errors.New("extdisco: bad service expiry")
	// ErrBadRestricted skips a service whose restricted is not an XML
	// boolean (true, false, 1, 0).
	ErrBadRestricted = errors.New("extdisco: bad service restricted flag")
	// ErrValueTooLong skips a service with an attribute longer than
	// MaxValue.
	ErrValueTooLong = errors.New("extdisco: service attribute too long")
)

// Service types and transports XEP-0215 registers for ICE.
const (
	TypeSTUN  = "stun"
	TypeTURN  = "turn"
	TypeTURNS = "turns"

	TransportUDP = "udp"
	TransportTCP = "tcp"
)

// Service is one <service/>: an external server and how to reach it.
type Service struct {
	// Type is the service type as sent: "stun", "turn", "turns", or
	// another of the registry ("ftp"), kept for the caller to ignore.
	Type string
	// Host is the DNS name or IP address of the server.
	Host string
	// Port is the port, 0 when not given (the service's default: 3478
	// for STUN and TURN, 5349 for TURNS).
	Port uint16
	// Transport is "udp", "tcp", another token, or "" when not given.
	Transport string
	// Username and Password are the credentials, when given.
	Username, Password string
	// Expires is when the credentials (or the service) stop being
	// valid; zero when not given.
	Expires time.Time
	// Restricted says that credentials are needed, and that they are to
	// be requested with <credentials/> when not given (XEP-0215 §3.3).
	Restricted bool
	// Name is a friendly name, when given.
	Name string
}

// String returns the service as "turn udp 127.0.0.1:3478", without its
// credentials (it is what logs show).
func (s Service) String() string {
	t := s.Transport
	if t == "" {
		t = "-"
	}
	host := s.Host
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port := "default"
	if s.Port != 0 {
		port = strconv.Itoa(int(s.Port))
	}
	out := s.Type + " " + t + " " + host + ":" + port
	if s.Restricted {
		out += " (restricted)"
	}
	return out
}

// Skipped is a service that was not kept, and why.
type Skipped struct {
	// Index is its position among the <service/> children, from 0.
	Index int
	// Service holds what could be read of it.
	Service Service
	// Err wraps one of the per-service errors (ErrNoHost, ...) or, from
	// ICEServers, ErrNotICE, ErrExpired or ErrNoCredentials.
	Err error
}

// Element is a <services/> or <credentials/> element: a request (no
// services, and for <services/> perhaps a Type filter) or an answer.
type Element struct {
	// Credentials says that it is a <credentials/> element (§3.3), not a
	// <services/> one.
	Credentials bool
	// Type is the type attribute of a <services/> request: only services
	// of that type are asked for. "" asks for all.
	Type string
	// Services are the services kept, in order.
	Services []Service
	// Skipped are the services not kept, with the reason.
	Skipped []Skipped
}

// Decode reads the <services/> or <credentials/> element whose start
// element is start from d, through its end element. d must resolve
// namespaces (an *xml.Decoder, or a mellium token stream).
func Decode(d xml.TokenReader, start xml.StartElement) (*Element, error) {
	return decodeElement(xmlread.New(d, &readConfig, 1), start)
}

// Parse reads a <services/> or <credentials/> element from b, bare or as
// the payload of an <iq/> (whose other children are ignored).
func Parse(b []byte) (*Element, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(b), MaxSize)
	}
	r := xmlread.New(xml.NewDecoder(bytes.NewReader(b)), &readConfig, 0)
	var el *Element
	for el == nil {
		tok, err := r.Next()
		if errors.Is(err, xmlread.ErrEOF) {
			return nil, fmt.Errorf("%w: the input holds no element", ErrNotExtdisco)
		}
		if err != nil {
			return nil, err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch {
		case isExtdisco(start.Name):
			if el, err = decodeElement(r, start); err != nil {
				return nil, err
			}
		case start.Name.Local == "iq" && (start.Name.Space == "" || start.Name.Space == "jabber:client"):
			if el, err = decodeIQ(r); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("%w: the root element is <%s xmlns='%s'>", ErrNotExtdisco, start.Name.Local, start.Name.Space)
		}
	}
	for {
		tok, err := r.Next()
		if errors.Is(err, xmlread.ErrEOF) {
			return el, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return nil, fmt.Errorf("%w: element <%s> after the end of the input's element", ErrMalformed, t.Name.Local)
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, fmt.Errorf("%w: text after the end of the input's element", ErrMalformed)
			}
		}
	}
}

// decodeIQ finds the extdisco payload among the children of an <iq/>
// whose start was just read, and reads the iq to its end.
func decodeIQ(r *xmlread.Reader) (*Element, error) {
	var el *Element
	err := r.Children(func(child xml.StartElement) error {
		if el != nil || !isExtdisco(child.Name) {
			return r.Skip()
		}
		var err error
		el, err = decodeElement(r, child)
		return err
	})
	if err != nil {
		return nil, err
	}
	if el == nil {
		return nil, fmt.Errorf("%w: the iq carries no <services/> or <credentials/>", ErrNotExtdisco)
	}
	return el, nil
}

func isExtdisco(n xml.Name) bool {
	return n.Space == NS && (n.Local == "services" || n.Local == "credentials")
}

// decodeElement reads a <services/> or <credentials/> whose start was just
// read.
func decodeElement(r *xmlread.Reader, start xml.StartElement) (*Element, error) {
	if !isExtdisco(start.Name) {
		return nil, fmt.Errorf("%w: <%s xmlns='%s'>", ErrNotExtdisco, start.Name.Local, start.Name.Space)
	}
	el := &Element{Credentials: start.Name.Local == "credentials"}
	if t, ok := attr(start, "type"); ok && !el.Credentials {
		if !isToken(t) {
			return nil, fmt.Errorf("%w: <services type=%q>", ErrBadType, t)
		}
		el.Type = t
	}
	n := 0
	err := r.Children(func(child xml.StartElement) error {
		if child.Name.Space != NS || child.Name.Local != "service" {
			return r.Skip() // a data form (§4) or an extension: not ours
		}
		if n == MaxServices {
			return fmt.Errorf("%w: more than %d", ErrTooManyServices, MaxServices)
		}
		svc, err := decodeService(child)
		if err != nil {
			el.Skipped = append(el.Skipped, Skipped{Index: n, Service: svc, Err: err})
		} else {
			el.Services = append(el.Services, svc)
		}
		n++
		return r.Skip() // its children (a data form) are not used
	})
	if err != nil {
		return nil, err
	}
	return el, nil
}

// decodeService reads the attributes of a <service/>. On error the
// Service holds what was read.
func decodeService(start xml.StartElement) (Service, error) {
	var s Service
	for _, a := range start.Attr {
		if a.Name.Space == "" && len(a.Value) > MaxValue {
			return s, fmt.Errorf("%w: %s is %d bytes, the limit is %d", ErrValueTooLong, a.Name.Local, len(a.Value), MaxValue)
		}
	}
	get := func(local string) (string, bool) { return attr(start, local) }
	s.Type, _ = get("type")
	s.Host, _ = get("host")
	s.Transport, _ = get("transport")
	s.Username, _ = get("username")
	s.Password, _ = get("password")
	s.Name, _ = get("name")
	switch {
	case s.Type == "":
		return s, ErrNoType
	case !isToken(s.Type):
		return s, fmt.Errorf("%w: type %q", ErrBadType, s.Type)
	case s.Host == "":
		return s, ErrNoHost
	case !isHost(s.Host):
		return s, fmt.Errorf("%w: %q", ErrBadHost, s.Host)
	case s.Transport != "" && !isToken(s.Transport):
		return s, fmt.Errorf("%w: transport %q", ErrBadType, s.Transport)
	}
	if p, ok := get("port"); ok {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return s, fmt.Errorf("%w: %q", ErrBadPort, p)
		}
		s.Port = uint16(n)
	}
	if e, ok := get("expires"); ok {
		t, err := time.Parse(time.RFC3339Nano, e)
		if y := t.UTC().Year(); err == nil && (y < 1 || y > 9999) {
			// In UTC it would not be written back as XEP-0082 has it.
			err = errors.New("out of range")
		}
		if err != nil {
			return s, fmt.Errorf("%w: %q", ErrBadExpires, e)
		}
		s.Expires = t
	}
	if v, ok := get("restricted"); ok {
		switch v {
		case "true", "1":
			s.Restricted = true
		case "false", "0":
		default:
			return s, fmt.Errorf("%w: %q", ErrBadRestricted, v)
		}
	}
	return s, nil
}

// attr returns the value of the attribute local in no namespace. With
// duplicates, the last wins.
func attr(start xml.StartElement, local string) (string, bool) {
	v, ok := "", false
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			v, ok = a.Value, true
		}
	}
	return v, ok
}

// isToken reports whether s is a service type or transport as the registry
// writes them: 1 to 32 lower-case letters, digits and '-'.
func isToken(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// isHost reports whether s can be the host of a STUN or TURN URI: an IPv6
// address (hex digits, ':' and '.'), or a DNS name or IPv4 address of at
// most 253 letters, digits, '-', '_' and '.', not starting with '-' or '.'.
func isHost(s string) bool {
	if s == "" || len(s) > 253 || s[0] == '-' || s[0] == '.' {
		return false
	}
	if strings.Contains(s, ":") {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.') {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// readConfig holds the package's limits and errors for the shared reader.
var readConfig = xmlread.Config{
	MaxTokens: MaxTokens,
	MaxDepth:  MaxDepth,
	Malformed: ErrMalformed,
	TooLarge:  ErrTooLarge,
	DTD:       ErrDTD,
}

// TokenReader returns the element's XML: a request when it has no
// services, else an answer. Skipped services are not written.
func (e *Element) TokenReader() xml.TokenReader {
	name := "services"
	if e.Credentials {
		name = "credentials"
	}
	start := xml.StartElement{Name: xml.Name{Space: NS, Local: name}}
	if e.Type != "" && !e.Credentials {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "type"}, Value: e.Type})
	}
	toks := []xml.Token{start}
	for _, s := range e.Services {
		st := xml.StartElement{Name: xml.Name{Space: NS, Local: "service"}, Attr: s.attrs()}
		toks = append(toks, st, st.End())
	}
	toks = append(toks, start.End())
	return &tokenSlice{toks: toks}
}

// attrs returns the attributes of the service's <service/>, in the order
// of the XEP's examples, the empty ones left out.
func (s Service) attrs() []xml.Attr {
	var as []xml.Attr
	add := func(local, v string) {
		if v != "" {
			as = append(as, xml.Attr{Name: xml.Name{Local: local}, Value: v})
		}
	}
	if !s.Expires.IsZero() {
		add("expires", s.Expires.UTC().Format(time.RFC3339Nano))
	}
	add("host", s.Host)
	add("name", s.Name)
	add("password", s.Password)
	if s.Port != 0 {
		add("port", strconv.Itoa(int(s.Port)))
	}
	if s.Restricted {
		add("restricted", "true")
	}
	add("transport", s.Transport)
	add("type", s.Type)
	add("username", s.Username)
	return as
}

// Marshal returns the element's XML.
func Marshal(e *Element) ([]byte, error) {
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	r := e.TokenReader()
	for {
		tok, err := r.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := enc.EncodeToken(tok); err != nil {
			return nil, fmt.Errorf("extdisco: encoding: %w", err)
		}
	}
	if err := enc.Flush(); err != nil {
		return nil, fmt.Errorf("extdisco: encoding: %w", err)
	}
	return b.Bytes(), nil
}

// tokenSlice reads a slice of tokens.
type tokenSlice struct {
	toks []xml.Token
	i    int
}

func (t *tokenSlice) Token() (xml.Token, error) {
	if t.i == len(t.toks) {
		return nil, io.EOF
	}
	tok := t.toks[t.i]
	t.i++
	return tok, nil
}
