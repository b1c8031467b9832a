package client

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/jingle"
	"github.com/jmi-xmpp/jmi/jingle/session"
	"github.com/jmi-xmpp/jmi/media"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

// The Jingle flow of a client with media (Config.Media): the JMI engine
// (call) says which call was answered with which device, the Jingle session
// engine (jingle/session) runs the session of each, and a media.Session per
// Jingle session carries the audio. Both engines live on the loop; every
// IQ set goes out through SendIQ, on Dial's session or the application's
// alike, and its answer comes back to the loop.
//
// The order on the wire, for the device that proposed: proceed received →
// session-initiate (the media's offer) → its result → Started (candidates
// trickle, one per transport-info) → session-accept received → Accept. For
// the device that answered: session-initiate received → result, Answer,
// session-accept → its result → Started.

// jingleFlow is the state of the flow, owned by the loop.
type jingleFlow struct {
	m *session.Machine
	// startOnReply names the session whose session-initiate or
	// session-accept has this IQ id: its media starts trickling candidates
	// once the peer acknowledged it.
	startOnReply map[string]string
	// hold, set while a received IQ is being handled, keeps what would be
	// sent in held: the IQ's answer goes out first.
	hold bool
	held []func()
	// trust is the client's trust in a caller (Config.Trust or the
	// roster): Jingle from anyone else gets the answer of an offline
	// device.
	trust func(jid.JID) bool
	// answered holds the CallAnswered of a call answered with this device
	// while the client asks the peer's device whether it speaks Jingle
	// audio (askJingle): the session follows only if it does, or once a
	// Jingle IQ of the call shows that it does.
	answered map[string]session.CallAnswered
}

func newJingleFlow(account jid.JID, trust func(jid.JID) bool) *jingleFlow {
	return &jingleFlow{
		trust: trust,
		// Each client its own prefix: a late answer to an IQ of an earlier
		// run matches nothing.
		m:            session.New(session.Config{Account: account, IDPrefix: "jingle-" + jmi.NewID()[:8]}),
		startOnReply: map[string]string{},
	}
}

// sendLater runs f now, or after the answer to the IQ being handled.
func (c *Client) sendLater(f func()) {
	if c.flow.hold {
		c.flow.held = append(c.flow.held, f)
		return
	}
	f()
}

// jingleInput hands in to the Jingle engine and carries out its effects. On
// the loop.
func (c *Client) jingleInput(in session.Input) {
	effs, err := c.flow.m.Handle(time.Now(), in)
	if err != nil {
		c.log.Debug("Jingle engine refused a local input", "input", fmt.Sprintf("%T", in), "err", err)
		return
	}
	c.applyJingle(effs, jid.JID{})
}

// jingleCallEvent tells the Jingle engine what the JMI engine decided. On
// the loop, for each event of a client with media.
func (c *Client) jingleCallEvent(ev call.Event) {
	switch ev.Type {
	case call.EventProceeded:
		info, ok := c.dev.Call(ev.ID)
		if !ok {
			return
		}
		in := session.CallAnswered{SID: ev.ID, Self: info.Self, Remote: info.Device, Outgoing: info.Direction == call.Outgoing, Media: info.Media}
		if info.Elsewhere {
			in.Remote = jid.JID{}
		}
		if !in.Self.Equal(c.dev.Account()) || in.Remote.Equal(jid.JID{}) {
			// Answered on another device: any session here ends.
			c.callAnswered(in)
			return
		}
		c.askJingle(in)
	case call.EventFinished, call.EventRejected, call.EventRetracted, call.EventMissed:
		delete(c.flow.answered, ev.ID)
		var reason *jmi.Reason
		if ev.Reason != "" && ev.MigratedTo == "" {
			reason = &jmi.Reason{Condition: jmi.Condition(ev.Reason)}
			if !knownCondition[reason.Condition] {
				reason = nil // the engine's own words, not a condition
			}
		}
		c.jingleInput(session.CallEnded{SID: ev.ID, Reason: reason, MigratedTo: ev.MigratedTo})
	}
}

