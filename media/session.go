package media

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/report"
	"github.com/pion/interceptor/pkg/twcc"
	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/jmi-xmpp/jmi/jingle"
	"github.com/jmi-xmpp/jmi/jingle/sdp"
)

// Role is the side of the Jingle session a Session plays.
type Role uint8

const (
	// Initiator sends session-initiate: it makes the offer (Offer), then
	// takes the session-accept (Accept).
	Initiator Role = iota
	// Responder answers a session-initiate with session-accept (Answer).
	Responder
)

// String returns "initiator" or "responder".
func (r Role) String() string {
	if r == Responder {
		return "responder"
	}
	return "initiator"
}

// Errors of a Session.
var (
	// ErrRole is returned by a method that the Session's role does not
	// have (Offer on a responder), or called twice.
	ErrRole = errors.New("media: not a step of this session's role")
	// ErrNotAudio is returned for remote contents that are not exactly one
	// RTP content of media='audio': a JMI call proposed audio, and
	// Conversations terminates a session whose media differ from the
	// propose's.
	ErrNotAudio = errors.New("media: the session must have exactly one audio content")
	// ErrNoCommonCodec is returned when the remote side offers or answers
	// no codec of the Session's Codecs.
	ErrNoCommonCodec = errors.New("media: no codec in common")
	// ErrTooManyCandidates is returned by AddRemoteCandidate when more
	// candidates arrived before the remote description than a session
	// keeps (maxEarlyCandidates).
	ErrTooManyCandidates = errors.New("media: too many candidates before the session's description")
	// ErrClosed is returned by the methods of a closed Session.
	ErrClosed = errors.New("media: session closed")
)

// maxEarlyCandidates bounds the candidates kept before the remote
// description is set: a peer may trickle early, but not without end.
const maxEarlyCandidates = 64

// Config configures a Session. The zero value is a responder that sends
// silence, discards what it hears, and offers DefaultCodecs.
type Config struct {
	// Role is the session's side.
	Role Role
	// Source is the audio to send; nil sends silence.
	Source Source
	// Sink takes the audio heard; nil discards it.
	Sink Sink
	// Codecs are the codecs to offer or accept, in order of preference;
	// nil means DefaultCodecs.
	Codecs []Codec
	// ICEServers are the STUN and TURN servers (from XEP-0215 external
	// service discovery: extdisco.ICEServers); none gathers host
	// candidates only.
	ICEServers []webrtc.ICEServer
	// RelayOnly gathers relayed candidates only (ICE transport policy
	// "relay"): the media go through a TURN server of ICEServers or not
	// at all. Without a TURN server that grants an allocation there is no
	// local candidate, and ICE fails once its timeouts pass.
	RelayOnly bool
	// LoopbackOnly gathers only UDP over IPv4 loopback and never mDNS:
	// for tests and demos on one machine.
	LoopbackOnly bool
	// Configure, if set, is called with the SettingEngine of the session's
	// PeerConnection after LoopbackOnly was applied, for other knobs.
	Configure func(*webrtc.SettingEngine)
	// OnEvent receives the session's events in order, from one goroutine
	// of the session (see Event). It must not block for long, and must
	// not call Close (it may start a goroutine that does). Nil drops them.
	OnEvent func(Event)
	// Logger logs what the session ignores (a candidate it cannot use, an
	// RTP packet it drops) with the reason; nil logs nothing.
	Logger *slog.Logger
}

