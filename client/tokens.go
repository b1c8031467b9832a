package client

import (
	"encoding/xml"
	"io"

	"github.com/jmi-xmpp/jmi"
)

// collected is one stanza as tokens, copied off the stream, and about how
// many bytes it took there.
type collected struct {
	toks []xml.Token
	size int
}

// collectStanza copies the tokens of one stanza from r, which mellium's
// stream decoder already parsed, so that the loop reads them without a
// second parse. Past jmi.MaxStanzaSize it keeps none (the Device refuses
// the stanza by its size) but reads on to the end. The size counts names,
// attributes and text as written, without the markup's punctuation
// (enough for a limit, not a byte count).
func collectStanza(r xml.TokenReader) (collected, error) {
	// A JMI message is about ten to twenty tokens: one allocation for them,
	// not one per doubling.
	c := collected{toks: make([]xml.Token, 0, 16)}
	for {
		tok, err := r.Token()
		if tok != nil {
			c.size += tokenSize(tok)
			if c.size <= jmi.MaxStanzaSize {
				c.toks = append(c.toks, xml.CopyToken(tok))
			} else {
				c.toks = nil
			}
		}
		if err == io.EOF {
			return c, nil
		}
		if err != nil {
			return c, err
		}
	}
}

func tokenSize(tok xml.Token) int {
	switch t := tok.(type) {
	case xml.StartElement:
		n := len(t.Name.Local) + len(t.Name.Space)
		for _, a := range t.Attr {
			n += len(a.Name.Local) + len(a.Name.Space) + len(a.Value)
		}
		return n
	case xml.EndElement:
		return len(t.Name.Local)
	case xml.CharData:
		return len(t)
	case xml.Comment:
		return len(t)
	case xml.ProcInst:
		return len(t.Target) + len(t.Inst)
	case xml.Directive:
		return len(t)
	}
	return 0
}

// tokenSlice reads tokens from a slice.
type tokenSlice struct {
	toks []xml.Token
	i    int
}

func (s *tokenSlice) Token() (xml.Token, error) {
	if s.i == len(s.toks) {
		return nil, io.EOF
	}
	tok := s.toks[s.i]
	s.i++
	return tok, nil
}