// callAnswered hands the answer of a call to the Jingle engine, and sends
// the offer if this device is the initiator. On the loop.
func (c *Client) callAnswered(in session.CallAnswered) {
	delete(c.flow.answered, in.SID)
	effs, err := c.flow.m.Handle(time.Now(), in)
	if err != nil {
		c.log.Warn("Jingle: the answered call has no session", "sid", in.SID, "err", err)
		return
	}
	c.applyJingle(effs, jid.JID{})
	if s, ok := c.flow.m.Session(in.SID); ok && s.Role == session.RoleInitiator && s.State == session.StateAwaiting {
		c.startInitiatorMedia(in.SID)
	}
}

// askJingle asks the peer's device in the call answered here for its
// features (disco#info), off the loop, and starts the Jingle session only
// if it lists Jingle RTP audio. A device without it (jmi --no-media, a bot
// or gateway that speaks JMI alone) keeps the call without media: a
// session-initiate it refuses, or one it never sends while this device
// waits for it, would end the call. No answer in time, or an error, starts
// the session all the same: a client that cannot be asked is given the
// benefit of the doubt, as before. A Jingle IQ of the call from the peer
// starts it at once (the peer does speak Jingle). On the loop.
func (c *Client) askJingle(in session.CallAnswered) {
	if c.flow.answered == nil {
		c.flow.answered = map[string]session.CallAnswered{}
	}
	c.flow.answered[in.SID] = in
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(c.life, peerFeaturesWait)
		features, err := c.peerFeatures(ctx, in.Remote)
		cancel()
		c.post(func() {
			if _, waiting := c.flow.answered[in.SID]; !waiting {
				return // ended, or started by the peer's Jingle
			}
			if err == nil && !hasJingleAudio(features) {
				delete(c.flow.answered, in.SID)
				c.log.Info("the device in the call lists no Jingle audio: the call goes on without media", "sid", in.SID, "peer", in.Remote)
				return
			}
			if err != nil {
				c.log.Debug("asking the device in the call for its features; starting Jingle all the same", "sid", in.SID, "peer", in.Remote, "err", err)
			}
			c.callAnswered(in)
		})
	}()
}

// peerFeaturesWait bounds the disco#info of the device in a call.
const peerFeaturesWait = 5 * time.Second

// maxPeerFeatures bounds what a peer's disco#info answer may make us keep.
const maxPeerFeatures = 512

// peerFeatures returns the features of to (XEP-0030 disco#info).
func (c *Client) peerFeatures(ctx context.Context, to jid.JID) ([]string, error) {
	query := xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: nsDiscoInfo, Local: "query"}})
	r, err := c.SendIQ(ctx, stanza.IQ{To: to, Type: stanza.GetIQ}, query)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return readFeatures(r, to)
}

// readFeatures reads the features of a disco#info answer from to, as the
// session hands it over (the <iq/> first): at most maxPeerFeatures of
// them, in the disco#info namespace only; an answer of another type than
// result is an error.
func readFeatures(r xml.TokenReader, to jid.JID) ([]string, error) {
	var features []string
	first := true
	for {
		tok, err := r.Token()
		if err == io.EOF {
			return features, nil
		}
		if err != nil {
			return nil, err
		}
		start, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if first {
			first = false
			for _, a := range start.Attr {
				if a.Name.Local == "type" && a.Name.Space == "" && a.Value != "result" {
					return nil, fmt.Errorf("client: disco#info of %s answered %q", to, a.Value)
				}
			}
			continue
		}
		if start.Name.Space == nsDiscoInfo && start.Name.Local == "feature" && len(features) < maxPeerFeatures {
			for _, a := range start.Attr {
				if a.Name.Local == "var" && a.Name.Space == "" {
					features = append(features, a.Value)
				}
			}
		}
	}
}

// hasJingleAudio reports whether features have what a Jingle RTP audio
// call needs of a peer.
func hasJingleAudio(features []string) bool {
	need := map[string]bool{jmi.NSJingle: false, nsJingleRTP: false, nsJingleRTPAudio: false}
	for _, f := range features {
		if _, ok := need[f]; ok {
			need[f] = true
		}
	}
	for _, ok := range need {
		if !ok {
			return false
		}
	}
	return true
}

