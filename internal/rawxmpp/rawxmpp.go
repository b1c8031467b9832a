// Package rawxmpp is a small XMPP client (RFC 6120) for tests that must say
// what a well-behaved library never would: it logs in over plaintext to a
// private server on loopback (SASL PLAIN), binds a resource sent as raw
// bytes (one that mellium's PRECIS refuses, such as one containing U+1100,
// which Prosody accepts), sends stanzas given as raw strings, and keeps
// every stanza it receives, byte for byte as the server sent it, so that a
// test can wait for one that matches and check what did, and what did not,
// reach it.
//
// It is the attacker of jmi's adversarial tests, and any test's third
// party. It checks nothing and answers nothing (no IQ results, no pings),
// unless the test sends them.
//
//	c, err := rawxmpp.Dial(ctx, rawxmpp.Config{Addr: srv.Addr, Domain: srv.Domain,
//		User: "mallory", Password: pw, Resource: "\u1100"})
//	c.Send(`<presence/>`)
//	c.Send(`<message to='juliet@localhost/phone' type='chat'>…</message>`)
//	st, err := c.Wait(ctx, rawxmpp.Contains("<ringing"))
//
// Never point it at anything but a private server on loopback: it sends the
// password in clear.
package rawxmpp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"time"
)

// Namespaces of the stream's negotiation.
const (
	nsStream = "http://etherx.jabber.org/streams"
	nsSASL   = "urn:ietf:params:xml:ns:xmpp-sasl"
	nsBind   = "urn:ietf:params:xml:ns:xmpp-bind"
)

// ErrClosed is returned by Wait and Send once the connection has ended.
var ErrClosed = errors.New("rawxmpp: connection closed")

// Config says where and as whom to log in.
type Config struct {
	// Addr is the server's host:port, a loopback address.
	Addr string
	// Domain is the server's virtual host, the domain of the account.
	Domain string
	// User and Password are the account's.
	User, Password string
	// Resource is requested at bind exactly as given, as the bytes of the
	// string: no normalisation, no PRECIS check (XML escaping only). Empty:
	// the server picks one.
	Resource string
}

// Stanza is one top-level element received on the stream.
type Stanza struct {
	// Index is its place in the order of reception, from 0.
	Index int
	// Name is the element's local name: "message", "presence", "iq".
	Name string
	// Attr holds the element's attributes without a namespace (from, to,
	// type, id), as raw strings.
	Attr map[string]string
	// Raw is the stanza exactly as the server sent it.
	Raw string
}

// From, To, Type and ID return those attributes of the stanza ("" when
// absent).
func (s Stanza) From() string { return s.Attr["from"] }

// To returns the stanza's to attribute.
func (s Stanza) To() string { return s.Attr["to"] }

// Type returns the stanza's type attribute.
func (s Stanza) Type() string { return s.Attr["type"] }

// ID returns the stanza's id attribute.
func (s Stanza) ID() string { return s.Attr["id"] }

// Contains matches a stanza whose raw form contains sub.
func Contains(sub string) func(Stanza) bool {
	return func(s Stanza) bool { return strings.Contains(s.Raw, sub) }
}

// Conn is a logged-in stream. Its methods are safe for concurrent use.
type Conn struct {
	conn net.Conn
	jid  string

	wmu sync.Mutex // one writer at a time

	mu       sync.Mutex
	received []Stanza
	changed  chan struct{} // closed and replaced on every new stanza and at the end
	err      error         // why reading ended; nil while it goes on
	done     chan struct{}
}

// Dial connects to cfg.Addr, authenticates with SASL PLAIN, binds
// cfg.Resource and starts collecting stanzas. It sends no presence: send
// <presence/> to receive messages addressed to the bare JID. ctx bounds the
// login.
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("rawxmpp: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	c := &Conn{conn: conn, changed: make(chan struct{}), done: make(chan struct{})}
	r := &recorder{r: conn}
	dec, err := c.login(r, cfg)
	if err != nil {
		conn.Close()
		return nil, err
	}
	_ = conn.SetDeadline(time.Time{})
	go c.read(dec, r)
	return c, nil
}

// JID returns the full JID the server bound, as the server wrote it.
func (c *Conn) JID() string { return c.jid }

