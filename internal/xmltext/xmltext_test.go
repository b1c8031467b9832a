package xmltext

import (
	"encoding/xml"
	"errors"
	"testing"
)

func TestValid(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"", true},
		{"call-1", true},
		{"tab\tnewline\ncr\r", true},
		{"Jülïet ☎ 𝄞", true},
		{"\uFFFD", true}, // the character itself, not a bad byte
		{"a\xffb", false},
		{"\xed\xa0\x80", false}, // an encoded surrogate
		{"nul\x00", false},
		{"form feed\f", false},
		{"escape\x1b[2J", false},
		{"\uFFFE", false},
		{"\uFFFF", false},
	} {
		if got := Valid(tc.s); got != tc.want {
			t.Errorf("Valid(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestCheck(t *testing.T) {
	errNot := errors.New("not text")
	ok := []xml.Token{xml.StartElement{Name: xml.Name{Local: "a"}, Attr: []xml.Attr{{Name: xml.Name{Local: "id"}, Value: "x"}}}, xml.CharData("t"), xml.EndElement{Name: xml.Name{Local: "a"}}}
	if err := Check(ok, errNot); err != nil {
		t.Errorf("Check of good tokens: %v", err)
	}
	badAttr := []xml.Token{xml.StartElement{Name: xml.Name{Local: "a"}, Attr: []xml.Attr{{Name: xml.Name{Local: "id"}, Value: "x\x00"}}}}
	if err := Check(badAttr, errNot); !errors.Is(err, errNot) || err.Error() != "not text: attribute id of <a>" {
		t.Errorf("Check of a bad attribute: %v", err)
	}
	if err := Check([]xml.Token{xml.CharData("\xff")}, errNot); !errors.Is(err, errNot) {
		t.Errorf("Check of bad text: %v", err)
	}
}