// callWith reports whether call sid of this device is with the device
// from: the callee this device called, who may not be in the roster, must
// still be heard. On the loop.
func (c *Client) callWith(sid string, from jid.JID) bool {
	if s, ok := c.flow.m.Session(sid); ok && s.Remote.Equal(from) {
		return true
	}
	in, ok := c.flow.answered[sid]
	return ok && in.Remote.Equal(from)
}

// knownCondition are the reason conditions of XEP-0166 §7.4.
var knownCondition = map[jmi.Condition]bool{
	jmi.AlternativeSession: true, jmi.Busy: true, jmi.Cancel: true, jmi.ConnectivityError: true,
	jmi.Decline: true, jmi.Expired: true, jmi.FailedApplication: true, jmi.FailedTransport: true,
	jmi.GeneralError: true, jmi.Gone: true, jmi.IncompatibleParameters: true, jmi.MediaError: true,
	jmi.SecurityError: true, jmi.Success: true, jmi.Timeout: true, jmi.UnsupportedApplications: true,
	jmi.UnsupportedTransports: true,
}

// applyJingle carries out the Jingle engine's effects in order. from is
// the peer whose IQ caused them, when one did. On the loop.
func (c *Client) applyJingle(effs []session.Effect, from jid.JID) {
	for _, e := range effs {
		switch e := e.(type) {
		case session.SendIQ:
			if e.Why != "" {
				c.log.Warn("Jingle: refused an IQ", "to", e.IQ.To, "id", e.IQ.ID, "why", e.Why)
			}
			iq := e.IQ
			if iq.Type == "set" {
				if a := iq.Jingle.Action; a == jingle.ActionSessionInitiate || a == jingle.ActionSessionAccept {
					c.flow.startOnReply[iq.ID] = iq.Jingle.SID
				}
				c.sendLater(func() { c.sendJingleSet(iq) })
			} else {
				c.sendLater(func() {
					if err := c.send(c.life, iq.TokenReader()); err != nil {
						c.log.Warn("Jingle: sending an answer", "to", iq.To, "id", iq.ID, "err", err)
					}
				})
			}
		case session.StartMedia:
			c.startResponderMedia(e)
		case session.MediaAnswered:
			m := c.mediaOf(e.SID)
			if m == nil {
				continue
			}
			if err := m.sess.Accept(e.Answer); err != nil {
				c.log.Warn("Jingle: the session-accept cannot be used", "sid", e.SID, "err", err)
				c.jingleInput(session.Terminate{SID: e.SID, Reason: mediaFailure(err)})
			}
		case session.AddRemoteCandidates:
			m := c.mediaOf(e.SID)
			if m == nil {
				continue
			}
			if len(e.Transport.Candidates) == 0 && e.Transport.Ufrag != "" {
				// An ICE restart offer (Conversations restarts after
				// FAILED): the media layer does not restart yet.
				c.log.Warn("Jingle: ICE restart not supported; ignored", "sid", e.SID)
			}
			for _, cand := range e.Transport.Candidates {
				if err := m.sess.AddRemoteCandidate(e.Content, cand); err != nil {
					c.log.Warn("Jingle: a remote candidate not used", "sid", e.SID, "candidate", cand.ID, "err", err)
				}
			}
		case session.StopMedia:
			c.stopMedia(e.SID)
			for id, sid := range c.flow.startOnReply {
				if sid == e.SID {
					delete(c.flow.startOnReply, id) // its answer, if it ever comes, starts nothing
				}
			}
		case session.FinishCall:
			sid, reason, peer := e.SID, e.Reason, from
			c.sendLater(func() { c.finishFromJingle(sid, reason, peer) })
		case session.Ignored:
			c.log.Warn("Jingle: ignored", "sid", e.SID, "why", e.Why)
		}
	}
}

