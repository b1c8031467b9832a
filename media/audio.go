package media

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// FrameDuration is the length of audio in one RTP packet: 20 ms, the
// packet time every deployed client sends (50 packets a second).
const FrameDuration = 20 * time.Millisecond

// FrameSamples returns the number of samples of one frame at rate Hz.
func FrameSamples(rate int) int { return rate / int(time.Second/FrameDuration) }

// A Source gives the audio to send: 16-bit mono PCM, one frame at a time.
// The session calls it from one goroutine, every FrameDuration once the
// connection is up.
type Source interface {
	// ReadFrame fills samples (one frame) at rate Hz. It returns io.EOF
	// when the audio has ended (the session then sends silence), or an
	// error if it cannot give audio at rate.
	ReadFrame(samples []int16, rate int) error
}

// A Sink takes the audio that was heard: 16-bit mono PCM, one frame at a
// time, from one goroutine of the session.
type Sink interface {
	// WriteFrame takes one decoded frame at rate Hz. The session does not
	// keep samples after the call returns. An error stops the session
	// from writing to the Sink again (it is logged and kept in Stats).
	WriteFrame(samples []int16, rate int) error
}

// DefaultToneLevel is the level of the default tone: quiet, well below
// full scale, so that a test call is not a shock in a headset.
const DefaultToneLevel = -20.0

// Tone is a Source of a sine wave.
type Tone struct {
	// Frequency is the frequency in Hz.
	Frequency float64
	// Level is the peak level in dBFS (0 is full scale); 0 means
	// DefaultToneLevel.
	Level float64

	phase float64 // radians, kept between frames so that the wave is continuous
}

// ReadFrame fills samples with the next part of the sine wave.
func (t *Tone) ReadFrame(samples []int16, rate int) error {
	if rate <= 0 {
		return fmt.Errorf("media: tone at rate %d Hz", rate)
	}
	level := t.Level
	if level == 0 {
		level = DefaultToneLevel
	}
	amplitude := 32767 * math.Pow(10, level/20)
	step := 2 * math.Pi * t.Frequency / float64(rate)
	for i := range samples {
		samples[i] = int16(math.Round(amplitude * math.Sin(t.phase)))
		t.phase += step
		if t.phase >= 2*math.Pi {
			t.phase -= 2 * math.Pi
		}
	}
	return nil
}

// ErrBadSource is the error of ParseSource for a SOURCE it cannot read.
var ErrBadSource = errors.New("media: bad audio source")

// ParseSource returns the Source named by s, as the --play flag takes it:
// "tone:HZ" (a tone at DefaultToneLevel), "tone:HZ:DBFS" (at that level),
// or else the name of a WAV file (16-bit PCM mono), opened with OpenWAV.
// The caller closes the returned closer (a no-op for a tone).
func ParseSource(s string) (Source, func() error, error) {
	if rest, ok := strings.CutPrefix(s, "tone:"); ok {
		hz, level, _ := strings.Cut(rest, ":")
		f, err := strconv.ParseFloat(hz, 64)
		if err != nil || f <= 0 || f > 20000 || math.IsNaN(f) {
			return nil, nil, fmt.Errorf("%w: tone frequency %q (want 1 to 20000 Hz)", ErrBadSource, hz)
		}
		t := &Tone{Frequency: f}
		if level != "" {
			l, err := strconv.ParseFloat(level, 64)
			if err != nil || l >= 0 || l < -96 {
				return nil, nil, fmt.Errorf("%w: tone level %q (want -96 to below 0 dBFS)", ErrBadSource, level)
			}
			t.Level = l
		}
		return t, func() error { return nil }, nil
	}
	r, err := OpenWAV(s)
	if err != nil {
		return nil, nil, err
	}
	return r, r.Close, nil
}

// Silence is the level LevelDBFS gives for a frame of zeros.
const Silence = -120.0

// LevelDBFS returns the RMS level of samples in dBFS, where a full-scale
// sine wave is about -3 dBFS; Silence for no samples or all zeros.
func LevelDBFS(samples []int16) float64 {
	if len(samples) == 0 {
		return Silence
	}
	var sum float64
	for _, s := range samples {
		v := float64(s)
		sum += v * v
	}
	if sum == 0 {
		return Silence
	}
	db := 10 * math.Log10(sum/float64(len(samples))/(32768*32768))
	return math.Max(db, Silence)
}

// ToneLevel returns the level in dBFS of the component at hz of samples
// taken at rate Hz, by the Goertzel algorithm: a sine wave of peak level L
// dBFS at hz gives about L-3 (its RMS), other frequencies far less. Tests
// and the demo use it to check that the other side's tone was heard.
func ToneLevel(samples []int16, rate int, hz float64) float64 {
	if len(samples) == 0 || rate <= 0 {
		return Silence
	}
	w := 2 * math.Pi * hz / float64(rate)
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, x := range samples {
		s0 := float64(x)/32768 + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	// For a sine of amplitude A over N samples, power is (A·N/2)²; its RMS
	// is A/√2.
	n := float64(len(samples))
	rms2 := 2 * power / (n * n)
	if rms2 <= 0 {
		return Silence
	}
	return math.Max(10*math.Log10(rms2), Silence)
}

// Frequency estimates the frequency in Hz of the tone in samples taken at
// rate Hz, from the rising zero crossings between the first and the last
// one (interpolated between samples); 0 when there are fewer than two.
func Frequency(samples []int16, rate int) float64 {
	first, last := -1.0, -1.0
	crossings := 0
	for i := 1; i < len(samples); i++ {
		a, b := float64(samples[i-1]), float64(samples[i])
		if a < 0 && b >= 0 {
			at := float64(i-1) + -a/(b-a)
			if first < 0 {
				first = at
			} else {
				crossings++
			}
			last = at
		}
	}
	if crossings == 0 || rate <= 0 {
		return 0
	}
	return float64(crossings) * float64(rate) / (last - first)
}
