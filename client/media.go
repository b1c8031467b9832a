package client

import (
	"bytes"
	"context"
	"encoding/xml"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/extdisco"
	"github.com/jmi-xmpp/jmi/media"
	"github.com/pion/webrtc/v4"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/stanza"
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
	// offers (XEP-0215), which the client asks for after each login and
	// again before their credentials expire.
	ICEServers []webrtc.ICEServer
	// RelayOnly sends the media through a TURN server only (ICE transport
	// policy relay): the peer never learns this device's addresses. A call
	// fails when no TURN server is offered or reachable.
	RelayOnly bool
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

// mediaFeatures are the features of media: none without Config.Media.
func (c *Client) mediaFeatures() []info.Feature {
	if c.cfg.Media == nil {
		return nil
	}
	return []info.Feature{{Var: jmi.NSJingle}, {Var: nsJingleRTP}, {Var: nsJingleRTPAudio}, {Var: nsJingleICEUDP}, {Var: nsJingleDTLS}}
}

// handleJingleIQ takes a Jingle IQ set from the application's mux (New),
// rebuilt as it came off the stream, to the same answers as on Dial's own
// stream.
func (c *Client) handleJingleIQ(iq stanza.IQ, t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	outer := iq.StartElement()
	err := enc.EncodeToken(outer)
	if err == nil {
		err = enc.EncodeToken(*start)
	}
	if err == nil {
		_, err = xmlstream.Copy(enc, t)
	}
	if err == nil {
		err = enc.EncodeToken(outer.End())
	}
	if err == nil {
		err = enc.Flush()
	}
	in := inIQ{from: iq.From.String(), to: iq.To.String(), id: iq.ID, typ: string(iq.Type), payload: start.Copy()}
	if err == nil {
		in, err = parseIQ(b.Bytes())
	}
	if err != nil {
		c.log.Warn("reading a Jingle IQ", "from", in.from, "id", in.id, "err", err)
		return c.replyError(t, in, "modify", "bad-request", nil)
	}
	return c.jingleIQWithMedia(t, in)
}

// lookUpICEServers asks the server of session s for its STUN and TURN
// services (XEP-0215) and keeps them for the media of the calls to come,
// and asks again before their credentials expire, until the session is
// replaced (the next login asks again) or the client closes. A server
// without the service gives none: calls gather host candidates only.
func (c *Client) lookUpICEServers(s *xmpp.Session) {
	defer c.wg.Done()
	for {
		ctx, cancel := context.WithTimeout(c.life, 30*time.Second)
		servers, refreshAt, err := extdisco.LookupICEServers(ctx, c.SendIQ, c.Account().Domain(), time.Now(), c.log)
		cancel()
		if err != nil {
			if c.life.Err() == nil {
				c.log.Warn("asking the server for STUN and TURN; calls use host candidates and MediaConfig.ICEServers", "err", err)
			}
			return
		}
		c.mu.Lock()
		c.serverICE = servers
		c.mu.Unlock()
		c.log.Debug("STUN and TURN from the server", "servers", len(servers), "refresh_at", refreshAt)
		if refreshAt.IsZero() {
			return
		}
		wait := time.NewTimer(time.Until(refreshAt))
		select {
		case <-c.done:
			wait.Stop()
			return
		case <-wait.C:
		}
		if c.sess() != s {
			return
		}
	}
}

// iceServers are the STUN and TURN servers of a new call's media: those of
// MediaConfig, then those the server offers.
func (c *Client) iceServers() []webrtc.ICEServer {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append(append([]webrtc.ICEServer(nil), c.cfg.Media.ICEServers...), c.serverICE...)
}
