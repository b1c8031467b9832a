package media

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrBadWAV is the error of a WAV file that is not 16-bit PCM mono, or is
// broken.
var ErrBadWAV = errors.New("media: bad WAV file")

// maxWAVChunk bounds a chunk that ReadWAV skips or reads into memory (the
// format chunk, a LIST): a broken size must not allocate gigabytes.
const maxWAVChunk = 1 << 20

// WAVReader is a Source that plays a WAV file (RIFF, 16-bit PCM, mono) at
// its own rate: it refuses to be read at another (no resampling, which
// would need a filter to sound right).
type WAVReader struct {
	// Rate is the file's sample rate in Hz.
	Rate int
	// Samples is the number of samples in the file's data chunk.
	Samples int64

	r      *bufio.Reader
	closer io.Closer
	left   int64 // samples not yet read
	buf    []byte
}

// OpenWAV opens the WAV file name for reading (see NewWAVReader).
func OpenWAV(name string) (*WAVReader, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadWAV, err)
	}
	w, err := NewWAVReader(f)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	w.closer = f
	return w, nil
}

// NewWAVReader reads the header of a WAV stream up to its data chunk. It
// refuses anything but uncompressed 16-bit PCM mono (format 1, or
// WAVE_FORMAT_EXTENSIBLE with the PCM subformat) with ErrBadWAV.
func NewWAVReader(r io.Reader) (*WAVReader, error) {
	br := bufio.NewReader(r)
	var riff [12]byte
	if _, err := io.ReadFull(br, riff[:]); err != nil {
		return nil, fmt.Errorf("%w: no RIFF header: %v", ErrBadWAV, err)
	}
	if string(riff[0:4]) != "RIFF" || string(riff[8:12]) != "WAVE" {
		return nil, fmt.Errorf("%w: not a RIFF WAVE file", ErrBadWAV)
	}
	w := &WAVReader{r: br}
	haveFormat := false
	for {
		var head [8]byte
		if _, err := io.ReadFull(br, head[:]); err != nil {
			return nil, fmt.Errorf("%w: no data chunk: %v", ErrBadWAV, err)
		}
		id, size := string(head[0:4]), int64(binary.LittleEndian.Uint32(head[4:8]))
		switch id {
		case "fmt ":
			if size < 16 || size > maxWAVChunk {
				return nil, fmt.Errorf("%w: format chunk of %d bytes", ErrBadWAV, size)
			}
			b := make([]byte, size+size%2)
			if _, err := io.ReadFull(br, b); err != nil {
				return nil, fmt.Errorf("%w: short format chunk: %v", ErrBadWAV, err)
			}
			format := binary.LittleEndian.Uint16(b[0:2])
			channels := binary.LittleEndian.Uint16(b[2:4])
			rate := binary.LittleEndian.Uint32(b[4:8])
			bits := binary.LittleEndian.Uint16(b[14:16])
			if format == 0xFFFE && size >= 40 {
				format = binary.LittleEndian.Uint16(b[24:26]) // the subformat GUID starts with the format code
			}
			if format != 1 || bits != 16 || channels != 1 {
				return nil, fmt.Errorf("%w: format %d, %d bits, %d channels: want PCM (1), 16 bits, 1 channel (sox in.wav -b 16 -c 1 out.wav converts)", ErrBadWAV, format, bits, channels)
			}
			if rate < 1000 || rate > 192000 {
				return nil, fmt.Errorf("%w: sample rate %d Hz", ErrBadWAV, rate)
			}
			w.Rate = int(rate)
			haveFormat = true
		case "data":
			if !haveFormat {
				return nil, fmt.Errorf("%w: data chunk before the format chunk", ErrBadWAV)
			}
			// A writer that streamed the file may have left the size at
			// 0 or 0xFFFFFFFF: read to the end then.
			if size == 0 || size == 0xFFFFFFFF {
				size = 1<<62 - 1
			}
			w.Samples = size / 2
			w.left = w.Samples
			return w, nil
		default:
			if size > maxWAVChunk {
				return nil, fmt.Errorf("%w: %q chunk of %d bytes before the data", ErrBadWAV, id, size)
			}
			if _, err := io.CopyN(io.Discard, br, size+size%2); err != nil {
				return nil, fmt.Errorf("%w: short %q chunk: %v", ErrBadWAV, id, err)
			}
		}
	}
}