// finishFromJingle ends the JMI call sid that its Jingle session ended:
// as the peer's own finish when the peer sent session-terminate
// (Conversations and Dino hang up with it alone; the engine answers with
// our finish), as our finish when the session failed here.
func (c *Client) finishFromJingle(sid string, reason *jmi.Reason, peer jid.JID) {
	if reason == nil {
		reason = &jmi.Reason{Condition: jmi.Success}
	}
	var effs []call.Effect
	var err error
	if !peer.Equal(jid.JID{}) {
		effs, err = c.dev.Do(time.Now(), call.Signal{From: peer, To: c.cfg.JID, Via: call.ViaLive, Element: &jmi.Finish{ID: sid, Reason: reason}})
	} else {
		effs, err = c.dev.Do(time.Now(), call.UserFinish{ID: sid, Reason: reason})
	}
	if err != nil && !errors.Is(err, call.ErrUnknownCall) {
		c.log.Warn("Jingle: finishing the call of an ended session", "sid", sid, "err", err)
	}
	c.apply(effs)
}

// mediaFailure is the reason a session ends with when its media cannot
// take the peer's description.
func mediaFailure(err error) *jmi.Reason {
	switch {
	case errors.Is(err, media.ErrNoCommonCodec):
		return &jmi.Reason{Condition: jmi.FailedApplication, Text: err.Error()}
	case errors.Is(err, media.ErrNotAudio):
		return &jmi.Reason{Condition: jmi.UnsupportedApplications, Text: err.Error()}
	}
	return &jmi.Reason{Condition: jmi.FailedApplication, Text: err.Error()}
}

// sendJingleSet sends an IQ set of the Jingle engine and hands its answer
// back to the loop. It returns once the IQ is written (or could not be),
// so that what the loop sends next follows it on the stream: our finish
// after our session-terminate, which Conversations and Dino hang up on.
// An IQ that cannot be sent is left to the engine's time-out (Config.IQTimeout
// of jingle/session). On the loop.
func (c *Client) sendJingleSet(iq jingle.IQ) {
	to, err := jid.Parse(iq.To)
	if err != nil {
		c.log.Warn("Jingle: an IQ to an address that does not parse", "to", iq.To, "err", err)
		return
	}
	payload := &endSignal{r: iq.Jingle.TokenReader(), end: make(chan struct{})}
	failed := make(chan struct{})
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		r, err := c.SendIQ(c.life, stanza.IQ{ID: iq.ID, To: to, Type: stanza.SetIQ}, payload)
		if err != nil {
			close(failed)
			if c.life.Err() == nil {
				c.log.Warn("Jingle: sending", "action", iq.Jingle.Action.String(), "sid", iq.Jingle.SID, "to", iq.To, "err", err)
			}
			return
		}
		reply, err := readJingleReply(r)
		r.Close()
		if err != nil {
			c.log.Warn("Jingle: an answer that does not read", "id", iq.ID, "from", iq.To, "err", err)
			return
		}
		c.post(func() { c.jingleReply(reply) })
	}()
	wait := time.NewTimer(writeWait)
	defer wait.Stop()
	select {
	case <-payload.end:
	case <-failed:
	case <-c.done:
	case <-wait.C:
		c.log.Warn("Jingle: the IQ is not written yet; going on", "id", iq.ID, "after", writeWait)
	}
}

// writeWait bounds how long the loop waits for an IQ to be written.
const writeWait = 10 * time.Second

// readJingleReply decodes the answer mellium hands to the sender of an IQ:
// the <iq/> of type result or error.
func readJingleReply(r xml.TokenReader) (jingle.IQ, error) {
	for {
		tok, err := r.Token()
		if err != nil {
			return jingle.IQ{}, err
		}
		if start, ok := tok.(xml.StartElement); ok {
			return jingle.DecodeIQ(r, start)
		}
	}
}

// jingleReply hands the answer to one of our IQ sets to the engine, and
// starts the trickle of a session whose initiate or accept was
// acknowledged. On the loop.
func (c *Client) jingleReply(reply jingle.IQ) {
	c.jingleInput(session.ReplyReceived{IQ: reply})
	sid, ok := c.flow.startOnReply[reply.ID]
	if !ok {
		return
	}
	delete(c.flow.startOnReply, reply.ID)
	if reply.Type != "result" {
		return
	}
	if s, ok := c.flow.m.Session(sid); !ok || !s.MediaOpen {
		return
	}
	if m := c.mediaOf(sid); m != nil {
		m.sess.Started()
	}
}