// Session runs the media of one Jingle session: a pion PeerConnection
// with one audio transceiver, full ICE with trickled candidates, DTLS-SRTP
// and rtcp-mux, the Source sent every FrameDuration once connected and
// what was heard given to the Sink.
//
// The order of the calls, for the initiator: NewSession, Offer (its
// contents go into the session-initiate), Started once the session-initiate
// went out, AddRemoteCandidate for each candidate of a transport-info (at
// any time), Accept with the session-accept's contents, Close. For the
// responder: NewSession, Answer with the session-initiate's contents (the
// result goes into the session-accept), Started once the session-accept
// went out, AddRemoteCandidate, Close. Each local candidate is an
// EventCandidate, for a transport-info of its own.
//
// How the client will use it: on call.EventProceeded the caller's device
// makes an Initiator Session, sends Offer's contents in the session-initiate
// to the device that proceeded, then calls Started; on a session-initiate
// matched to an accepted call the callee's device makes a Responder
// Session and sends Answer's contents in the session-accept. Each
// EventCandidate becomes a transport-info IQ; each transport-info received
// goes to AddRemoteCandidate; session-terminate or finish ends with Close.
type Session struct {
	cfg    Config
	codecs []Codec
	log    *slog.Logger
	pc     *webrtc.PeerConnection
	pcMu   sync.Mutex // serializes pc.Close and pc.GetStats, which pion does not
	sender *webrtc.RTPSender
	dtls   *webrtc.DTLSTransport

	events *eventQueue
	stats  *counters

	mu           sync.Mutex
	stepDone     bool   // Offer or Answer was called
	accepted     bool   // Accept was called (initiator)
	content      string // the name of the audio content
	codec        Codec  // the codec sent and expected, once negotiated
	remoteSet    bool
	early        []webrtc.ICECandidateInit
	started      bool
	heldLocal    []jingle.Candidate
	iceState     webrtc.ICEConnectionState
	dtlsState    webrtc.DTLSTransportState
	state        State
	sending      bool
	closed       bool
	track        *webrtc.TrackLocalStaticRTP
	placeholder  Codec // the codec of the track the offer was made with
	firstHeardAt time.Time

	stop chan struct{} // closed by Close: ends the media goroutines
	wg   sync.WaitGroup
}

