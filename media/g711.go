package media

// G.711 (ITU-T G.711, 1988): 8-bit logarithmic companding of 16-bit linear
// samples, µ-law (PCMU, RTP payload type 0) and A-law (PCMA, 8). These few
// lines replace a dependency (github.com/zaf/g711 does the same with
// tables): the encoders are the segment search of the standard, the
// decoders are exact inverses checked against every one of the 256 codes
// in the tests.

const (
	ulawBias = 0x84 // 132: moves the segment boundaries to powers of two
	ulawClip = 32635
)

// EncodeULaw returns the µ-law code of the linear sample s.
func EncodeULaw(s int16) byte {
	v := int(s)
	sign := 0
	if v < 0 {
		v = -v
		sign = 0x80
	}
	if v > ulawClip {
		v = ulawClip
	}
	v += ulawBias
	exponent := 7
	for mask := 0x4000; v&mask == 0 && exponent > 0; mask >>= 1 {
		exponent--
	}
	mantissa := (v >> (exponent + 3)) & 0x0F
	return ^byte(sign | exponent<<4 | mantissa)
}

// DecodeULaw returns the linear sample of the µ-law code u.
func DecodeULaw(u byte) int16 {
	u = ^u
	exponent := int(u>>4) & 0x07
	mantissa := int(u & 0x0F)
	v := ((mantissa << 3) + ulawBias) << exponent
	v -= ulawBias
	if u&0x80 != 0 {
		return int16(-v)
	}
	return int16(v)
}

// EncodeALaw returns the A-law code of the linear sample s.
func EncodeALaw(s int16) byte {
	v := int(s) >> 3 // A-law works on 13 bits
	sign := 0x80
	if v < 0 {
		v = -v - 1
		sign = 0
	}
	if v > 0x0FFF {
		v = 0x0FFF
	}
	var code int
	if v < 32 {
		code = v >> 1
	} else {
		exponent := 1
		for t := v >> 5; t > 1; t >>= 1 {
			exponent++
		}
		code = exponent<<4 | (v>>exponent)&0x0F
	}
	return byte((sign | code) ^ 0x55)
}

// DecodeALaw returns the linear sample of the A-law code a.
func DecodeALaw(a byte) int16 {
	a ^= 0x55
	exponent := int(a>>4) & 0x07
	mantissa := int(a & 0x0F)
	var v int
	if exponent == 0 {
		v = mantissa<<4 + 8
	} else {
		v = (mantissa<<4 + 0x108) << (exponent - 1)
	}
	if a&0x80 == 0 {
		return int16(-v)
	}
	return int16(v)
}