// ReadFrame fills samples from the file. It refuses a rate other than the
// file's; at the end of the file it fills the rest with zeros and returns
// io.EOF.
func (w *WAVReader) ReadFrame(samples []int16, rate int) error {
	if rate != w.Rate {
		return fmt.Errorf("%w: the file is at %d Hz, the codec wants %d Hz (convert it: sox in.wav -r %d out.wav)", ErrBadWAV, w.Rate, rate, rate)
	}
	n := int64(len(samples))
	if n > w.left {
		n = w.left
	}
	if cap(w.buf) < int(n)*2 {
		w.buf = make([]byte, n*2)
	}
	b := w.buf[:n*2]
	got, err := io.ReadFull(w.r, b)
	got /= 2
	for i := 0; i < got; i++ {
		samples[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	clear(samples[got:])
	w.left -= int64(got)
	if err != nil || got < len(samples) {
		w.left = 0
		return io.EOF
	}
	return nil
}

// Close closes the file that OpenWAV opened.
func (w *WAVReader) Close() error {
	if w.closer == nil {
		return nil
	}
	return w.closer.Close()
}

// WAVWriter is a Sink that records to a WAV file: 16-bit PCM mono at the
// rate of the first frame (the codec's rate). The sizes in the header are
// written on Close.
type WAVWriter struct {
	f       io.WriteSeeker
	closer  io.Closer
	bw      *bufio.Writer
	rate    int
	samples int64
	buf     []byte
	err     error
}

// CreateWAV creates (or truncates) the file name for a WAVWriter.
func CreateWAV(name string) (*WAVWriter, error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, err
	}
	w := NewWAVWriter(f)
	w.closer = f
	return w, nil
}

// NewWAVWriter returns a WAVWriter that writes to f, which it needs to
// seek back to the header on Close.
func NewWAVWriter(f io.WriteSeeker) *WAVWriter {
	return &WAVWriter{f: f, bw: bufio.NewWriter(f)}
}

// Rate returns the sample rate of the file, 0 before the first frame.
func (w *WAVWriter) Rate() int { return w.rate }

// WriteFrame appends samples; a frame at another rate than the first is
// refused (a session has one codec, so one rate).
func (w *WAVWriter) WriteFrame(samples []int16, rate int) error {
	if w.err != nil {
		return w.err
	}
	if w.rate == 0 {
		if rate <= 0 {
			return fmt.Errorf("media: recording at rate %d Hz", rate)
		}
		w.rate = rate
		if _, err := w.bw.Write(wavHeader(rate, 0)); err != nil {
			w.err = err
			return err
		}
	} else if rate != w.rate {
		return fmt.Errorf("media: recording at %d Hz, a frame at %d Hz", w.rate, rate)
	}
	if cap(w.buf) < 2*len(samples) {
		w.buf = make([]byte, 2*len(samples))
	}
	b := w.buf[:2*len(samples)]
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
	}
	if _, err := w.bw.Write(b); err != nil {
		w.err = err
		return err
	}
	w.samples += int64(len(samples))
	return nil
}

// Close writes the header's sizes (an empty file at 8000 Hz if no frame
// came) and closes the file that CreateWAV created.
func (w *WAVWriter) Close() error {
	err := w.finish()
	if w.closer != nil {
		if cerr := w.closer.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func (w *WAVWriter) finish() error {
	if w.err != nil {
		return w.err
	}
	if w.rate == 0 {
		w.rate = 8000
		if _, err := w.bw.Write(wavHeader(w.rate, 0)); err != nil {
			return err
		}
	}
	if err := w.bw.Flush(); err != nil {
		return err
	}
	if _, err := w.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if _, err := w.f.Write(wavHeader(w.rate, w.samples)); err != nil {
		return err
	}
	_, err := w.f.Seek(0, io.SeekEnd)
	return err
}

// wavHeader is the 44-byte header of a 16-bit PCM mono WAV file of samples
// samples at rate Hz.
func wavHeader(rate int, samples int64) []byte {
	data := uint32(samples * 2)
	h := make([]byte, 44)
	copy(h[0:], "RIFF")
	binary.LittleEndian.PutUint32(h[4:], 36+data)
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1) // PCM
	binary.LittleEndian.PutUint16(h[22:], 1) // mono
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(rate*2)) // bytes a second
	binary.LittleEndian.PutUint16(h[32:], 2)              // bytes a frame
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], data)
	return h
}