// Send writes one stanza, or any raw XML, to the stream as it is.
func (c *Conn) Send(raw string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := io.WriteString(c.conn, raw)
	if err != nil {
		return fmt.Errorf("rawxmpp: sending: %w", err)
	}
	return nil
}

// Received returns every stanza received so far, in order.
func (c *Conn) Received() []Stanza {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Stanza(nil), c.received...)
}

// Len is the number of stanzas received so far: the Index the next one
// will have. Take it before an action to look at what the action caused
// with Since or WaitAfter.
func (c *Conn) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.received)
}

// Since returns the stanzas received from index i on.
func (c *Conn) Since(i int) []Stanza {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i > len(c.received) {
		return nil
	}
	return append([]Stanza(nil), c.received[i:]...)
}

// Wait returns the first stanza received, since the stream began, that
// matches; it waits for one until ctx ends or the stream does.
func (c *Conn) Wait(ctx context.Context, match func(Stanza) bool) (Stanza, error) {
	return c.WaitAfter(ctx, 0, match)
}

// WaitAfter is Wait among the stanzas from index i on.
func (c *Conn) WaitAfter(ctx context.Context, i int, match func(Stanza) bool) (Stanza, error) {
	for {
		c.mu.Lock()
		for ; i < len(c.received); i++ {
			if match(c.received[i]) {
				s := c.received[i]
				c.mu.Unlock()
				return s, nil
			}
		}
		changed, err := c.changed, c.err
		c.mu.Unlock()
		if err != nil {
			return Stanza{}, fmt.Errorf("%w: %v", ErrClosed, err)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return Stanza{}, fmt.Errorf("rawxmpp: no matching stanza: %w", ctx.Err())
		}
	}
}

// IQ sends an <iq/> whose id is id (the raw XML must carry it) and waits
// for the server's result or error with that id.
func (c *Conn) IQ(ctx context.Context, id, raw string) (Stanza, error) {
	from := c.Len()
	if err := c.Send(raw); err != nil {
		return Stanza{}, err
	}
	return c.WaitAfter(ctx, from, func(s Stanza) bool {
		return s.Name == "iq" && s.ID() == id && (s.Type() == "result" || s.Type() == "error")
	})
}

// Done is closed when the stream has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Close ends the stream and the connection.
func (c *Conn) Close() error {
	_ = c.Send(`</stream:stream>`)
	return c.conn.Close()
}

// Escape escapes s for an attribute or text of raw XML; it changes no
// other byte, so a resource with characters PRECIS refuses goes out as it
// is.
func Escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), "'", "&#39;")
}

func (c *Conn) login(r *recorder, cfg Config) (*xml.Decoder, error) {
	dec, err := c.open(r, cfg.Domain)
	if err != nil {
		return nil, err
	}
	if _, err := expectFeatures(dec); err != nil {
		return nil, err
	}
	auth := base64.StdEncoding.EncodeToString([]byte("\x00" + cfg.User + "\x00" + cfg.Password))
	if err := c.Send(`<auth xmlns='` + nsSASL + `' mechanism='PLAIN'>` + auth + `</auth>`); err != nil {
		return nil, err
	}
	st, err := nextStanza(dec, r)
	if err != nil {
		return nil, err
	}
	if st.Name != "success" {
		return nil, fmt.Errorf("rawxmpp: authentication as %s refused: %s", cfg.User, st.Raw)
	}
	// RFC 6120 §6.4.6: a new stream after SASL.
	if dec, err = c.open(r, cfg.Domain); err != nil {
		return nil, err
	}
	if _, err := expectFeatures(dec); err != nil {
		return nil, err
	}
	resource := ""
	if cfg.Resource != "" {
		resource = `<resource>` + Escape(cfg.Resource) + `</resource>`
	}
	if err := c.Send(`<iq type='set' id='bind-1'><bind xmlns='` + nsBind + `'>` + resource + `</bind></iq>`); err != nil {
		return nil, err
	}
	st, err = nextStanza(dec, r)
	if err != nil {
		return nil, err
	}
	var res struct {
		Type string `xml:"type,attr"`
		JID  string `xml:"urn:ietf:params:xml:ns:xmpp-bind bind>jid"`
	}
	if err := xml.Unmarshal([]byte(st.Raw), &res); err != nil || res.Type != "result" || res.JID == "" {
		return nil, fmt.Errorf("rawxmpp: bind of %q refused: %s", cfg.Resource, st.Raw)
	}
	c.jid = res.JID
	return dec, nil
}

