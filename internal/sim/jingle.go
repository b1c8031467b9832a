package sim

import (
	"fmt"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/jingle"
	"github.com/jmi-xmpp/jmi/jingle/session"
	"mellium.im/xmpp/jid"
)

// The Jingle side of a device: its session engine fed from its call
// engine's events, and a media layer that answers at once (it opens a media
// session with its offer or the remote offer, and trickles a candidate or
// two). IQs travel through the server model like messages but unordered,
// even between one pair: clients handle them asynchronously (Monal answers a
// session-initiate only once its WebRTC stack has), which is how a
// transport-info overtakes the session-initiate it follows.

// media is what a device's media layer holds for one call.
type media struct {
	remote jid.JID
	// described: the remote offer or answer was handed over, so remote
	// candidates may be added (pion refuses them before).
	described bool
}

// callToSession feeds the session engine of d what its call engine just
// told the application.
func (w *World) callToSession(d *Device, ev call.Event) {
	switch ev.Type {
	case call.EventProceeded:
		info, ok := d.Machine.Call(ev.ID)
		if !ok {
			return
		}
		w.sessionInput(d, session.CallAnswered{SID: ev.ID, Self: info.Self, Remote: info.Device, Outgoing: info.Direction == call.Outgoing, Media: info.Media})
		if s, ok := d.Session.Session(ev.ID); ok && s.Role == session.RoleInitiator && s.State == session.StateAwaiting {
			// The caller's device that got the proceed initiates
			// (XEP-0353 §3.6); its media layer makes the offer now.
			w.logf("%s: media offers %s", d.JID.Resourcepart(), ev.ID)
			d.media[ev.ID] = &media{remote: s.Remote}
			w.sessionInput(d, session.Initiate{SID: ev.ID, Contents: offerOf(s.Media)})
			w.trickle(d, ev.ID)
		}
	case call.EventFinished, call.EventRejected, call.EventRetracted, call.EventMissed:
		var r *jmi.Reason
		if ev.Reason != "" {
			r = &jmi.Reason{Condition: jmi.Condition(ev.Reason)}
		}
		w.sessionInput(d, session.CallEnded{SID: ev.ID, Reason: r, MigratedTo: ev.MigratedTo})
	}
}

// offerOf is one content per medium, as pion offers them.
func offerOf(mediaNames []string) []jingle.Content {
	if len(mediaNames) == 0 {
		mediaNames = []string{"audio"}
	}
	var cs []jingle.Content
	for i, m := range mediaNames {
		cs = append(cs, jingle.Content{
			Name:        fmt.Sprint(i),
			Description: &jingle.Description{Media: m, Payloads: []jingle.PayloadType{{ID: 0, Name: "PCMU", Clockrate: 8000}}, RTCPMux: true},
			Transport:   &jingle.Transport{Ufrag: "ufrag", Pwd: "a-password-of-22-chars", Fingerprint: &jingle.Fingerprint{Hash: "sha-256", Setup: jingle.SetupActpass, Value: "AB:CD"}},
		})
	}
	return cs
}

// trickle sends one or two transport-info, sometimes with a candidate for
// component 2 or over TCP as Dino and Monal send, which the receiver drops.
func (w *World) trickle(d *Device, sid string) {
	s, ok := d.Session.Session(sid)
	if !ok {
		return
	}
	for i := range 1 + w.rng.IntN(2) {
		c := jingle.Candidate{Component: 1, Foundation: "1", ID: fmt.Sprintf("%s-%d", d.JID.Resourcepart(), i), IP: "192.0.2.1", Port: uint16(40000 + i), Priority: 2130706431, Protocol: "udp", Type: "host"}
		switch w.rng.IntN(4) {
		case 0:
			c.Component = 2
		case 1:
			c.Protocol = "tcp"
		}
		for n := range s.Media {
			w.sessionInput(d, session.LocalCandidates{SID: sid, Content: fmt.Sprint(n), Transport: jingle.Transport{Candidates: []jingle.Candidate{c}}})
		}
		if len(s.Media) == 0 {
			w.sessionInput(d, session.LocalCandidates{SID: sid, Content: "0", Transport: jingle.Transport{Candidates: []jingle.Candidate{c}}})
		}
	}
}

// sessionInput hands in to the session engine of d and carries out its
// effects.
func (w *World) sessionInput(d *Device, in session.Input) {
	effs, err := d.Session.Handle(w.Now, in)
	if err != nil {
		panic(fmt.Sprintf("sim: %s: session %T: %v", d.JID, in, err))
	}
	w.applySession(d, effs)
}