// NewSession returns a Session with its PeerConnection, not yet
// negotiating.
func NewSession(cfg Config) (*Session, error) {
	codecs := cfg.Codecs
	if len(codecs) == 0 {
		codecs = DefaultCodecs
	}
	for _, c := range codecs {
		if c.codec() == nil {
			return nil, fmt.Errorf("media: codec %s is not implemented", c.Name)
		}
	}
	var m webrtc.MediaEngine
	for _, c := range codecs {
		if err := m.RegisterCodec(c.parameters(), webrtc.RTPCodecTypeAudio); err != nil {
			return nil, fmt.Errorf("media: registering %s: %w", c.Name, err)
		}
	}
	var se webrtc.SettingEngine
	// Dino 0.4.2 sends RTP as soon as DTLS is up, which can be before pion
	// has taken the session-accept as applied: pion then drops the
	// stream's SSRC for good ("cannot process early media without SDP
	// answer") and the call is one-way. With one audio m-line, an
	// undeclared SSRC can only be the peer's audio.
	se.SetHandleUndeclaredSSRCWithoutAnswer(true)
	if cfg.LoopbackOnly {
		se.SetIncludeLoopbackCandidate(true)
		se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
		se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	}
	if cfg.RelayOnly {
		// pion waits 2 s before it selects a relayed pair, in case a
		// better one succeeds; with relayed candidates only there is
		// none to wait for.
		se.SetRelayAcceptanceMinWait(0)
	}
	// pion closes the PeerConnection on its own goroutine when the peer's
	// DTLS says close_notify, and that close races with GetStats (pion
	// v4.2.26 writes pc.statsGetter without the lock GetStats reads it
	// under: seen by -race through Stats). The session ends when its call
	// ends (session-terminate, finish) or ICE fails, and Close is then
	// serialized with Stats by pcMu.
	se.DisableCloseByDTLS(true)
	if cfg.Configure != nil {
		cfg.Configure(&se)
	}
	interceptors, err := audioInterceptors(&m, se.LoggerFactory)
	if err != nil {
		return nil, err
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(&m), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(interceptors))
	pcCfg := webrtc.Configuration{ICEServers: cfg.ICEServers}
	if cfg.RelayOnly {
		pcCfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := api.NewPeerConnection(pcCfg)
	if err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Session{
		cfg:    cfg,
		codecs: codecs,
		log:    log.With("role", cfg.Role.String()),
		pc:     pc,
		stats:  newCounters(),
		stop:   make(chan struct{}),
	}
	s.events = newEventQueue(cfg.OnEvent)
	pc.OnICECandidate(s.onLocalCandidate)
	pc.OnICEConnectionStateChange(s.onICEState)
	pc.OnTrack(s.onTrack)
	return s, nil
}

// audioInterceptors are the interceptors of pion's default set that an
// audio call uses: the RTCP sender and receiver reports, and the
// transport-wide congestion control feedback (its transport-cc rtcp-fb and
// header extension stay in the offer and answer, as before). Left out are
// NACK, whose generator wakes every 100 ms although pion registers nack for
// video only; the simulcast header extensions (video); and the stats
// interceptor, whose RTP stream statistics Stats does not read, and which
// took a lock and allocated on every packet.
func audioInterceptors(m *webrtc.MediaEngine, lf logging.LoggerFactory) (*interceptor.Registry, error) {
	var (
		reg     interceptor.Registry
		recvOpt []report.ReceiverOption
		sendOpt []report.SenderOption
		twccOpt []twcc.Option
	)
	if lf != nil {
		recvOpt = append(recvOpt, report.WithReceiverLoggerFactory(lf))
		sendOpt = append(sendOpt, report.WithSenderLoggerFactory(lf))
		twccOpt = append(twccOpt, twcc.WithLoggerFactory(lf))
	}
	if err := webrtc.ConfigureRTCPReportsWithOptions(&reg, recvOpt, sendOpt...); err != nil {
		return nil, fmt.Errorf("media: RTCP reports: %w", err)
	}
	if err := webrtc.ConfigureTWCCSenderWithOptions(m, &reg, twccOpt...); err != nil {
		return nil, fmt.Errorf("media: TWCC feedback: %w", err)
	}
	return &reg, nil
}

// addTrack gives the PeerConnection the audio track to send, of codec c.
func (s *Session) addTrack(c Codec) error {
	track, err := webrtc.NewTrackLocalStaticRTP(c.parameters().RTPCodecCapability, "audio", "jmi")
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	sender, err := s.pc.AddTrack(track)
	if err != nil {
		return fmt.Errorf("media: %w", err)
	}
	s.track, s.sender = track, sender
	s.dtls = sender.Transport()
	s.dtls.OnStateChange(s.onDTLSState)
	return nil
}

// Offer returns the contents of the session-initiate: one audio content
// with the Session's codecs in order, the ICE credentials and the sha-256
// fingerprint with setup actpass, and no candidate (they are trickled as
// EventCandidate after Started). Initiator only.
func (s *Session) Offer() ([]jingle.Content, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.may(Initiator); err != nil {
		return nil, err
	}
	s.stepDone = true
	if err := s.addTrack(s.codecs[0]); err != nil {
		return nil, err
	}
	s.placeholder = s.codecs[0]
	offer, err := s.pc.CreateOffer(nil)
	if err != nil {
		return nil, fmt.Errorf("media: creating the offer: %w", err)
	}
	if err := s.pc.SetLocalDescription(offer); err != nil {
		return nil, fmt.Errorf("media: setting the offer: %w", err)
	}
	session, err := sdp.ToJingle(s.pc.LocalDescription().SDP, sdp.Initiator)
	if err != nil {
		return nil, fmt.Errorf("media: the offer: %w", err)
	}
	s.logDropped("offer", session.Dropped)
	if _, err := audioContent(session.Contents); err != nil {
		return nil, err
	}
	s.content = session.Contents[0].Name
	s.setState(StateConnecting)
	return session.Contents, nil
}

// Answer takes the contents of the session-initiate and returns those of
// the session-accept: the same content, with one codec, the first of the
// offer that the Session supports (Dino answers so, and takes the first
// of an answer), the ICE credentials and the sha-256 fingerprint with setup
// active. Responder only.
func (s *Session) Answer(remote []jingle.Content) ([]jingle.Content, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.may(Responder); err != nil {
		return nil, err
	}
	c, err := audioContent(remote)
	if err != nil {
		return nil, err
	}
	chosen, ok := s.firstCommon(c.Description.Payloads)
	if !ok {
		return nil, fmt.Errorf("%w: the offer has %s", ErrNoCommonCodec, payloadNames(c.Description.Payloads))
	}
	desc, err := sdp.FromJingle(&jingle.Jingle{Action: jingle.ActionSessionInitiate, Contents: remote}, sdp.Initiator)
	if err != nil {
		return nil, fmt.Errorf("media: the offer: %w", err)
	}
	s.logDropped("offer", desc.Dropped)
	// From here on pion's state changes: a failed answer is final.
	s.stepDone = true
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: desc.SDP}); err != nil {
		return nil, fmt.Errorf("media: setting the offer: %w", err)
	}
	if err := s.addTrack(chosen); err != nil {
		return nil, err
	}
	for _, t := range s.pc.GetTransceivers() {
		if t.Sender() == s.sender {
			if err := t.SetCodecPreferences([]webrtc.RTPCodecParameters{chosen.parameters()}); err != nil {
				return nil, fmt.Errorf("media: %w", err)
			}
		}
	}
	answer, err := s.pc.CreateAnswer(nil)
	if err != nil {
		return nil, fmt.Errorf("media: creating the answer: %w", err)
	}
	if err := s.pc.SetLocalDescription(answer); err != nil {
		return nil, fmt.Errorf("media: setting the answer: %w", err)
	}
	session, err := sdp.ToJingle(s.pc.LocalDescription().SDP, sdp.Responder)
	if err != nil {
		return nil, fmt.Errorf("media: the answer: %w", err)
	}
	s.logDropped("answer", session.Dropped)
	local, err := audioContent(session.Contents)
	if err != nil {
		return nil, err
	}
	putFirst(local.Description, chosen)
	s.content = c.Name
	s.codec = chosen
	s.stats.setCodec(chosen)
	s.remoteDescriptionSet()
	s.setState(StateConnecting)
	return session.Contents, nil
}