// jingleIQWithMedia answers a Jingle IQ set through the Jingle engine.
// It writes only the answer, on t; what the engine sends besides goes out
// after it, from the loop.
func (c *Client) jingleIQWithMedia(t xmlstream.TokenWriter, iq inIQ) error {
	parsed, err := jingle.Parse(iq.raw)
	if err != nil || parsed.Jingle == nil {
		c.log.Warn("refused a malformed Jingle IQ", "from", iq.from, "id", iq.id, "err", err)
		return c.replyError(t, iq, "modify", "bad-request", nil)
	}
	parsed.From, parsed.To, parsed.ID, parsed.Type = iq.from, iq.to, iq.id, iq.typ
	c.log.Debug("Jingle received", "action", parsed.Jingle.Action.String(), "sid", parsed.Jingle.SID, "from", iq.from)
	from, err := jid.Parse(iq.from)
	if err != nil {
		// No session is with a device we cannot even name.
		return c.replyError(t, iq, "cancel", "item-not-found", unknownSessionElement())
	}
	var answer *jingle.IQ
	var held []func()
	ctx, cancel := context.WithTimeout(c.life, 5*time.Second)
	var stranger bool
	err = c.run(ctx, func() {
		if !from.Bare().Equal(c.cfg.JID.Bare()) && !c.flow.trust(from.Bare()) && !c.callWith(parsed.Jingle.SID, from) {
			// Whoever may not make this device ring must not learn that
			// it is online either (XEP-0353 §6): <service-unavailable/>
			// is what the server answers for a device that is not
			// (RFC 6121 §8.5.3.2.1), and XEP-0166 §6.3.2's answer to an
			// initiator the responder does not talk to.
			stranger = true
			return
		}
		if in, ok := c.flow.answered[parsed.Jingle.SID]; ok && !in.Outgoing && in.Remote.Equal(from) {
			// The caller's Jingle came before its features: it speaks
			// Jingle, and the session begins here.
			c.callAnswered(in)
		}
		effs, err := c.flow.m.Handle(time.Now(), session.IQReceived{IQ: parsed})
		if err != nil {
			c.log.Warn("Jingle engine refused a received IQ", "from", iq.from, "err", err)
			return
		}
		// The answer to this IQ is written here; the rest waits for it.
		rest := effs[:0:0]
		for _, e := range effs {
			if s, ok := e.(session.SendIQ); ok && s.IQ.Type != "set" && s.IQ.ID == iq.id && answer == nil {
				a := s.IQ
				answer = &a
				if s.Why != "" {
					c.log.Warn("Jingle: refused an IQ", "from", iq.from, "id", iq.id, "why", s.Why)
				}
				continue
			}
			rest = append(rest, e)
		}
		peer := jid.JID{}
		if parsed.Jingle.Action == jingle.ActionSessionTerminate {
			peer = from
		}
		c.flow.hold = true
		c.applyJingle(rest, peer)
		c.flow.hold = false
		held, c.flow.held = c.flow.held, nil
	})
	cancel()
	if err != nil {
		return c.replyError(t, iq, "wait", "internal-server-error", nil)
	}
	if stranger {
		c.log.Warn("Jingle from a sender not trusted; answered as if offline", "from", iq.from, "action", parsed.Jingle.Action.String())
		return c.replyError(t, iq, "cancel", "service-unavailable", nil)
	}
	if answer == nil {
		answer = &jingle.IQ{}
		*answer = parsed.ErrorReply(jingle.StanzaError{Type: "cancel", Condition: "internal-server-error"})
	}
	if err := c.writeJingleAnswer(t, iq, *answer); err != nil {
		return err
	}
	if len(held) > 0 {
		// Posted from another goroutine: the loop may be waiting for the
		// stream's writer, which this handler holds until it returns, and
		// its inbox may be full.
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.post(func() {
				for _, f := range held {
					f()
				}
			})
		}()
	}
	return nil
}

