package media

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// FuzzWAVReader reads any bytes as a WAV file: an error or samples, never
// a panic, and never more samples than the bytes hold.
func FuzzWAVReader(f *testing.F) {
	f.Add(append(wavHeader(8000, 2), 1, 0, 2, 0))
	f.Add(wavHeader(16000, 0))
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVELIST\x03\x00\x00\x00abc\x00fmt \x10\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := NewWAVReader(bytes.NewReader(b))
		if err != nil {
			return
		}
		frame := make([]int16, FrameSamples(r.Rate)+1)
		read := 0
		for range len(b)/len(frame) + 2 {
			err := r.ReadFrame(frame, r.Rate)
			read += len(frame)
			if err != nil {
				break
			}
		}
		if r.left > 0 && read > len(b) {
			t.Fatalf("%d samples read from %d bytes and more left", read, len(b))
		}
	})
}

// FuzzReceive runs any packets, as (payload type, sequence number,
// payload) records, through the receiver's gate and the G.711 decoders:
// no panic, no frame larger than maxPayload samples, and the sink's
// silence bounded by maxConcealed per packet.
func FuzzReceive(f *testing.F) {
	f.Add([]byte{0, 0, 1, 0, 160, 0xFF})
	f.Add([]byte{0, 0xFF, 0xFF, 0, 2, 1, 2, 8, 0, 0, 0, 1, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := &receiver{pt: 0}
		var pcm []int16
		for len(b) >= 5 {
			pt, seq, size := b[0]&0x7F, binary.BigEndian.Uint16(b[1:3]), int(binary.BigEndian.Uint16(b[3:5]))
			b = b[5:]
			payload := b[:min(size, len(b))]
			b = b[len(payload):]
			why, missing := r.accept(pt, seq, len(payload))
			if why != "" {
				continue
			}
			if missing < 0 || missing > 1<<15 {
				t.Fatalf("missing %d", missing)
			}
			if len(payload) > maxPayload {
				t.Fatalf("a payload of %d bytes passed", len(payload))
			}
			pcm = ulaw{}.decode(pcm[:0], payload)
			pcm = alaw{}.decode(pcm[:0], payload)
			if len(pcm) != len(payload) {
				t.Fatalf("%d samples of %d bytes", len(pcm), len(payload))
			}
		}
	})
}