// Accept takes the contents of the session-accept: the codec sent is the
// first of the answer's that was offered. Initiator only, after Offer.
func (s *Session) Accept(remote []jingle.Content) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.cfg.Role != Initiator || !s.stepDone || s.accepted {
		return fmt.Errorf("%w: Accept is the initiator's, once, after Offer", ErrRole)
	}
	c, err := audioContent(remote)
	if err != nil {
		return err
	}
	if c.Name != s.content {
		return fmt.Errorf("%w: the answer's content is %q, the offer's %q", ErrNotAudio, c.Name, s.content)
	}
	chosen, ok := s.firstCommon(c.Description.Payloads)
	if !ok {
		return fmt.Errorf("%w: the answer has %s", ErrNoCommonCodec, payloadNames(c.Description.Payloads))
	}
	if chosen != s.placeholder {
		// The track's codec is the one pion sends: replace the offer's
		// before the answer binds it.
		track, err := webrtc.NewTrackLocalStaticRTP(chosen.parameters().RTPCodecCapability, "audio", "jmi")
		if err != nil {
			return fmt.Errorf("media: %w", err)
		}
		if err := s.sender.ReplaceTrack(track); err != nil {
			return fmt.Errorf("media: %w", err)
		}
		s.track = track
	}
	desc, err := sdp.FromJingle(&jingle.Jingle{Action: jingle.ActionSessionAccept, Contents: remote}, sdp.Responder)
	if err != nil {
		return fmt.Errorf("media: the answer: %w", err)
	}
	s.logDropped("answer", desc.Dropped)
	if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: desc.SDP}); err != nil {
		return fmt.Errorf("media: setting the answer: %w", err)
	}
	s.accepted = true
	s.codec = chosen
	s.stats.setCodec(chosen)
	s.remoteDescriptionSet()
	return nil
}

// may checks that the Session may make its offer or answer; s.mu is held.
func (s *Session) may(role Role) error {
	if s.closed {
		return ErrClosed
	}
	if s.cfg.Role != role || s.stepDone {
		return fmt.Errorf("%w: a %s session cannot do that (again)", ErrRole, s.cfg.Role)
	}
	return nil
}

// firstCommon returns the first of payloads that is one of the Session's
// codecs.
func (s *Session) firstCommon(payloads []jingle.PayloadType) (Codec, bool) {
	for _, p := range payloads {
		for _, c := range s.codecs {
			if c.matches(p) {
				c.PayloadType = p.ID // the peer's number for a dynamic type
				return c, true
			}
		}
	}
	return Codec{}, false
}