func (w *World) applySession(d *Device, effs []session.Effect) {
	for _, e := range effs {
		switch e := e.(type) {
		case session.SendIQ:
			w.logf("%s sends iq %s", d.JID.Resourcepart(), iqSummary(e.IQ))
			w.routeIQ(d, e.IQ)
		case session.StartMedia:
			if d.media[e.SID] != nil {
				w.violate("%s: StartMedia for %s, whose media is open", d.JID, e.SID)
			}
			d.media[e.SID] = &media{remote: e.Remote, described: true}
			w.logf("%s: media answers %s", d.JID.Resourcepart(), e.SID)
			var answer []jingle.Content
			for _, c := range e.Offer {
				c.Transport = &jingle.Transport{Ufrag: "ufrag2", Pwd: "another-password-22-ch", Fingerprint: &jingle.Fingerprint{Hash: "sha-256", Setup: jingle.SetupActive, Value: "EF:01"}}
				answer = append(answer, c)
			}
			w.sessionInput(d, session.Accept{SID: e.SID, Contents: answer})
			w.trickle(d, e.SID)
		case session.MediaAnswered:
			m := d.media[e.SID]
			if m == nil {
				w.violate("%s: MediaAnswered for %s, whose media is not open", d.JID, e.SID)
				continue
			}
			m.described = true
		case session.AddRemoteCandidates:
			if m := d.media[e.SID]; m == nil || !m.described {
				w.violate("%s: remote candidates for %s before its remote description", d.JID, e.SID)
			}
			for _, c := range e.Transport.Candidates {
				if c.Component != 1 || c.Protocol != "udp" {
					w.violate("%s: candidate %s of component %d over %s handed to the media layer", d.JID, c.ID, c.Component, c.Protocol)
				}
			}
		case session.StopMedia:
			if d.media[e.SID] == nil {
				w.violate("%s: StopMedia for %s, whose media is not open", d.JID, e.SID)
			}
			delete(d.media, e.SID)
			w.logf("%s: media stops %s", d.JID.Resourcepart(), e.SID)
		case session.FinishCall:
			// session-terminate → JMI finish (Monal does the same): the
			// user of a Conversations or Dino peer hung up.
			if info, ok := d.Machine.Call(e.SID); ok && info.State == call.StateActive && !info.Elsewhere {
				w.logf("%s: session over, finishes %s", d.JID.Resourcepart(), e.SID)
				w.input(d, call.UserFinish{ID: e.SID, Reason: e.Reason})
			}
		case session.Ignored:
			w.logf("%s: session ignores: %s", d.JID.Resourcepart(), e.Why)
		}
	}
}

func iqSummary(iq jingle.IQ) string {
	s := iq.Type + " " + iq.ID + " to " + iq.To
	if iq.Jingle != nil {
		s += " " + iq.Jingle.Action.String() + " " + iq.Jingle.SID
	}
	if iq.Error != nil {
		s += " " + iq.Error.Condition + " " + iq.Error.JingleCondition
	}
	return s
}

// routeIQ models the server for an IQ: to the online device with that full
// JID; to anything else the server answers a request with
// service-unavailable (RFC 6120 §10.5.3.2), and drops a result or error.
func (w *World) routeIQ(from *Device, iq jingle.IQ) {
	to, err := iq.ToJID()
	if err != nil {
		panic(fmt.Sprintf("sim: %s sends an iq to %q: %v", from.JID, iq.To, err))
	}
	var dst *Device
	if a := w.account(to); a != nil {
		for _, d := range a.Devices {
			if d.JID.Equal(to) && d.Online {
				dst = d
			}
		}
	}
	if dst != nil {
		w.queue = append(w.queue, delivery{to: dst, from: from.JID.String(), iq: &iq})
		return
	}
	if iq.Type == "set" || iq.Type == "get" {
		bounce := iq.ErrorReply(jingle.StanzaError{Type: "cancel", Condition: "service-unavailable"})
		w.queue = append(w.queue, delivery{to: from, from: iq.To, iq: &bounce})
	}
}

// deliverIQ hands an IQ to the session engine of d.
func (w *World) deliverIQ(d *Device, iq jingle.IQ) {
	w.logf("%s <- iq %s from %s", d.JID.Resourcepart(), iqSummary(iq), iq.From)
	if iq.Type == "set" || iq.Type == "get" {
		w.sessionInput(d, session.IQReceived{IQ: iq})
	} else {
		w.sessionInput(d, session.ReplyReceived{IQ: iq})
	}
}

func (w *World) violate(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	w.logf("VIOLATION: %s", msg)
	if w.violation == "" {
		w.violation = msg
	}
}

