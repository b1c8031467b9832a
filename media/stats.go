package media

import (
	"fmt"
	"math"
	"sort"
	"sync"

	"github.com/pion/webrtc/v4"
)

// levelWindow is the number of frames the levels of Stats are measured
// over: one second of 20 ms frames.
const levelWindow = 50

// Stats is what the media log shows of a Session.
type Stats struct {
	// State is the Session's state.
	State State
	// ICE and DTLS are the states of pion's ICE connection and DTLS
	// transport.
	ICE  webrtc.ICEConnectionState
	DTLS webrtc.DTLSTransportState
	// SRTP is the SRTP protection profile once DTLS negotiated it
	// ("SRTP_AES128_CM_HMAC_SHA1_80"), else "".
	SRTP string
	// Codec is the codec sent and received, zero before the negotiation.
	Codec Codec
	// SelectedPair is the candidate pair ICE selected, as "local <->
	// remote", or "".
	SelectedPair string
	// Pairs are the candidate pairs ICE checked.
	Pairs []CandidatePair
	// LocalCandidates is the number of local candidates gathered.
	LocalCandidates int
	// PacketsSent, BytesSent, PacketsReceived and BytesReceived count
	// RTP packets and their payload bytes; PacketsDropped the received
	// packets that were not decoded (wrong payload type, empty or too
	// large, late or repeated), PacketsLost the gaps in the sequence.
	PacketsSent, BytesSent         uint64
	PacketsReceived, BytesReceived uint64
	PacketsDropped, PacketsLost    uint64
	// SentLevel and ReceivedLevel are the RMS levels in dBFS of the last
	// second of audio sent and heard (Silence for none).
	SentLevel, ReceivedLevel float64
	// SinkError is the error that stopped the recording, or nil.
	SinkError error
}

// CandidatePair is a pair of ICE candidates and the state of its checks.
type CandidatePair struct {
	// Local and Remote are the candidates, "udp4 host 127.0.0.1:5000".
	Local, Remote string
	// State is the state of the checks: "succeeded", "in-progress", …
	State string
	// Nominated reports a nominated pair.
	Nominated bool
	// RTT is the current round trip time in seconds, 0 before a response.
	RTT float64
}

// String returns the pair as "local <-> remote (state)".
func (p CandidatePair) String() string {
	s := p.Local + " <-> " + p.Remote + " (" + p.State
	if p.Nominated {
		s += ", nominated"
	}
	return s + ")"
}

// counters are what the media goroutines count, read by Stats.
type counters struct {
	mu                             sync.Mutex
	state                          State
	codec                          Codec
	local                          int
	packetsSent, bytesSent         uint64
	packetsReceived, bytesReceived uint64
	droppedN, lost                 uint64
	sentLevel, receivedLevel       levelMeter
	sinkErr                        error
}

func newCounters() *counters { return &counters{} }

func (c *counters) setState(s State) { c.mu.Lock(); c.state = s; c.mu.Unlock() }
func (c *counters) setCodec(k Codec) { c.mu.Lock(); c.codec = k; c.mu.Unlock() }
func (c *counters) localCandidate()  { c.mu.Lock(); c.local++; c.mu.Unlock() }
func (c *counters) localCount() int  { c.mu.Lock(); defer c.mu.Unlock(); return c.local }
func (c *counters) dropped()         { c.mu.Lock(); c.droppedN++; c.mu.Unlock() }
func (c *counters) sinkFailed(err error) {
	c.mu.Lock()
	c.sinkErr = err
	c.mu.Unlock()
}

func (c *counters) sent(bytes int, pcm []int16) {
	ms := meanSquare(pcm)
	c.mu.Lock()
	c.packetsSent++
	c.bytesSent += uint64(bytes)
	c.sentLevel.add(ms)
	c.mu.Unlock()
}