// writeJingleAnswer writes the engine's answer to iq on t, addressed to
// iq's raw from (as every answer of the client is).
func (c *Client) writeJingleAnswer(t xmlstream.TokenWriter, iq inIQ, a jingle.IQ) error {
	if a.Type == "error" && a.Error != nil {
		var app xml.TokenReader
		if a.Error.JingleCondition != "" {
			app = xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: nsJingleErrors, Local: a.Error.JingleCondition}})
		}
		return c.replyError(t, iq, a.Error.Type, a.Error.Condition, app)
	}
	return c.replyResult(t, iq, nil)
}

func unknownSessionElement() xml.TokenReader {
	return xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: nsJingleErrors, Local: "unknown-session"}})
}

// mediaOf returns the media of call sid, or nil.
func (c *Client) mediaOf(sid string) *callMedia {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.media[sid]
}

// newCallMedia opens the media session of call sid in role. On the loop.
func (c *Client) newCallMedia(sid string, role media.Role) (*callMedia, error) {
	mc := c.cfg.Media
	m := &callMedia{}
	var src media.Source
	var sink media.Sink
	var err error
	if mc.Source != nil {
		if src, err = mc.Source(sid); err != nil {
			return nil, fmt.Errorf("client: the audio source of call %s: %w", sid, err)
		}
		if cl, ok := src.(io.Closer); ok {
			m.closers = append(m.closers, cl.Close)
		}
	}
	if src == nil {
		src = &media.Tone{Frequency: defaultToneHz}
	}
	if mc.Sink != nil {
		if sink, err = mc.Sink(sid); err != nil {
			m.close()
			return nil, fmt.Errorf("client: the audio sink of call %s: %w", sid, err)
		}
		if cl, ok := sink.(io.Closer); ok {
			m.closers = append(m.closers, cl.Close)
		}
	}
	cfg := media.Config{
		Role: role, Source: src, Sink: sink,
		ICEServers: c.iceServers(), RelayOnly: mc.RelayOnly, LoopbackOnly: mc.LoopbackOnly, Configure: mc.Configure,
		Logger: c.log.With("sid", sid),
	}
	cfg.OnEvent = func(ev media.Event) { c.mediaEvent(sid, m, ev) }
	s, err := media.NewSession(cfg)
	if err != nil {
		m.close()
		return nil, fmt.Errorf("client: the media session of call %s: %w", sid, err)
	}
	m.sess = s
	return m, nil
}

// defaultToneHz is the tone a call with no MediaConfig.Source sends.
const defaultToneHz = 440

// keepMedia makes m the media of call sid.
func (c *Client) keepMedia(sid string, m *callMedia) {
	c.mu.Lock()
	if c.media == nil {
		c.media = map[string]*callMedia{}
	}
	old := c.media[sid]
	c.media[sid] = m
	c.mu.Unlock()
	if old != nil {
		c.closeMediaLater(old)
	}
}

// stopMedia closes the media of call sid, if any, without waiting.
func (c *Client) stopMedia(sid string) {
	c.mu.Lock()
	m := c.media[sid]
	delete(c.media, sid)
	c.mu.Unlock()
	if m != nil {
		c.closeMediaLater(m)
	}
}

// closeMediaLater closes m on a goroutine of its own: the media's last
// events are posted to the loop, which must not wait for them.
func (c *Client) closeMediaLater(m *callMedia) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		m.close()
	}()
}

// closeAllMedia closes every media session and waits; for Close, once the
// loop has stopped.
func (c *Client) closeAllMedia() {
	c.mu.Lock()
	all := c.media
	c.media = nil
	c.mu.Unlock()
	for _, m := range all {
		m.close()
	}
}

// close closes the session and then the Source and Sink it used.
func (m *callMedia) close() {
	if m.sess != nil {
		_ = m.sess.Close()
	}
	for _, f := range m.closers {
		_ = f()
	}
	m.closers = nil
}