// open sends a stream header and reads the server's, with a fresh decoder.
func (c *Conn) open(r *recorder, domain string) (*xml.Decoder, error) {
	if err := c.Send(`<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='` + nsStream + `' to='` + Escape(domain) + `' version='1.0'>`); err != nil {
		return nil, err
	}
	dec := xml.NewDecoder(r)
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("rawxmpp: reading the stream header: %w", err)
		}
		if t, ok := tok.(xml.StartElement); ok {
			if t.Name.Space != nsStream || t.Name.Local != "stream" {
				return nil, fmt.Errorf("rawxmpp: <%s> instead of a stream header", t.Name.Local)
			}
			r.reset()
			return dec, nil
		}
	}
}

// expectFeatures reads <stream:features/>.
func expectFeatures(dec *xml.Decoder) (string, error) {
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", fmt.Errorf("rawxmpp: reading the stream features: %w", err)
		}
		if t, ok := tok.(xml.StartElement); ok {
			if t.Name.Local != "features" {
				return "", fmt.Errorf("rawxmpp: <%s> instead of the stream features", t.Name.Local)
			}
			var v struct {
				Inner string `xml:",innerxml"`
			}
			if err := dec.DecodeElement(&v, &t); err != nil {
				return "", fmt.Errorf("rawxmpp: reading the stream features: %w", err)
			}
			return v.Inner, nil
		}
	}
}

// nextStanza reads the next top-level element with its raw bytes.
func nextStanza(dec *xml.Decoder, r *recorder) (Stanza, error) {
	r.reset()
	for {
		tok, err := dec.Token()
		if err != nil {
			return Stanza{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			st := Stanza{Name: t.Name.Local, Attr: map[string]string{}}
			for _, a := range t.Attr {
				if a.Name.Space == "" {
					st.Attr[a.Name.Local] = a.Value
				}
			}
			if err := dec.Skip(); err != nil {
				return Stanza{}, err
			}
			st.Raw = string(bytes.TrimSpace(r.take()))
			return st, nil
		case xml.EndElement:
			return Stanza{}, fmt.Errorf("the server closed the stream")
		}
		// White space between stanzas stays in the record (the decoder
		// has read the next '<' with it); take trims it.
	}
}

// read collects stanzas until the stream ends.
func (c *Conn) read(dec *xml.Decoder, r *recorder) {
	var err error
	for {
		var st Stanza
		st, err = nextStanza(dec, r)
		if err != nil {
			break
		}
		c.mu.Lock()
		st.Index = len(c.received)
		c.received = append(c.received, st)
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
	}
	c.mu.Lock()
	c.err = err
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	c.wmu.Lock()
	close(c.done)
	c.wmu.Unlock()
	c.conn.Close()
}

// recorder hands the decoder one byte at a time (an io.ByteReader, so that
// encoding/xml reads no further ahead than it decodes) and keeps what it
// handed out since the last reset: the raw bytes of a stanza.
type recorder struct {
	r   io.Reader
	buf [4096]byte
	n   int // bytes in buf
	pos int // next byte of buf to hand out
	rec []byte
}

func (r *recorder) ReadByte() (byte, error) {
	if r.pos == r.n {
		n, err := r.r.Read(r.buf[:])
		if n == 0 {
			if err == nil {
				err = io.ErrNoProgress
			}
			return 0, err
		}
		r.n, r.pos = n, 0
	}
	b := r.buf[r.pos]
	r.pos++
	r.rec = append(r.rec, b)
	return b, nil
}

func (r *recorder) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	b, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	p[0] = b
	return 1, nil
}

func (r *recorder) reset() { r.rec = r.rec[:0] }

func (r *recorder) take() []byte {
	out := append([]byte(nil), r.rec...)
	r.rec = r.rec[:0]
	return out
}
