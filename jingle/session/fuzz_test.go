package session_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/jingle"
	"github.com/jmi-xmpp/jmi/jingle/session"
	"mellium.im/xmpp/jid"
)

// The fuzzer's world: two sids, the devices of both accounts, the contents
// a peer or the media layer might use.
var (
	fuzzSIDs    = []string{sid, "B", ""}
	fuzzDevices = []jid.JID{romeo, romeo2, juliet, tablet, romeo.Bare(), {}}
	fuzzContent = [][]jingle.Content{
		{audio0},
		{audio0, video1},
		{video1},
		nil,
		{func() jingle.Content { c := content("0", "audio"); c.Senders = jingle.SendersNone; return c }()},
		{{Name: "0", Transport: &jingle.Transport{Candidates: []jingle.Candidate{candidate("c1", 1, "udp"), candidate("c2", 2, "udp"), candidate("c3", 1, "tcp")}}}},
		{{Name: "0", Transport: &jingle.Transport{Ufrag: "new", Pwd: "restart-password-22ch"}}},
	}
	fuzzErrors = []*jingle.StanzaError{nil, &jingle.UnknownSession, &jingle.OutOfOrder, &jingle.TieBreak, &jingle.BadRequest, {Type: "cancel", Condition: "service-unavailable"}}
)

// FuzzMachine turns bytes into inputs (Jingle IQs of every action from every
// device, answers to what the Machine sent, the JMI call's changes, local
// actions, time, and whole stanzas through jingle.Parse) and checks, after
// each: no panic; an error leaves no effect and no change; every IQ sent
// passes jingle's Validate and encodes; a set goes to the session's peer and
// an answer to the sender of what it answers; sessions exist only for calls
// answered here, with the peer device of the answer; remote candidates only
// after the remote description, component 1 over UDP only; media opened
// once and closed once, and never left open without a session; early
// transport-info within the cap; no deadline left in the past by a Tick.
func FuzzMachine(f *testing.F) {
	f.Add([]byte{1, 0, 0, 2, 4, 0, 0, 2, 11, 2, 3, 2, 14, 2, 0})
	f.Add([]byte{0, 0, 0, 3, 2, 10, 1, 0, 2, 13, 1, 0, 2, 13, 1, 0, 2, 8, 1, 0, 7, 0, 0, 8, 255, 0})
	f.Add([]byte{1, 0, 0, 2, 4, 0, 0, 2, 11, 2, 3, 9, 0, 0, 3, 2, 1, 3, 1, 5, 6, 0, 0})
	files, _ := filepath.Glob("../testdata/wire/*.xml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err == nil {
			// Answered as callee, then the stanza, its sid made ours.
			f.Add(append([]byte{0, 0, 0, 0, 11, 0, 0}, b...))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		self := juliet
		if data[0]&1 == 1 {
			self = romeo
		}
		h := &fuzzHarness{t: t, m: session.New(session.Config{Account: self}), self: self, now: t0, answered: map[string]jid.JID{}, open: map[string]bool{}, described: map[string]bool{}}
		data = data[1:]
		for len(data) >= 3 {
			k, a, b := data[0], data[1], data[2]
			data = data[3:]
			if k%12 == 11 {
				// A whole stanza, as the client would read it.
				iq, err := jingle.Parse(data)
				data = nil
				if err != nil || iq.Jingle == nil {
					return
				}
				iq.Jingle.SID = fuzzSIDs[int(a)%2]
				if b&1 == 0 {
					iq.From = romeo.String() // from the session's peer
				}
				h.step(session.IQReceived{IQ: iq}, iq)
				return
			}
			in, recvd := h.input(k, a, b)
			h.step(in, recvd)
		}
	})
}

type fuzzHarness struct {
	t         *testing.T
	m         *session.Machine
	self      jid.JID
	now       time.Time
	answered  map[string]jid.JID // sid -> the peer device of the last answer here
	open      map[string]bool    // media sessions the media layer holds
	described map[string]bool    // remote description handed over
	n         int
}

func pick[T any](xs []T, i byte) T { return xs[int(i)%len(xs)] }

// input makes an input of kind k from a and b, and the IQ it carries, if
// any.
func (h *fuzzHarness) input(k, a, b byte) (session.Input, jingle.IQ) {
	h.n++
	s := pick(fuzzSIDs, a)
	switch k % 12 {
	case 0:
		self := h.self
		if b&8 != 0 {
			self = pick(fuzzDevices, a>>2)
		}
		return session.CallAnswered{SID: s, Self: self, Remote: pick(fuzzDevices, b>>4), Outgoing: b&1 == 1, Media: pick([][]string{{"audio"}, {"audio", "video"}, nil}, b>>1)}, jingle.IQ{}
	case 1:
		var r *jmi.Reason
		if b&1 == 1 {
			r = &jmi.Reason{Condition: jmi.Decline}
		}
		return session.CallEnded{SID: s, Reason: r, MigratedTo: pick([]string{"", "B"}, b>>1)}, jingle.IQ{}
	case 2, 3:
		act := jingle.Action(1 + int(b)%15)
		j := &jingle.Jingle{Action: act, SID: s, Contents: pick(fuzzContent, a>>2)}
		if s == "" {
			j.SID = "x"
		}
		if act == jingle.ActionSessionInfo && b&16 != 0 {
			j.Extra = []jmi.RawElement{{XMLName: xmlName(pick([]string{session.NSRTPInfo, "urn:example"}, a>>5), "ringing")}}
		}
		iq := jingle.IQ{ID: fmt.Sprintf("r%d", h.n), Type: "set", From: pick(fuzzDevices, a>>4).String(), Jingle: j}
		return session.IQReceived{IQ: iq}, iq
	case 4:
		iq := jingle.IQ{ID: fmt.Sprintf("jingle-%d", 1+int(a)%8), Type: "result", From: pick(fuzzDevices, b).String()}
		if e := pick(fuzzErrors, b>>3); e != nil {
			iq.Type, iq.Error = "error", e
		}
		return session.ReplyReceived{IQ: iq}, jingle.IQ{}
	case 5:
		return session.Initiate{SID: s, Contents: pick(fuzzContent, b)}, jingle.IQ{}
	case 6:
		return session.Accept{SID: s, Contents: pick(fuzzContent, b)}, jingle.IQ{}
	case 7:
		return session.Terminate{SID: s}, jingle.IQ{}
	case 8:
		return session.LocalCandidates{SID: s, Content: pick([]string{"0", "1", "9"}, b), Transport: jingle.Transport{Candidates: []jingle.Candidate{candidate("l", 1, "udp")}}}, jingle.IQ{}
	case 9:
		h.now = h.now.Add(time.Duration(a) * time.Second * time.Duration(1+b%4))
		return session.Tick{}, jingle.IQ{}
	case 10:
		if b&1 == 1 {
			return session.Resumed{}, jingle.IQ{}
		}
		iq := jingle.IQ{ID: "odd", Type: pick([]string{"get", "result", "error", "set"}, a), From: romeo.String()}
		return session.IQReceived{IQ: iq}, iq
	}
	return session.Tick{}, jingle.IQ{}
}

