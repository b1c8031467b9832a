package session

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/jingle"
)

// initiate sends the session-initiate of an answered outgoing call to the
// device that proceeded, with the propose id as sid (XEP-0353 §3.6,
// XEP-0166 §6.2).
func (m *Machine) initiate(now time.Time, in Initiate, out *effects) error {
	s, err := m.mine(in.SID)
	if err != nil {
		return err
	}
	if s.Role != RoleInitiator || s.State != StateAwaiting {
		return fmt.Errorf("%w: initiate a session of which this device is the %s, %s", ErrInvalidState, s.Role, s.State)
	}
	if why := checkContents(in.Contents, s.Media, nil); why != "" {
		return fmt.Errorf("%w: %s", ErrInvalidInput, why)
	}
	// initiator: Dino writes it, Conversations and Monal do not; send it,
	// never require it.
	j := &jingle.Jingle{Action: jingle.ActionSessionInitiate, SID: s.SID, Initiator: m.self, Contents: cloneContents(in.Contents), Group: bundle(in.Contents)}
	if err := j.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	s.local = cloneContents(in.Contents)
	s.State, s.MediaOpen = StatePending, true
	m.sendSet(now, s, j, out)
	return nil
}

// accept sends the session-accept of a pending session (XEP-0166 §6.5).
func (m *Machine) accept(now time.Time, in Accept, out *effects) error {
	s, err := m.mine(in.SID)
	if err != nil {
		return err
	}
	if s.Role != RoleResponder || s.State != StatePending {
		return fmt.Errorf("%w: accept a session of which this device is the %s, %s", ErrInvalidState, s.Role, s.State)
	}
	if why := checkContents(in.Contents, s.Media, s.offer); why != "" {
		return fmt.Errorf("%w: %s", ErrInvalidInput, why)
	}
	j := &jingle.Jingle{Action: jingle.ActionSessionAccept, SID: s.SID, Initiator: s.Remote.String(), Responder: m.self, Contents: cloneContents(in.Contents), Group: bundle(in.Contents)}
	if err := j.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	s.local = cloneContents(in.Contents)
	s.State = StateActive
	m.sendSet(now, s, j, out)
	return nil
}

// terminate ends the session from this side: session-terminate (XEP-0166
// §6.7) and the JMI finish with it (Monal, too, turns one into the other).
func (m *Machine) terminate(now time.Time, in Terminate, out *effects) error {
	s, err := m.mine(in.SID)
	if err != nil {
		return err
	}
	r := in.Reason
	if r == nil {
		r = &jmi.Reason{Condition: jmi.Success}
	}
	m.end(now, s, true, r, true, out)
	return nil
}

// localCandidates sends one transport-info (XEP-0176 §5: trickled, as
// Conversations and Dino do, one per transport-info).
func (m *Machine) localCandidates(now time.Time, in LocalCandidates, out *effects) error {
	s, err := m.mine(in.SID)
	if err != nil {
		return err
	}
	// The offer (initiator) or the answer (responder) goes first: the
	// peer cannot use candidates before it.
	if s.Role == RoleInitiator && s.State != StatePending && s.State != StateActive || s.Role == RoleResponder && s.State != StateActive {
		return fmt.Errorf("%w: candidates for a session of which this device is the %s, %s", ErrInvalidState, s.Role, s.State)
	}
	var content *jingle.Content
	for i := range s.local {
		if s.local[i].Name == in.Content {
			content = &s.local[i]
		}
	}
	if content == nil {
		return fmt.Errorf("%w: no content %q in session %q", ErrInvalidInput, in.Content, s.SID)
	}
	t := in.Transport
	t.Candidates = slices.Clone(t.Candidates)
	j := &jingle.Jingle{Action: jingle.ActionTransportInfo, SID: s.SID, Contents: []jingle.Content{{Creator: content.Creator, Name: content.Name, Senders: content.Senders, Transport: &t}}}
	if err := j.Validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidInput, err)
	}
	m.sendSet(now, s, j, out)
	return nil
}

// resumed pings every session the peer knows of, by sid.
func (m *Machine) resumed(now time.Time, out *effects) {
	for _, i := range m.Sessions() {
		s := m.sessions[i.SID]
		if s.State == StatePending || s.State == StateActive {
			m.sendSet(now, s, &jingle.Jingle{Action: jingle.ActionSessionInfo, SID: s.SID}, out)
		}
	}
}