// AddRemoteCandidate adds a candidate of a received transport-info for the
// content named content. A candidate that arrives before the remote
// description (an early transport-info) is kept and added once it is set:
// pion refuses candidates before. A candidate the session cannot use
// (component 2, TCP) or a malformed one is refused with the jingle/sdp
// error, for the caller to log; the session goes on.
func (s *Session) AddRemoteCandidate(content string, c jingle.Candidate) error {
	init, err := sdp.CandidateFromJingle(content, c)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.content != "" && content != s.content {
		return fmt.Errorf("%w: candidate for content %q, the session's is %q", ErrNotAudio, content, s.content)
	}
	if !s.remoteSet {
		if len(s.early) >= maxEarlyCandidates {
			return fmt.Errorf("%w: %d", ErrTooManyCandidates, len(s.early))
		}
		s.early = append(s.early, init)
		return nil
	}
	if err := s.pc.AddICECandidate(init); err != nil {
		return fmt.Errorf("media: adding candidate: %w", err)
	}
	return nil
}

// remoteDescriptionSet adds the candidates that came early; s.mu is held.
func (s *Session) remoteDescriptionSet() {
	s.remoteSet = true
	for _, init := range s.early {
		if err := s.pc.AddICECandidate(init); err != nil {
			s.log.Info("media: early candidate ignored", "candidate", init.Candidate, "err", err)
		}
	}
	s.early = nil
}

// Started tells the Session that the session-initiate (initiator) or
// session-accept (responder) went out: from now on each local candidate is
// given as an EventCandidate, the ones gathered before first, in order.
// A candidate must not overtake the element that gives its ICE
// credentials (Conversations and Monal drop it).
func (s *Session) Started() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return
	}
	s.started = true
	for _, c := range s.heldLocal {
		s.events.push(Event{Kind: EventCandidate, Content: s.content, Candidate: c})
	}
	s.heldLocal = nil
}

