package media

import (
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/jmi-xmpp/jmi/jingle"
)

// Codec is an audio codec a Session offers or accepts.
type Codec struct {
	// Name is the RTP encoding name ("PCMU").
	Name string
	// PayloadType is the RTP payload type number.
	PayloadType uint8
	// ClockRate is the RTP clock rate, which for these codecs is the
	// sample rate, in Hz.
	ClockRate int
}

// The codecs a Session implements: G.711 µ-law and A-law, both 8 kHz.
// Opus is not among them (yet): the one pure-Go encoder the module proxy
// serves, gopus v0.1.1, is a first release of 117 MB, and with its decoder
// costs 2.2 % of a core per call side here, 150 times G.711 (README,
// "Why no Opus yet").
var (
	// PCMU is G.711 µ-law, payload type 0: every deployed client
	// accepts it.
	PCMU = Codec{Name: "PCMU", PayloadType: 0, ClockRate: 8000}
	// PCMA is G.711 A-law, payload type 8.
	PCMA = Codec{Name: "PCMA", PayloadType: 8, ClockRate: 8000}
)

// DefaultCodecs are offered in this order: PCMU first, which Dino,
// Conversations and Monal all accept.
var DefaultCodecs = []Codec{PCMU, PCMA}

// String returns the codec's name and rate, "PCMU/8000".
func (c Codec) String() string {
	if c.Name == "" {
		return "none"
	}
	return c.Name + "/" + itoa(c.ClockRate)
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

// matches reports whether the payload type p of a Jingle description is c:
// the same name (case does not matter) and rate, or, for a static payload
// type without a name, the same number.
func (c Codec) matches(p jingle.PayloadType) bool {
	if p.Name == "" {
		return p.ID == c.PayloadType && p.ID < 96
	}
	rate := int(p.Clockrate)
	if rate == 0 && p.ID < 96 {
		rate = 8000 // the static G.711 types are 8 kHz (RFC 3551)
	}
	return strings.EqualFold(p.Name, c.Name) && rate == c.ClockRate && p.Channels <= 1
}

// parameters is c as pion registers it.
func (c Codec) parameters() webrtc.RTPCodecParameters {
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: "audio/" + c.Name, ClockRate: uint32(c.ClockRate)},
		PayloadType:        webrtc.PayloadType(c.PayloadType),
	}
}

// codec returns the encoder and decoder of c, or nil when c is not
// implemented.
func (c Codec) codec() codecImpl {
	switch {
	case strings.EqualFold(c.Name, "PCMU") && c.ClockRate == 8000:
		return ulaw{}
	case strings.EqualFold(c.Name, "PCMA") && c.ClockRate == 8000:
		return alaw{}
	}
	return nil
}

// codecImpl turns a frame of samples into an RTP payload and back.
type codecImpl interface {
	// encode appends the payload of pcm to dst.
	encode(dst []byte, pcm []int16) []byte
	// decode appends the samples of payload to dst; any payload decodes.
	decode(dst []int16, payload []byte) []int16
}

type ulaw struct{}

func (ulaw) encode(dst []byte, pcm []int16) []byte {
	for _, s := range pcm {
		dst = append(dst, EncodeULaw(s))
	}
	return dst
}

func (ulaw) decode(dst []int16, payload []byte) []int16 {
	for _, b := range payload {
		dst = append(dst, DecodeULaw(b))
	}
	return dst
}

type alaw struct{}

func (alaw) encode(dst []byte, pcm []int16) []byte {
	for _, s := range pcm {
		dst = append(dst, EncodeALaw(s))
	}
	return dst
}

func (alaw) decode(dst []int16, payload []byte) []int16 {
	for _, b := range payload {
		dst = append(dst, DecodeALaw(b))
	}
	return dst
}
