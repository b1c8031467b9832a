// Package xmltext tells whether a value can be written as XML text as it
// is. encoding/xml writes U+FFFD for invalid UTF-8 and for characters XML
// 1.0 cannot carry (a NUL, a form feed), so the reader would get another
// value than the one written: an id that no longer matches its call, a
// longer text over a limit. The encoders of jmi and jingle refuse such a
// value instead.
package xmltext

import (
	"encoding/xml"
	"fmt"
	"unicode/utf8"
)

// Valid reports whether s is valid UTF-8 of XML 1.0 Chars only (XML 1.0
// §2.2; RFC 6120 §11.6).
func Valid(s string) bool {
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			// A U+FFFD in the input is fine; one decoded from a bad byte
			// is not: utf8.ValidString tells them apart below.
		case r == 0x9 || r == 0xA || r == 0xD,
			r >= 0x20 && r <= 0xD7FF,
			r >= 0xE000 && r <= 0xFFFD,
			r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
	}
	return utf8.ValidString(s)
}

// Check returns nil if every attribute value and every text of toks is
// Valid, or else an error wrapping notText that names the first one that
// is not.
func Check(toks []xml.Token, notText error) error {
	for _, tok := range toks {
		switch t := tok.(type) {
		case xml.StartElement:
			for _, a := range t.Attr {
				if !Valid(a.Value) {
					return fmt.Errorf("%w: attribute %s of <%s>", notText, a.Name.Local, t.Name.Local)
				}
			}
		case xml.CharData:
			if !Valid(string(t)) {
				return fmt.Errorf("%w: text", notText)
			}
		}
	}
	return nil
}