func (s *Session) onLocalCandidate(c *webrtc.ICECandidate) {
	if c == nil {
		// Gathering is complete; XEP-0176 has no end-of-candidates. With
		// RelayOnly and no candidate, no TURN server granted an
		// allocation (unreachable, or the credentials refused): ICE will
		// fail, and this is why.
		if s.cfg.RelayOnly && s.stats.localCount() == 0 {
			s.log.Warn("media: relay only, and no TURN server gave a relayed candidate", "turn_servers", len(s.cfg.ICEServers))
		}
		return
	}
	cand, err := sdp.CandidateToJingle(c.ToJSON().Candidate)
	if err != nil {
		s.log.Info("media: local candidate not sent", "candidate", c.String(), "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.stats.localCandidate()
	if !s.started {
		s.heldLocal = append(s.heldLocal, cand)
		return
	}
	s.events.push(Event{Kind: EventCandidate, Content: s.content, Candidate: cand})
}

func (s *Session) onICEState(st webrtc.ICEConnectionState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.iceState = st
	s.events.push(Event{Kind: EventICE, ICE: st})
	s.update()
}

func (s *Session) onDTLSState(st webrtc.DTLSTransportState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.dtlsState = st
	s.events.push(Event{Kind: EventDTLS, DTLS: st})
	s.update()
}

// update derives the session's state from ICE's and DTLS's (pion reports
// its own connection state from a new goroutine each time, so out of
// order); s.mu is held.
func (s *Session) update() {
	switch {
	case s.iceState == webrtc.ICEConnectionStateFailed || s.dtlsState == webrtc.DTLSTransportStateFailed:
		s.setState(StateFailed)
	case (s.iceState == webrtc.ICEConnectionStateConnected || s.iceState == webrtc.ICEConnectionStateCompleted) &&
		s.dtlsState == webrtc.DTLSTransportStateConnected:
		s.setState(StateConnected)
		if !s.sending {
			s.sending = true
			s.wg.Add(1)
			go s.send(s.track, s.codec)
		}
	}
}

// setState moves to st and tells it once; s.mu is held.
func (s *Session) setState(st State) {
	if s.state == st || s.state == StateClosed || (s.state == StateFailed && st != StateClosed) {
		return
	}
	s.state = st
	s.stats.setState(st)
	s.events.push(Event{Kind: EventState, State: st})
}

// send paces the Source: one frame every FrameDuration, encoded and written
// to the track as one RTP packet, until Close. The packet is made here and
// kept for the call (TrackLocalStaticSample's packetizer made a packet, a
// slice of packets and a payload copy for every frame); the track sets its
// SSRC and payload type.
func (s *Session) send(track *webrtc.TrackLocalStaticRTP, c Codec) {
	defer s.wg.Done()
	enc := c.codec()
	rate := c.ClockRate
	pcm := make([]int16, FrameSamples(rate))
	payload := make([]byte, 0, maxPayload)
	pkt := rtp.Packet{Header: rtp.Header{
		Version: 2,
		// pion's packetizer marks every packet of one sample: kept, so
		// that the packets on the wire are the same as before.
		Marker: true,
		// Random first numbers, as RFC 3550 §5.1 asks.
		SequenceNumber: uint16(rand.Uint32()),
		Timestamp:      rand.Uint32(),
	}}
	ended := s.cfg.Source == nil
	ticker := time.NewTicker(FrameDuration)
	defer ticker.Stop()
	for {
		if !ended {
			if err := s.cfg.Source.ReadFrame(pcm, rate); err != nil {
				if !errors.Is(err, io.EOF) {
					s.log.Warn("media: the audio source failed, sending silence", "err", err)
				}
				ended = true
			}
		}
		if ended {
			clear(pcm)
		}
		payload = enc.encode(payload[:0], pcm)
		pkt.Payload = payload
		if err := track.WriteRTP(&pkt); err != nil {
			s.log.Debug("media: frame not sent", "err", err)
		} else {
			s.stats.sent(len(payload), pcm)
		}
		// The sequence and the clock advance for a frame not sent too:
		// the receiver sees a lost packet, not a shifted stream.
		pkt.SequenceNumber++
		pkt.Timestamp += uint32(len(pcm))
		select {
		case <-s.stop:
			return
		case <-ticker.C:
		}
	}
}

// maxPayload is the largest RTP payload decoded: 120 ms of G.711 (960
// bytes), more than any sender of 20 ms frames needs. Larger packets are
// dropped: a peer's packet size must not size our buffers.
const maxPayload = 960

// receiveBuffer is the size of the buffer an RTP packet is read into: an
// Ethernet frame's payload, more than pion's receive MTU (1460).
const receiveBuffer = 1500

// maxConcealed is the most frames of silence written for a gap in the
// sequence numbers: the sink's timing is kept for short losses, and a
// jump of the sequence cannot make us write minutes of silence.
const maxConcealed = 10

func (s *Session) onTrack(track *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
	s.mu.Lock()
	if s.closed || track.Kind() != webrtc.RTPCodecTypeAudio {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	c := s.codec
	s.mu.Unlock()
	defer s.wg.Done()
	s.receive(track, c)
}

// receive reads the remote track until it ends (Close), decoding the
// packets of the negotiated payload type in sequence and giving them to
// the Sink. Anything else from the network is counted and dropped.
func (s *Session) receive(track *webrtc.TrackRemote, c Codec) {
	dec := c.codec()
	rate := c.ClockRate
	r := &receiver{pt: c.PayloadType, maxSamples: maxPayload * 8}
	pcm := make([]int16, 0, maxPayload)
	sinkFailed, told := false, false
	// One buffer and one packet for the whole call: track.ReadRTP makes a
	// 1460-byte buffer and an rtp.Packet for every packet read.
	buf := make([]byte, receiveBuffer)
	var pkt rtp.Packet
	for {
		n, _, err := track.Read(buf)
		if errors.Is(err, io.ErrShortBuffer) {
			s.stats.dropped()
			s.log.Debug("media: RTP packet dropped", "reason", "larger than a packet of the network")
			continue
		}
		if err != nil {
			return // io.EOF once the PeerConnection is closed
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			s.stats.dropped()
			s.log.Debug("media: RTP packet dropped", "reason", "not RTP", "err", err)
			continue
		}
		verdict, missing := r.accept(pkt.PayloadType, pkt.SequenceNumber, len(pkt.Payload))
		if verdict != "" {
			s.stats.dropped()
			s.log.Debug("media: RTP packet dropped", "reason", verdict, "pt", pkt.PayloadType, "seq", pkt.SequenceNumber, "len", len(pkt.Payload))
			continue
		}
		pcm = dec.decode(pcm[:0], pkt.Payload)
		s.stats.received(len(pkt.Payload), pcm, missing)
		if !told {
			told = true
			s.heard()
		}
		if s.cfg.Sink == nil || sinkFailed {
			continue
		}
		if err := s.write(pcm, rate, missing); err != nil {
			s.log.Warn("media: the audio sink failed, no longer recording", "err", err)
			s.stats.sinkFailed(err)
			sinkFailed = true
		}
	}
}

// write gives the Sink a frame of silence for each missing packet (at
// most maxConcealed), then pcm.
func (s *Session) write(pcm []int16, rate, missing int) error {
	if missing > 0 {
		silence := make([]int16, len(pcm))
		for range min(missing, maxConcealed) {
			if err := s.cfg.Sink.WriteFrame(silence, rate); err != nil {
				return err
			}
		}
	}
	return s.cfg.Sink.WriteFrame(pcm, rate)
}

// heard tells the first frame heard as EventAudio.
func (s *Session) heard() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.firstHeardAt.IsZero() && !s.closed {
		s.firstHeardAt = time.Now()
		s.events.push(Event{Kind: EventAudio})
	}
}

// receiver decides which RTP packets of the remote track are decoded: the
// negotiated payload type, a payload of a sane size, a sequence number
// newer than the last one decoded (late and repeated packets are dropped:
// 20 ms frames are not worth a jitter buffer on loopback and LAN).
type receiver struct {
	pt         uint8
	maxSamples int
	started    bool
	last       uint16
}

// accept returns why the packet is dropped ("" to decode it) and how many
// packets are missing before it.
func (r *receiver) accept(pt uint8, seq uint16, size int) (string, int) {
	switch {
	case pt != r.pt:
		return "payload type not negotiated", 0
	case size == 0:
		return "empty payload", 0
	case size > maxPayload:
		return "payload too large", 0
	}
	if !r.started {
		r.started, r.last = true, seq
		return "", 0
	}
	d := int16(seq - r.last)
	if d <= 0 {
		return "late or repeated", 0
	}
	r.last = seq
	return "", int(d) - 1
}

// Close ends the session: the PeerConnection is closed, the media
// goroutines end, the last event (EventState with StateClosed) is
// delivered, and every goroutine of the session has returned. Calling it
// again does nothing.
func (s *Session) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.stop)
	s.mu.Unlock()
	s.pcMu.Lock()
	err := s.pc.Close() // ends the ICE, DTLS and SRTP goroutines, and the tracks' reads
	s.pcMu.Unlock()
	s.wg.Wait()
	s.mu.Lock()
	s.state = StateClosed
	s.stats.setState(StateClosed)
	s.events.push(Event{Kind: EventState, State: StateClosed})
	s.mu.Unlock()
	s.events.close()
	if err != nil {
		return fmt.Errorf("media: closing: %w", err)
	}
	return nil
}

