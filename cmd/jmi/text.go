package main

import (
	"fmt"
	"strings"
	"unicode"
)

// clean makes text from the network safe to print on a terminal: every
// control character (C0, DEL, C1: newline, tab, escape, bell…) and every
// bidirectional formatting character becomes a visible escape (\n, \x1b,
// \u202e), so that no peer can forge a line of output, move the cursor, or
// reorder what a line shows. Everything else stays as it is. The JSON
// outputs need none of this: encoding/json escapes by itself.
func clean(s string) string {
	if strings.IndexFunc(s, unsafeRune) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == unicode.ReplacementChar || !unsafeRune(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}

// unsafeRune reports whether r is a control character or a bidirectional
// formatting character (U+200E, U+200F, U+202A–U+202E, U+2066–U+2069).
func unsafeRune(r rune) bool {
	return unicode.IsControl(r) || r == '\u200e' || r == '\u200f' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}