func (c *counters) received(bytes int, pcm []int16, missing int) {
	ms := meanSquare(pcm)
	c.mu.Lock()
	c.packetsReceived++
	c.bytesReceived += uint64(bytes)
	c.lost += uint64(missing)
	c.receivedLevel.add(ms)
	c.mu.Unlock()
}

// levelMeter keeps the mean squares of the last levelWindow frames.
type levelMeter struct {
	frames [levelWindow]float64
	n, i   int
}

func (m *levelMeter) add(ms float64) {
	m.frames[m.i] = ms
	m.i = (m.i + 1) % levelWindow
	if m.n < levelWindow {
		m.n++
	}
}

func (m *levelMeter) dBFS() float64 {
	if m.n == 0 {
		return Silence
	}
	var sum float64
	for _, v := range m.frames[:m.n] {
		sum += v
	}
	if sum == 0 {
		return Silence
	}
	return math.Max(10*math.Log10(sum/float64(m.n)), Silence)
}

// meanSquare is the mean of the squared samples, full scale 1.
func meanSquare(pcm []int16) float64 {
	if len(pcm) == 0 {
		return 0
	}
	var sum float64
	for _, s := range pcm {
		v := float64(s) / 32768
		sum += v * v
	}
	return sum / float64(len(pcm))
}

// Stats returns what the media log shows: the states, the candidate pairs
// and the selected one from pion's statistics, the RTP counts and levels.
func (s *Session) Stats() Stats {
	c := s.stats
	c.mu.Lock()
	st := Stats{
		State:           c.state,
		Codec:           c.codec,
		LocalCandidates: c.local,
		PacketsSent:     c.packetsSent,
		BytesSent:       c.bytesSent,
		PacketsReceived: c.packetsReceived,
		BytesReceived:   c.bytesReceived,
		PacketsDropped:  c.droppedN,
		PacketsLost:     c.lost,
		SentLevel:       c.sentLevel.dBFS(),
		ReceivedLevel:   c.receivedLevel.dBFS(),
		SinkError:       c.sinkErr,
	}
	c.mu.Unlock()
	st.ICE = s.pc.ICEConnectionState()
	s.mu.Lock()
	dtls := s.dtls
	s.mu.Unlock()
	if dtls != nil {
		st.DTLS = dtls.State()
		if pair, err := dtls.ICETransport().GetSelectedCandidatePair(); err == nil && pair != nil {
			st.SelectedPair = candidateString(pair.Local) + " <-> " + candidateString(pair.Remote)
		}
	}
	s.pcMu.Lock()
	report := s.pc.GetStats()
	s.pcMu.Unlock()
	candidates := map[string]string{}
	for _, v := range report {
		if cs, ok := v.(webrtc.ICECandidateStats); ok {
			// Protocol, as candidateString writes the selected pair: pion
			// leaves NetworkType (the interface's kind) empty.
			candidates[cs.ID] = fmt.Sprintf("%s %s %s:%d", cs.Protocol, cs.CandidateType, cs.IP, cs.Port)
		}
	}
	for _, v := range report {
		switch x := v.(type) {
		case webrtc.ICECandidatePairStats:
			st.Pairs = append(st.Pairs, CandidatePair{
				Local:     candidates[x.LocalCandidateID],
				Remote:    candidates[x.RemoteCandidateID],
				State:     string(x.State),
				Nominated: x.Nominated,
				RTT:       x.CurrentRoundTripTime,
			})
		case webrtc.TransportStats:
			if x.SRTPCipher != "" {
				st.SRTP = x.SRTPCipher
			}
		}
	}
	sort.Slice(st.Pairs, func(i, j int) bool {
		if st.Pairs[i].Local != st.Pairs[j].Local {
			return st.Pairs[i].Local < st.Pairs[j].Local
		}
		return st.Pairs[i].Remote < st.Pairs[j].Remote
	})
	return st
}

func candidateString(c *webrtc.ICECandidate) string {
	if c == nil {
		return "?"
	}
	return fmt.Sprintf("%s %s %s:%d", c.Protocol, c.Typ, c.Address, c.Port)
}
