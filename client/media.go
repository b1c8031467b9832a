package client

import (
	"github.com/jmi-xmpp/jmi/media"
	"github.com/pion/webrtc/v4"
)

// MediaConfig turns on audio: the calls this device is in carry voice over
// Jingle RTP (XEP-0166, XEP-0167, XEP-0176, XEP-0320), one media.Session per
// Jingle session. With it, disco#info and the capabilities of the presence
// list Jingle, RTP audio, ICE-UDP and DTLS-SRTP, without which Dino and
// Conversations offer no call button.
type MediaConfig struct {
	// Source returns what to send on the call with this id (one Source per
	// call; if it also is an io.Closer, the client closes it when the
	// call's media ends). Nil: a quiet tone.
	Source func(callID string) (media.Source, error)
	// Sink returns where what is heard on the call goes (nil Sink:
	// discarded); closed like Source.
	Sink func(callID string) (media.Sink, error)
	// ICEServers are STUN/TURN servers used beside those the XMPP server
	// offers (XEP-0215).
	ICEServers []webrtc.ICEServer
	// LoopbackOnly and Configure are passed to each media.Config (tests and
	// the demo: loopback only).
	LoopbackOnly bool
	Configure    func(*webrtc.SettingEngine)
	// OnEvent, if set, gets every media event of every call, in order per
	// call, from a client goroutine; it must not block.
	OnEvent func(callID string, ev media.Event)
}

// Jingle features a device with media lists in disco#info (XEP-0030) and its
// capabilities (XEP-0115). Conversations shows the call button only for a
// resource that lists all five, Dino 0.4.2 for one that lists Jingle, RTP
// and ICE-UDP.
const (
	nsJingleRTP      = `urn:xmpp:jingle:apps:rtp:1`
	nsJingleRTPAudio = `urn:xmpp:jingle:apps:rtp:audio`
	nsJingleICEUDP   = `urn:xmpp:jingle:transports:ice-udp:1`
	nsJingleDTLS     = `urn:xmpp:jingle:apps:dtls:0`
)

// MediaStats returns the media state of the call (the Jingle sid is the
// call's id), false while the call has no media session (before the Jingle
// session starts, after it ended, or with media off).
func (h *Call) MediaStats() (media.Stats, bool) {
	h.c.mu.Lock()
	m := h.c.media[h.id]
	h.c.mu.Unlock()
	if m == nil {
		return media.Stats{}, false
	}
	return m.sess.Stats(), true
}

// callMedia is the media of one call: its media.Session and what the client
// closes with it.
type callMedia struct {
	sess    *media.Session
	closers []func() error
}