func (h *fuzzHarness) step(in session.Input, recvd jingle.IQ) {
	t := h.t
	before := h.m.Sessions()
	effs, err := h.m.Handle(h.now, in)
	if err != nil {
		if len(effs) != 0 {
			t.Fatalf("%T failed with %v and asked for %d effects", in, err, len(effs))
		}
		if after := h.m.Sessions(); !reflect.DeepEqual(before, after) {
			t.Fatalf("%T failed with %v and changed the sessions:\n%+v\n%+v", in, err, before, after)
		}
		return
	}
	// A set goes to the peer of its session: the one before the input (a
	// session-terminate when the call moves) or after it.
	peers := map[string]bool{}
	for _, s := range before {
		peers[s.SID+" "+s.Remote.String()] = true
	}
	if a, ok := in.(session.CallAnswered); ok && a.Self.Equal(h.self) {
		h.answered[a.SID] = a.Remote
	}
	for _, s := range h.m.Sessions() {
		peers[s.SID+" "+s.Remote.String()] = true
	}
	if _, ok := in.(session.Initiate); ok {
		if h.open[in.(session.Initiate).SID] {
			t.Fatalf("Initiate accepted with media open")
		}
		h.open[in.(session.Initiate).SID] = true
	}
	for _, e := range effs {
		switch e := e.(type) {
		case session.SendIQ:
			if err := e.IQ.Validate(); err != nil {
				t.Fatalf("after %T: sends an IQ that does not validate: %v: %+v", in, err, e.IQ)
			}
			if _, err := jingle.MarshalIQ(e.IQ); err != nil {
				t.Fatalf("after %T: sends an IQ that does not encode: %v", in, err)
			}
			switch e.IQ.Type {
			case "set":
				if !peers[e.IQ.Jingle.SID+" "+e.IQ.To] {
					t.Fatalf("after %T: a %s to %s, not the peer of session %s", in, e.IQ.Jingle.Action, e.IQ.To, e.IQ.Jingle.SID)
				}
			default:
				if e.IQ.To != recvd.From || e.IQ.ID != recvd.ID {
					t.Fatalf("after %T: an answer %s/%s to %s/%s", in, e.IQ.ID, e.IQ.To, recvd.ID, recvd.From)
				}
			}
		case session.StartMedia:
			if h.open[e.SID] {
				t.Fatalf("StartMedia for %s with media open", e.SID)
			}
			h.open[e.SID], h.described[e.SID] = true, true
		case session.MediaAnswered:
			if !h.open[e.SID] {
				t.Fatalf("MediaAnswered for %s without media", e.SID)
			}
			h.described[e.SID] = true
		case session.AddRemoteCandidates:
			if !h.described[e.SID] {
				t.Fatalf("candidates for %s before its remote description", e.SID)
			}
			for _, c := range e.Transport.Candidates {
				if c.Component != 1 || c.Protocol != "udp" {
					t.Fatalf("candidate %+v handed over", c)
				}
			}
		case session.StopMedia:
			if !h.open[e.SID] {
				t.Fatalf("StopMedia for %s without media", e.SID)
			}
			delete(h.open, e.SID)
			delete(h.described, e.SID)
		}
	}
	for sid := range h.open {
		if _, ok := h.m.Session(sid); !ok {
			t.Fatalf("after %T: media of %s left open without a session", in, sid)
		}
	}
	for _, s := range h.m.Sessions() {
		if remote, ok := h.answered[s.SID]; !ok || !remote.Equal(s.Remote) {
			t.Fatalf("after %T: session %s with %s, answered with %s", in, s.SID, s.Remote, remote)
		}
		if s.Early > session.DefaultMaxEarlyTransportInfo {
			t.Fatalf("%d early transport-info kept", s.Early)
		}
		if s.MediaOpen != h.open[s.SID] {
			t.Fatalf("after %T: session %s media open %v, the media layer %v", in, s.SID, s.MediaOpen, h.open[s.SID])
		}
	}
	if _, ok := in.(session.Tick); ok {
		if dl := h.m.NextDeadline(); !dl.IsZero() && !dl.After(h.now) {
			t.Fatalf("deadline %v still due after a Tick at %v", dl, h.now)
		}
	}
}