// State returns the session's state.
func (s *Session) State() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

func (s *Session) logDropped(what string, dropped []string) {
	for _, d := range dropped {
		s.log.Debug("media: not translated", "in", what, "what", d)
	}
}

// audioContent returns the one audio content of contents, or ErrNotAudio.
func audioContent(contents []jingle.Content) (*jingle.Content, error) {
	if len(contents) != 1 {
		return nil, fmt.Errorf("%w: %d contents", ErrNotAudio, len(contents))
	}
	c := &contents[0]
	if c.Description == nil || !strings.EqualFold(c.Description.Media, "audio") {
		return nil, fmt.Errorf("%w: content %q is not an RTP audio description", ErrNotAudio, c.Name)
	}
	if c.Transport == nil {
		return nil, fmt.Errorf("%w: content %q has no ICE-UDP transport", ErrNotAudio, c.Name)
	}
	return c, nil
}

// putFirst moves the payload type of c to the front of d's.
func putFirst(d *jingle.Description, c Codec) {
	for i, p := range d.Payloads {
		if c.matches(p) {
			copy(d.Payloads[1:i+1], d.Payloads[:i])
			d.Payloads[0] = p
			return
		}
	}
}

func payloadNames(ps []jingle.PayloadType) string {
	var names []string
	for _, p := range ps {
		names = append(names, fmt.Sprintf("%s/%d (%d)", p.Name, p.Clockrate, p.ID))
	}
	if len(names) == 0 {
		return "no payload type"
	}
	return strings.Join(names, ", ")
}