// mediaEvent takes an event of the media session m of call sid, from the
// session's own goroutine: the application's OnEvent sees it at once, and
// what the Jingle session must carry goes to the loop.
func (c *Client) mediaEvent(sid string, m *callMedia, ev media.Event) {
	if f := c.cfg.Media.OnEvent; f != nil {
		f(sid, ev)
	}
	switch {
	case ev.Kind == media.EventCandidate:
		cand, content := ev.Candidate, ev.Content
		c.post(func() {
			if c.mediaOf(sid) != m {
				return // ended meanwhile
			}
			c.jingleInput(session.LocalCandidates{SID: sid, Content: content, Transport: jingle.Transport{Candidates: []jingle.Candidate{cand}}})
		})
	case ev.Kind == media.EventState && ev.State == media.StateFailed:
		c.post(func() {
			if c.mediaOf(sid) != m {
				return
			}
			c.log.Warn("media failed; ending the call", "sid", sid)
			c.jingleInput(session.Terminate{SID: sid, Reason: &jmi.Reason{Condition: jmi.ConnectivityError, Text: "ICE or DTLS failed"}})
		})
	}
}

// startInitiatorMedia opens the media of the outgoing call sid, answered
// with this device, and sends its offer in the session-initiate. On the
// loop.
func (c *Client) startInitiatorMedia(sid string) {
	m, err := c.newCallMedia(sid, media.Initiator)
	var offer []jingle.Content
	if err == nil {
		if offer, err = m.sess.Offer(); err != nil {
			m.close()
		}
	}
	if err != nil {
		c.log.Error("no media for the call", "sid", sid, "err", err)
		c.jingleInput(session.Terminate{SID: sid, Reason: &jmi.Reason{Condition: jmi.FailedApplication, Text: err.Error()}})
		return
	}
	c.keepMedia(sid, m)
	effs, err := c.flow.m.Handle(time.Now(), session.Initiate{SID: sid, Contents: offer})
	if err != nil {
		c.log.Error("the media's offer cannot be sent", "sid", sid, "err", err)
		c.stopMedia(sid)
		c.jingleInput(session.Terminate{SID: sid, Reason: &jmi.Reason{Condition: jmi.FailedApplication, Text: err.Error()}})
		return
	}
	c.applyJingle(effs, jid.JID{})
}

// startResponderMedia opens the media of the session the peer initiated,
// answers its offer and sends the session-accept. On the loop.
func (c *Client) startResponderMedia(e session.StartMedia) {
	m, err := c.newCallMedia(e.SID, media.Responder)
	var answer []jingle.Content
	if err == nil {
		if answer, err = m.sess.Answer(e.Offer); err != nil {
			m.close()
		}
	}
	if err != nil {
		c.log.Warn("the session-initiate cannot be answered", "sid", e.SID, "err", err)
		c.jingleInput(session.Terminate{SID: e.SID, Reason: mediaFailure(err)})
		return
	}
	c.keepMedia(e.SID, m)
	effs, err := c.flow.m.Handle(time.Now(), session.Accept{SID: e.SID, Contents: answer})
	if err != nil {
		c.log.Warn("the media's answer cannot be sent", "sid", e.SID, "err", err)
		c.stopMedia(e.SID)
		c.jingleInput(session.Terminate{SID: e.SID, Reason: &jmi.Reason{Condition: jmi.FailedApplication, Text: err.Error()}})
		return
	}
	c.applyJingle(effs, jid.JID{})
}

// hangUpWithMedia finishes call id: a Jingle session under way is
// terminated first (session-terminate, media closed, then our finish), so
// that the peer learns of the hang-up from the session before the finish
// ends its call; without one, the finish alone. On the loop.
func (c *Client) hangUpWithMedia(id string, reason *jmi.Reason) error {
	if _, ok := c.flow.m.Session(id); ok {
		if info, ok := c.dev.Call(id); ok && info.State == call.StateActive {
			c.jingleInput(session.Terminate{SID: id, Reason: reason})
			return nil
		}
	}
	effs, err := c.dev.Do(time.Now(), call.UserFinish{ID: id, Reason: reason})
	c.apply(effs)
	return err
}
