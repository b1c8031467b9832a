// Package stanzalog reads the stanza log of Dino 0.4.2 (dino-im
// --print-xmpp=all): what it sent and received, one element at a time.
package stanzalog

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Dino's stanza log (--print-xmpp=all) is a header line per top-level
// element, then the element in a notation of its own: one tag or text
// per line, each name and attribute qualified by its namespace in braces:
//
//	XMPP OUT [juliet@localhost stream:0x55… thread:0x55… 2026-12-01T22:31:20+0000]
//	<{jabber:client}:message {jabber:client}:to='romeo@localhost/desk' {jabber:client}:type='chat'>
//	  <{urn:xmpp:jingle-message:0}:proceed {urn:xmpp:jingle-message:0}:id='…' />
//	</{jabber:client}:message>
//
// "XMPP IN ROOT" and "XMPP OUT ROOT" are stream headers, never closed.

// Stanza is one top-level element Dino sent or received.
type Stanza struct {
	// In: Dino received it; otherwise Dino sent it.
	In bool
	*Element
}

// String is the stanza as XML, after "sent" or "received".
func (s Stanza) String() string {
	dir := "sent"
	if s.In {
		dir = "received"
	}
	return dir + " " + s.Element.String()
}

// Element is an XML element of the stanza log.
type Element struct {
	Space, Name string
	// Attrs by local name, without namespace declarations.
	Attrs    map[string]string
	Children []*Element
	// Text is the element's text, its lines joined by spaces.
	Text string
}

// Attr is the value of the attribute, "" if absent.
func (e *Element) Attr(name string) string {
	if e == nil {
		return ""
	}
	return e.Attrs[name]
}

// Child is the first child with the namespace and name ("" matches any).
func (e *Element) Child(space, name string) *Element {
	if e == nil {
		return nil
	}
	for _, c := range e.Children {
		if (space == "" || c.Space == space) && (name == "" || c.Name == name) {
			return c
		}
	}
	return nil
}

// Find is the first element below e, depth first, with the namespace and
// name ("" matches any).
func (e *Element) Find(space, name string) *Element {
	if e == nil {
		return nil
	}
	for _, c := range e.Children {
		if (space == "" || c.Space == space) && (name == "" || c.Name == name) {
			return c
		}
		if f := c.Find(space, name); f != nil {
			return f
		}
	}
	return nil
}

// String renders the element as XML, for failure messages.
func (e *Element) String() string {
	if e == nil {
		return "<nil>"
	}
	var b strings.Builder
	e.write(&b, "")
	return b.String()
}

func (e *Element) write(b *strings.Builder, parentSpace string) {
	fmt.Fprintf(b, "<%s", e.Name)
	if e.Space != parentSpace {
		fmt.Fprintf(b, " xmlns='%s'", e.Space)
	}
	for k, v := range e.Attrs {
		fmt.Fprintf(b, " %s='%s'", k, v)
	}
	if len(e.Children) == 0 && e.Text == "" {
		b.WriteString("/>")
		return
	}
	b.WriteString(">" + e.Text)
	for _, c := range e.Children {
		c.write(b, e.Space)
	}
	fmt.Fprintf(b, "</%s>", e.Name)
}

var (
	logHeader = regexp.MustCompile(`^XMPP (IN|OUT)( ROOT)? \[`)
	startTag  = regexp.MustCompile(`^<\{([^}]*)\}:([^\s/>]+)(.*?)(/?)>$`)
	endTag    = regexp.MustCompile(`^</\{[^}]*\}:[^\s>]+>$`)
	attribute = regexp.MustCompile(`\{([^}]*)\}:([^\s=]+)='([^']*)'`)
)

const nsXMLNS = "http://www.w3.org/2000/xmlns/"

// Read reads Dino's stanza log until r ends and hands each complete
// stanza to add as soon as its last line is read; lines that are not in
// a stanza (Dino's other output, an entry cut short) are passed over.
func Read(r io.Reader, add func(Stanza)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	var (
		in, inStanza bool
		stack        []*Element
	)
	for sc.Scan() {
		line := sc.Text()
		if m := logHeader.FindStringSubmatch(line); m != nil {
			// A stream header is one unclosed line: not a stanza.
			in, inStanza, stack = m[1] == "IN", m[2] == "", nil
			continue
		}
		if !inStanza {
			continue
		}
		text := strings.TrimSpace(line)
		switch {
		case text == "":
			continue
		case endTag.MatchString(text):
			if len(stack) == 0 {
				inStanza = false
				continue
			}
			done := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				add(Stanza{In: in, Element: done})
				inStanza = false
			}
		case startTag.MatchString(text):
			m := startTag.FindStringSubmatch(text)
			e := &Element{Space: m[1], Name: m[2], Attrs: map[string]string{}}
			for _, a := range attribute.FindAllStringSubmatch(m[3], -1) {
				if a[1] != nsXMLNS {
					e.Attrs[a[2]] = a[3]
				}
			}
			if len(stack) > 0 {
				parent := stack[len(stack)-1]
				parent.Children = append(parent.Children, e)
			}
			if m[4] == "/" {
				if len(stack) == 0 {
					add(Stanza{In: in, Element: e})
					inStanza = false
				}
				continue
			}
			stack = append(stack, e)
		default:
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.Text = strings.TrimSpace(top.Text + " " + text)
			}
		}
	}
}
