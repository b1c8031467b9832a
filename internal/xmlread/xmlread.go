// Package xmlread is the bounded XML token reader under jmi's decoders (the
// JMI elements of package jmi and the Jingle IQs of package jingle): it
// counts tokens and nesting against a package's limits, refuses DTDs and
// names encoding/xml would split at a colon, and turns every read error into
// that package's own sentinel errors, so callers match them with errors.Is
// as before.
package xmlread

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
)

// Config is what a decoding package sets once: its limits and its errors.
type Config struct {
	// MaxTokens is the most tokens one input may consist of.
	MaxTokens int
	// MaxDepth is the deepest nesting of elements accepted, counted as
	// the Reader's depth (see New).
	MaxDepth int
	// MaxText is the longest character data Text returns, in bytes; 0
	// sets no limit.
	MaxText int
	// KeepComments keeps comments in the inner XML of InnerXML; without
	// it they are dropped like processing instructions.
	KeepComments bool
	// Malformed wraps what is not well-formed XML; TooLarge what exceeds
	// a limit; DTD is returned for a directive.
	Malformed, TooLarge, DTD error
}

// ErrEOF marks the clean end of a token stream, returned by Next only.
var ErrEOF = errors.New("xmlread: end of input")

// Reader reads tokens within the limits of its Config.
type Reader struct {
	r      xml.TokenReader
	c      *Config
	tokens int
	depth  int
}

// New returns a Reader of r. depth is the nesting of the element whose start
// the caller has already read (1 when a decoder is handed a start element,
// 0 at the start of a document).
func New(r xml.TokenReader, c *Config, depth int) *Reader {
	return &Reader{r: r, c: c, depth: depth}
}

// Depth returns the nesting of the element being read: 1 inside the
// outermost one.
func (r *Reader) Depth() int { return r.depth }

// SetDepth makes the nesting count from another element: a decoder whose
// limit is documented relative to an inner element sets 1 on its start.
func (r *Reader) SetDepth(depth int) { r.depth = depth }

// Next returns the next token, or ErrEOF at the clean end of the input.
func (r *Reader) Next() (xml.Token, error) {
	for {
		tok, err := r.r.Token()
		if tok == nil && err == nil {
			continue
		}
		if err == io.EOF && tok == nil {
			return nil, ErrEOF
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%w: %w", r.c.Malformed, err)
		}
		r.tokens++
		if r.tokens > r.c.MaxTokens {
			return nil, fmt.Errorf("%w: more than %d XML tokens", r.c.TooLarge, r.c.MaxTokens)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, r.c.DTD
		case xml.StartElement:
			r.depth++
			if r.depth > r.c.MaxDepth {
				return nil, fmt.Errorf("%w: elements nested deeper than %d", r.c.TooLarge, r.c.MaxDepth)
			}
			// encoding/xml splits "a:0" into a prefix and the local name
			// "0", which no one could write back: refuse such names.
			if !IsNCName(t.Name.Local) {
				return nil, fmt.Errorf("%w: invalid element name %q", r.c.Malformed, t.Name.Local)
			}
			for _, a := range t.Attr {
				if !IsNCName(a.Name.Local) {
					return nil, fmt.Errorf("%w: invalid attribute name %q", r.c.Malformed, a.Name.Local)
				}
			}
		case xml.EndElement:
			r.depth--
		}
		return tok, nil
	}
}

// Inside reads the next token within an element; the end of input there is
// malformed.
func (r *Reader) Inside() (xml.Token, error) {
	tok, err := r.Next()
	if errors.Is(err, ErrEOF) {
		return nil, fmt.Errorf("%w: unexpected end of input", r.c.Malformed)
	}
	return tok, err
}

// Children calls fn for each child element of the element whose start was
// just read, until its end; fn must consume the child. Text between the
// children is passed over.
func (r *Reader) Children(fn func(child xml.StartElement) error) error {
	for {
		tok, err := r.Inside()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			if err := fn(t); err != nil {
				return err
			}
		}
	}
}

// Skip consumes the rest of an element whose start was just read.
func (r *Reader) Skip() error {
	for d := 1; d > 0; {
		tok, err := r.Inside()
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			d++
		case xml.EndElement:
			d--
		}
	}
	return nil
}

// Text returns the character data of the element whose start was just read,
// skipping any child elements.
func (r *Reader) Text() (string, error) {
	var b strings.Builder
	for {
		tok, err := r.Inside()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return b.String(), nil
		case xml.CharData:
			if r.c.MaxText > 0 && b.Len()+len(t) > r.c.MaxText {
				return "", fmt.Errorf("%w: text longer than %d bytes", r.c.TooLarge, r.c.MaxText)
			}
			b.Write(t)
		case xml.StartElement:
			if err := r.Skip(); err != nil {
				return "", err
			}
		}
	}
}

// InnerXML consumes the rest of the element whose start was just read and
// returns its content re-encoded from the tokens, so that every element in
// it names its namespace and it stands on its own. Processing instructions
// are dropped, and comments unless the Config keeps them.
func (r *Reader) InnerXML() (string, error) {
	tok, err := r.Inside()
	if err != nil {
		return "", err
	}
	if _, ok := tok.(xml.EndElement); ok {
		// The common case, <description media='audio'/>: no encoder needed.
		return "", nil
	}
	var b strings.Builder
	enc := xml.NewEncoder(&b)
	for d := 1; ; {
		switch t := tok.(type) {
		case xml.StartElement:
			d++
			t.Attr = CleanAttrs(t.Attr)
			if t.Name.Space == "" {
				// Say so, or the element would take its parent's namespace
				// when the inner XML is read again.
				t.Attr = append(t.Attr, NoNamespace)
			}
			tok = t
		case xml.EndElement:
			d--
		case xml.ProcInst:
			tok = nil
		case xml.Comment:
			if !r.c.KeepComments {
				tok = nil
			}
		}
		if d == 0 {
			break
		}
		if tok != nil {
			if err := enc.EncodeToken(tok); err != nil {
				return "", fmt.Errorf("%w: %w", r.c.Malformed, err)
			}
		}
		if tok, err = r.Inside(); err != nil {
			return "", err
		}
	}
	if err := enc.Flush(); err != nil {
		return "", fmt.Errorf("%w: %w", r.c.Malformed, err)
	}
	return b.String(), nil
}

// IsXMLNS reports whether a is a namespace declaration, which the decoder
// has already folded into the names; writing it back would declare it twice.
func IsXMLNS(a xml.Attr) bool {
	return a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns")
}

// NoNamespace declares that an element is in no namespace.
var NoNamespace = xml.Attr{Name: xml.Name{Local: "xmlns"}, Value: ""}

// CleanAttrs returns attrs without their namespace declarations.
func CleanAttrs(attrs []xml.Attr) []xml.Attr {
	var out []xml.Attr
	for _, a := range attrs {
		if !IsXMLNS(a) {
			out = append(out, a)
		}
	}
	return out
}

// IsNCName reports whether s is a name without a colon, as XML namespaces
// require of local names.
func IsNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || unicode.IsLetter(r):
		case i > 0 && (r == '-' || r == '.' || unicode.IsDigit(r) || unicode.In(r, unicode.Mn, unicode.Mc, unicode.Lm, unicode.Nd)):
		default:
			return false
		}
	}
	return true
}
