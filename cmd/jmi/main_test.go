package main

import (
	"flag"
	"io"
	"slices"
	"testing"
)

// TestParseFlags: flags go before or after the positional arguments, up to
// a "--"; -h ends with status 0, a bad flag with status 2.
func TestParseFlags(t *testing.T) {
	tests := []struct {
		args       []string
		media      string
		positional []string
		status     int // of the error; -1 for none
	}{
		{[]string{"juliet@capulet.example"}, "audio", []string{"juliet@capulet.example"}, -1},
		{[]string{"--media", "video", "juliet@capulet.example"}, "video", []string{"juliet@capulet.example"}, -1},
		{[]string{"juliet@capulet.example", "--media", "video"}, "video", []string{"juliet@capulet.example"}, -1},
		{[]string{"a", "--media", "video", "b"}, "video", []string{"a", "b"}, -1},
		{[]string{"--", "--media", "video"}, "audio", []string{"--media", "video"}, -1},
		{[]string{"a", "--", "-b"}, "audio", []string{"a", "-b"}, -1},
		{[]string{"a", "-h"}, "audio", nil, exitOK},
		{[]string{"a", "--bogus"}, "audio", nil, exitUsage},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("call", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		media := fs.String("media", "audio", "")
		err := parseFlags(fs, tt.args)
		if tt.status >= 0 {
			se, ok := err.(*statusError)
			if !ok || se.status != tt.status {
				t.Errorf("%q: error %v, want status %d", tt.args, err, tt.status)
			}
			continue
		}
		if err != nil || *media != tt.media || !slices.Equal(fs.Args(), tt.positional) {
			t.Errorf("%q: media %q, positional %q, error %v; want %q, %q", tt.args, *media, fs.Args(), err, tt.media, tt.positional)
		}
	}
}
