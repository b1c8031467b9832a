package media

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// TestG711Codes checks each of the 256 codes of both laws: decoding then
// encoding gives the code back (µ-law's two zeros, 0x7F and 0xFF, both
// encode as 0xFF), and the decoded values grow with the code within each
// sign, as the standard's segments do.
func TestG711Codes(t *testing.T) {
	for c := range 256 {
		b := byte(c)
		if got := EncodeULaw(DecodeULaw(b)); got != b && !(b == 0x7F && got == 0xFF) {
			t.Errorf("µ-law %#02x decodes to %d, which encodes to %#02x", b, DecodeULaw(b), got)
		}
		if got := EncodeALaw(DecodeALaw(b)); got != b {
			t.Errorf("A-law %#02x decodes to %d, which encodes to %#02x", b, DecodeALaw(b), got)
		}
	}
	// Known points of G.711: µ-law 0xFF is 0, 0x80 the largest positive
	// (32124), 0x00 the largest negative; A-law 0xD5 is +8, 0x55 -8,
	// 0xAA +32256.
	for _, k := range []struct {
		ulaw bool
		code byte
		want int16
	}{{true, 0xFF, 0}, {true, 0x80, 32124}, {true, 0x00, -32124}, {false, 0xD5, 8}, {false, 0x55, -8}, {false, 0xAA, 32256}} {
		got := DecodeALaw(k.code)
		if k.ulaw {
			got = DecodeULaw(k.code)
		}
		if got != k.want {
			t.Errorf("decode(%#02x, µ-law %v) = %d, want %d", k.code, k.ulaw, got, k.want)
		}
	}
}

// TestG711Error checks the quantisation error over every 16-bit sample:
// within half a step of the segment (at most 1/32 of the value, plus the
// smallest step near zero), and the sign kept.
func TestG711Error(t *testing.T) {
	for v := -32768; v <= 32767; v++ {
		s := int16(v)
		for _, law := range []struct {
			name string
			got  int16
		}{{"µ-law", DecodeULaw(EncodeULaw(s))}, {"A-law", DecodeALaw(EncodeALaw(s))}} {
			diff := math.Abs(float64(law.got) - float64(s))
			limit := math.Abs(float64(s))/16 + 16
			if math.Abs(float64(s)) > 32124 {
				limit = 32768 - 32124 + 1024 // the clipped top
			}
			if diff > limit || (s > 64 && law.got <= 0) || (s < -64 && law.got >= 0) {
				t.Fatalf("%s: %d comes back as %d", law.name, s, law.got)
			}
		}
	}
}

// TestToneLevelAndFrequency: the tone has its level and frequency, and the
// meters measure them.
func TestToneLevelAndFrequency(t *testing.T) {
	for _, k := range []struct {
		hz, level float64
		rate      int
	}{{440, 0, 8000}, {660, -6, 8000}, {1000, -40, 48000}} {
		tone := &Tone{Frequency: k.hz, Level: k.level}
		buf := make([]int16, k.rate) // one second, read frame by frame: the phase must carry over
		n := FrameSamples(k.rate)
		for i := 0; i < len(buf); i += n {
			if err := tone.ReadFrame(buf[i:i+n], k.rate); err != nil {
				t.Fatal(err)
			}
		}
		want := k.level
		if want == 0 {
			want = DefaultToneLevel
		}
		if got := LevelDBFS(buf); math.Abs(got-(want-3.01)) > 0.05 {
			t.Errorf("%v: level %.2f dBFS, want %.2f", k, got, want-3.01)
		}
		if got := ToneLevel(buf, k.rate, k.hz); math.Abs(got-(want-3.01)) > 0.1 {
			t.Errorf("%v: Goertzel level %.2f dBFS, want %.2f", k, got, want-3.01)
		}
		if got := ToneLevel(buf, k.rate, k.hz*1.5); got > want-40 {
			t.Errorf("%v: %.2f dBFS at %.0f Hz, want far below", k, got, k.hz*1.5)
		}
		if got := Frequency(buf, k.rate); math.Abs(got-k.hz) > 0.5 {
			t.Errorf("%v: frequency %.2f Hz", k, got)
		}
	}
	if LevelDBFS(nil) != Silence || LevelDBFS(make([]int16, 160)) != Silence || Frequency(make([]int16, 160), 8000) != 0 {
		t.Error("silence is not Silence, or has a frequency")
	}
}