// tick times out the IQs whose answer did not come within IQTimeout. A
// session-initiate or session-accept without answer ends its session; a
// transport-info or session-terminate is only forgotten.
func (m *Machine) tick(now time.Time, out *effects) {
	var due []string
	for id, p := range m.pending {
		if !p.deadline.After(now) {
			due = append(due, id)
		}
	}
	sort.Slice(due, func(i, j int) bool {
		a, b := m.pending[due[i]], m.pending[due[j]]
		if !a.deadline.Equal(b.deadline) {
			return a.deadline.Before(b.deadline)
		}
		return due[i] < due[j]
	})
	// A session that did not start: the initiator's media layer made no
	// offer, or the responder got no session-initiate (Dino hangs up with a
	// session-terminate only, which a dropped connection can lose: nothing
	// else would end the call).
	for _, i := range m.Sessions() {
		s := m.sessions[i.SID]
		if s.State == StateAwaiting && !s.awaitUntil.After(now) {
			why := "no session-initiate"
			if s.Role == RoleInitiator {
				why = "no offer"
			}
			m.end(now, s, false, &jmi.Reason{Condition: jmi.Timeout, Text: why + " within " + m.cfg.IQTimeout.String() + " of the answer"}, true, out)
		}
	}
	for _, id := range due {
		p := m.pending[id]
		delete(m.pending, id)
		s := m.sessions[p.sid]
		if s == nil || s.serial != p.serial {
			continue
		}
		if p.action == jingle.ActionSessionInitiate || p.action == jingle.ActionSessionAccept {
			m.end(now, s, true, &jmi.Reason{Condition: jmi.Timeout, Text: p.action.String() + " not answered"}, true, out)
		}
	}
}

// checkContents says why contents cannot be an offer (against nil) or an
// answer to offer: no content, a name twice, a content without an RTP
// description or an ICE-UDP transport, senders none (Dino refuses it too), a
// name the offer lacks, or media other than the call's. Every medium of the
// call in exactly one content: Conversations ends a session whose media
// differ from the propose, Monal refuses video in an audio call.
func checkContents(cs []jingle.Content, media []string, offer []jingle.Content) string {
	if len(cs) == 0 {
		return "no content"
	}
	var got []string
	for i, c := range cs {
		switch {
		case c.Description == nil:
			return fmt.Sprintf("content %q has no RTP description", c.Name)
		case c.Transport == nil:
			return fmt.Sprintf("content %q has no ICE-UDP transport", c.Name)
		case c.Senders == jingle.SendersNone:
			return fmt.Sprintf("content %q sends nothing", c.Name)
		case offer != nil && !hasContent(offer, c.Name):
			return fmt.Sprintf("content %q is not in the offer", c.Name)
		}
		for _, o := range cs[:i] {
			if o.Name == c.Name {
				return fmt.Sprintf("content %q twice", c.Name)
			}
		}
		got = append(got, c.Description.Media)
	}
	if len(media) == 0 {
		return ""
	}
	want := slices.Clone(media)
	slices.Sort(want)
	want = slices.Compact(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		return fmt.Sprintf("media %s, the call's are %s", strings.Join(got, "+"), strings.Join(want, "+"))
	}
	return ""
}

func hasContent(cs []jingle.Content, name string) bool {
	for _, c := range cs {
		if c.Name == name {
			return true
		}
	}
	return false
}

// bundle groups the contents in one BUNDLE (XEP-0338): Conversations and
// Monal send it, pion needs it (without it, pion answers with port 0).
func bundle(cs []jingle.Content) *jingle.Group {
	g := &jingle.Group{Semantics: "BUNDLE"}
	for _, c := range cs {
		g.Contents = append(g.Contents, c.Name)
	}
	return g
}

// cloneContents copies contents deep enough that the caller's later changes
// to its slices of candidates or payload types do not reach the Machine's.
func cloneContents(cs []jingle.Content) []jingle.Content {
	if cs == nil {
		return nil
	}
	out := make([]jingle.Content, len(cs))
	for i, c := range cs {
		if c.Description != nil {
			d := *c.Description
			d.Payloads = slices.Clone(d.Payloads)
			c.Description = &d
		}
		if c.Transport != nil {
			t := *c.Transport
			t.Candidates = slices.Clone(t.Candidates)
			c.Transport = &t
		}
		c.Extra = slices.Clone(c.Extra)
		out[i] = c
	}
	return out
}