// checkSessions verifies the Jingle invariants over every online device:
// a session (and media) only on the device in the answered call, with the
// peer device the call names, in the role JMI gave it; at most one per
// account and call; none for a call that ended on any device; and, for a
// call whose two devices are online with nothing in flight, both sessions
// active with media described on both sides.
func (w *World) checkSessions(snaps map[*Device]map[string]call.Info) error {
	if w.violation != "" {
		return fmt.Errorf("jingle: %s", w.violation)
	}
	ended := map[string]string{} // call id -> a device where it ended
	for _, a := range w.Accounts {
		for _, d := range a.Devices {
			for _, c := range snaps[d] {
				if c.State == call.StateEnded && ended[c.ID] == "" {
					ended[c.ID] = d.JID.String()
				}
			}
		}
	}
	type holder struct {
		d *Device
		s session.Info
	}
	byCall := map[string][]holder{}
	for _, a := range w.Accounts {
		for _, d := range a.Devices {
			if !d.Online {
				continue
			}
			for sid := range d.media {
				if _, ok := d.Session.Session(sid); !ok {
					return fmt.Errorf("%s holds media for %s without a session", d.JID, sid)
				}
			}
			for _, s := range d.Session.Sessions() {
				c, ok := snaps[d][s.SID]
				switch {
				case !ok:
					return fmt.Errorf("%s has a %s session %s for no call", d.JID, s.State, s.SID)
				case c.State != call.StateActive || c.Elsewhere || !c.Self.Equal(d.JID):
					return fmt.Errorf("%s has a %s session %s for a call %s here (elsewhere=%v, in it: %s)", d.JID, s.State, s.SID, c.State, c.Elsewhere, c.Self)
				case !s.Remote.Equal(c.Device):
					return fmt.Errorf("%s has session %s with %s, but the call is with %s", d.JID, s.SID, s.Remote, c.Device)
				case (s.Role == session.RoleInitiator) != (c.Direction == call.Outgoing):
					return fmt.Errorf("%s is the %s of session %s of a %v call", d.JID, s.Role, s.SID, c.Direction)
				case s.MediaOpen != (d.media[s.SID] != nil):
					return fmt.Errorf("%s: session %s says media open=%v, the media layer disagrees", d.JID, s.SID, s.MediaOpen)
				}
				if where, ok := ended[s.SID]; ok && !w.waitsForDinosEnd(d, s.SID) {
					// (Unless the peer hung up as Dino does and the
					// session-terminate was lost with a dropped connection:
					// nothing tells of it but a time-out, which is due.)
					return fmt.Errorf("%s has a %s session %s for a call that ended on %s", d.JID, s.State, s.SID, where)
				}
				byCall[s.SID] = append(byCall[s.SID], holder{d, s})
			}
		}
	}
	for sid, hs := range byCall {
		seen := map[*Account]string{}
		for _, h := range hs {
			if o, ok := seen[h.d.Account]; ok {
				return fmt.Errorf("call %s has two sessions on %s: %s and %s", sid, h.d.Account.Bare, o, h.d.JID)
			}
			seen[h.d.Account] = h.d.JID.String()
		}
	}
	// Liveness: both devices in the call online, nothing of theirs in
	// flight (an IQ lost with a dropped connection waits for its time-out):
	// the session is up on both.
	for _, a := range w.Accounts {
		for _, d := range a.Devices {
			if !d.Online {
				continue
			}
			for _, c := range snaps[d] {
				if c.State != call.StateActive || c.Elsewhere || !c.Self.Equal(d.JID) {
					continue
				}
				peer := w.device(c.Device)
				if peer == nil || !peer.Online || inFlight(d, c.ID) || inFlight(peer, c.ID) {
					continue
				}
				pc, ok := snaps[peer][c.ID]
				if !ok || pc.State != call.StateActive || pc.Elsewhere || !pc.Self.Equal(peer.JID) || !pc.Device.Equal(d.JID) {
					// The peer hung up (with a <finish/>, or as Dino with a
					// session-terminate only): the call must be over here too.
					if w.waitsForDinosEnd(d, c.ID) {
						continue
					}
					return fmt.Errorf("call %s is up on %s with %s, which is %s (elsewhere=%v, in it: %s)", c.ID, d.JID, peer.JID, pc.State, pc.Elsewhere, pc.Self)
				}
				s, ok := d.Session.Session(c.ID)
				if !ok || s.State != session.StateActive || !s.RemoteDescription {
					return fmt.Errorf("call %s is up between %s and %s, but the session of %s is %+v", c.ID, d.JID, peer.JID, d.JID, s)
				}
			}
		}
	}
	return nil
}

// waitsForDinosEnd reports whether the peer hung up sid as Dino does
// (session-terminate only, which a dropped connection may lose) and d's
// session has a time-out to come that will end it: nothing else can.
func (w *World) waitsForDinosEnd(d *Device, sid string) bool {
	s, ok := d.Session.Session(sid)
	return !w.strict && w.dinoHungUp[sid] && ok && !s.Deadline.IsZero()
}

// inFlight reports whether an IQ of d's session sid waits for its answer
// (one lost with a dropped connection waits for its time-out).
func inFlight(d *Device, sid string) bool {
	s, ok := d.Session.Session(sid)
	return ok && s.InFlight > 0
}

func (w *World) device(j jid.JID) *Device {
	if a := w.account(j); a != nil {
		for _, d := range a.Devices {
			if d.JID.Equal(j) {
				return d
			}
		}
	}
	return nil
}

// nextSessionDeadline is the earliest deadline of the session engines of
// the online devices not after end, and its device.
func (w *World) nextSessionDeadline(end time.Time) (time.Time, *Device) {
	var next time.Time
	var dev *Device
	for _, a := range w.Accounts {
		for _, d := range a.Devices {
			if !d.Online {
				continue
			}
			if dl := d.Session.NextDeadline(); !dl.IsZero() && !dl.After(end) && (next.IsZero() || dl.Before(next)) {
				next, dev = dl, d
			}
		}
	}
	return next, dev
}