func TestParseSource(t *testing.T) {
	src, closeSrc, err := ParseSource("tone:660:-30")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = closeSrc() }()
	if tone, ok := src.(*Tone); !ok || tone.Frequency != 660 || tone.Level != -30 {
		t.Errorf("tone:660:-30 gives %#v", src)
	}
	for _, bad := range []string{"tone:", "tone:abc", "tone:-5", "tone:NaN", "tone:440:3", "tone:440:x", "no-such-file.wav"} {
		if _, _, err := ParseSource(bad); err == nil {
			t.Errorf("ParseSource(%q) took it", bad)
		}
	}
}

// TestWAVRoundTrip writes a tone with WAVWriter, checks the header field
// by field, and reads the samples back with WAVReader.
func TestWAVRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tone.wav")
	w, err := CreateWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	tone := &Tone{Frequency: 440}
	var sent []int16
	frame := make([]int16, 160)
	for range 10 {
		if err := tone.ReadFrame(frame, 8000); err != nil {
			t.Fatal(err)
		}
		sent = append(sent, frame...)
		if err := w.WriteFrame(frame, 8000); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteFrame(frame, 48000); err == nil {
		t.Error("a frame at another rate was taken")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 44+2*len(sent) {
		t.Fatalf("file of %d bytes, want %d", len(b), 44+2*len(sent))
	}
	le := binary.LittleEndian
	if string(b[0:4]) != "RIFF" || le.Uint32(b[4:]) != uint32(len(b)-8) || string(b[8:16]) != "WAVEfmt " ||
		le.Uint16(b[20:]) != 1 || le.Uint16(b[22:]) != 1 || le.Uint32(b[24:]) != 8000 || le.Uint32(b[28:]) != 16000 ||
		le.Uint16(b[32:]) != 2 || le.Uint16(b[34:]) != 16 || string(b[36:40]) != "data" || le.Uint32(b[40:]) != uint32(2*len(sent)) {
		t.Errorf("header % x", b[:44])
	}
	r, err := OpenWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	if r.Rate != 8000 || r.Samples != int64(len(sent)) {
		t.Errorf("reader: %d Hz, %d samples", r.Rate, r.Samples)
	}
	if err := r.ReadFrame(frame, 16000); !errors.Is(err, ErrBadWAV) {
		t.Errorf("reading at 16000 Hz: %v, want ErrBadWAV", err)
	}
	got := make([]int16, len(sent))
	if err := r.ReadFrame(got, 8000); err != nil {
		t.Fatal(err)
	}
	if !equal(got, sent) {
		t.Error("samples read differ from those written")
	}
	if err := r.ReadFrame(frame, 8000); err != io.EOF {
		t.Errorf("after the end: %v, want io.EOF", err)
	}
	for _, s := range frame {
		if s != 0 {
			t.Fatal("the frame after the end is not silence")
		}
	}
}

// TestWAVRefused: what the reader refuses, each with ErrBadWAV.
func TestWAVRefused(t *testing.T) {
	header := func(format, channels uint16, rate uint32, bits uint16) []byte {
		h := wavHeader(int(rate), 4)
		binary.LittleEndian.PutUint16(h[20:], format)
		binary.LittleEndian.PutUint16(h[22:], channels)
		binary.LittleEndian.PutUint16(h[34:], bits)
		return append(h, 0, 0, 0, 0, 0, 0, 0, 0)
	}
	for name, b := range map[string][]byte{
		"empty":     nil,
		"not RIFF":  []byte("RIFX\x00\x00\x00\x00WAVE"),
		"stereo":    header(1, 2, 8000, 16),
		"8 bits":    header(1, 1, 8000, 8),
		"float":     header(3, 1, 8000, 32),
		"rate 0":    header(1, 1, 0, 16),
		"no data":   wavHeader(8000, 0)[:36],
		"huge LIST": append([]byte("RIFF\x00\x00\x00\x00WAVELIST"), 0xFF, 0xFF, 0xFF, 0x7F),
	} {
		if _, err := NewWAVReader(bytes.NewReader(b)); !errors.Is(err, ErrBadWAV) {
			t.Errorf("%s: %v, want ErrBadWAV", name, err)
		}
	}
	// A LIST chunk before the format, as sox and ffmpeg write, is skipped.
	list := append([]byte("RIFF\x00\x00\x00\x00WAVELIST\x03\x00\x00\x00abc\x00"), wavHeader(16000, 1)[12:]...)
	list = append(list, 1, 0)
	r, err := NewWAVReader(bytes.NewReader(list))
	if err != nil || r.Rate != 16000 || r.Samples != 1 {
		t.Errorf("with a LIST chunk: %+v, %v", r, err)
	}
}
