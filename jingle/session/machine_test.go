package session_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/jingle"
	"github.com/jmi-xmpp/jmi/jingle/session"
	"mellium.im/xmpp/jid"
)

var (
	romeo  = jid.MustParse("romeo@montague.example/orchard")
	romeo2 = jid.MustParse("romeo@montague.example/pda")
	juliet = jid.MustParse("juliet@capulet.example/phone")
	tablet = jid.MustParse("juliet@capulet.example/tablet")
	t0     = time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
)

const sid = "a73sjjvkla37jfea" // the propose id, and so the sid (XEP-0353 §3.6)

// content is a content of one medium as pion would offer it.
func content(name, media string) jingle.Content {
	return jingle.Content{
		Name:        name,
		Description: &jingle.Description{Media: media, Payloads: []jingle.PayloadType{{ID: 0, Name: "PCMU", Clockrate: 8000}}, RTCPMux: true},
		Transport:   &jingle.Transport{Ufrag: "u" + name, Pwd: "password-of-" + name, Fingerprint: &jingle.Fingerprint{Hash: "sha-256", Setup: jingle.SetupActpass, Value: "AB:CD"}},
	}
}

var (
	audio0 = content("0", "audio")
	video1 = content("1", "video")
)

func candidate(id string, component uint8, protocol string) jingle.Candidate {
	return jingle.Candidate{ID: id, Component: component, Foundation: "1", IP: "192.0.2.1", Port: 40000, Priority: 2130706431, Protocol: protocol, Type: "host"}
}

// transportInfo is a transport-info with the given candidates for content 0.
func transportInfo(cands ...jingle.Candidate) *jingle.Jingle {
	return &jingle.Jingle{Action: jingle.ActionTransportInfo, SID: sid, Contents: []jingle.Content{{Name: "0", Transport: &jingle.Transport{Candidates: cands}}}}
}

func action(a jingle.Action, cs ...jingle.Content) *jingle.Jingle {
	return &jingle.Jingle{Action: a, SID: sid, Contents: cs}
}

// recv is a Jingle IQ set from from to this device.
func recv(from jid.JID, id string, j *jingle.Jingle) session.IQReceived {
	return session.IQReceived{IQ: jingle.IQ{ID: id, Type: "set", From: from.String(), Jingle: j}}
}

// reply answers our n-th IQ set (ids are the prefix and a counter).
func reply(from jid.JID, n int, e *jingle.StanzaError) session.ReplyReceived {
	iq := jingle.IQ{ID: fmt.Sprintf("jingle-%d", n), Type: "result", From: from.String()}
	if e != nil {
		iq.Type, iq.Error = "error", e
	}
	return session.ReplyReceived{IQ: iq}
}

// The stages of a session on each side, as inputs from the start.
var (
	// Romeo proposed; Juliet's phone proceeded: Romeo initiates.
	answeredI  = session.CallAnswered{SID: sid, Self: romeo, Remote: juliet, Outgoing: true, Media: []string{"audio"}}
	awaitingI  = []session.Input{answeredI}
	pendingI   = []session.Input{answeredI, session.Initiate{SID: sid, Contents: []jingle.Content{audio0}}}
	activeI    = append(pendingI[:2:2], recv(juliet, "a1", action(jingle.ActionSessionAccept, audio0)))
	answeredR  = session.CallAnswered{SID: sid, Self: juliet, Remote: romeo, Media: []string{"audio"}}
	awaitingR  = []session.Input{answeredR}
	pendingR   = []session.Input{answeredR, recv(romeo, "i1", action(jingle.ActionSessionInitiate, audio0))}
	activeR    = append(pendingR[:2:2], session.Accept{SID: sid, Contents: []jingle.Content{audio0}})
	noSessionR []session.Input
)

// render writes effects in a compact form that table tests compare.
func render(effs []session.Effect) []string {
	var out []string
	for _, e := range effs {
		switch e := e.(type) {
		case session.SendIQ:
			iq := e.IQ
			switch iq.Type {
			case "set":
				s := fmt.Sprintf("set %s %s to %s", iq.Jingle.Action, iq.ID, iq.To)
				if r := iq.Jingle.Reason; r != nil {
					s += " reason=" + string(r.Condition)
					if r.SID != "" {
						s += ":" + r.SID
					}
				}
				out = append(out, s)
			case "error":
				s := "error " + iq.Error.Condition
				if iq.Error.JingleCondition != "" {
					s += "+" + iq.Error.JingleCondition
				}
				out = append(out, s+" to "+iq.To)
			default:
				out = append(out, fmt.Sprintf("%s %s to %s", iq.Type, iq.ID, iq.To))
			}
		case session.StartMedia:
			out = append(out, fmt.Sprintf("start-media from %s with %d content(s)", e.Remote, len(e.Offer)))
		case session.MediaAnswered:
			out = append(out, fmt.Sprintf("media-answered with %d content(s)", len(e.Answer)))
		case session.AddRemoteCandidates:
			var ids []string
			for _, c := range e.Transport.Candidates {
				ids = append(ids, c.ID)
			}
			out = append(out, fmt.Sprintf("candidates %s [%s]", e.Content, strings.Join(ids, " ")))
		case session.StopMedia:
			out = append(out, "stop-media "+condition(e.Reason))
		case session.FinishCall:
			out = append(out, "finish-call "+condition(e.Reason))
		case session.Ignored:
			out = append(out, "ignored")
		default:
			out = append(out, fmt.Sprintf("%T", e))
		}
	}
	return out
}

func condition(r *jmi.Reason) string {
	if r == nil {
		return "none"
	}
	return string(r.Condition)
}

// play feeds ins to a new Machine for self, failing on any error.
func play(t testing.TB, self jid.JID, ins []session.Input) *session.Machine {
	t.Helper()
	m := session.New(session.Config{Account: self})
	for _, in := range ins {
		if _, err := m.Handle(t0, in); err != nil {
			t.Fatalf("setup: %T: %v", in, err)
		}
	}
	return m
}

func TestTransitions(t *testing.T) {
	early := []session.Input{answeredR, recv(romeo, "t1", transportInfo(candidate("c1", 1, "udp"))), recv(romeo, "t2", transportInfo(candidate("c2", 1, "udp")))}
	var full []session.Input
	full = append(full, answeredR)
	for i := range session.DefaultMaxEarlyTransportInfo {
		full = append(full, recv(romeo, fmt.Sprintf("t%d", i), transportInfo(candidate("c", 1, "udp"))))
	}
	tests := []struct {
		name  string
		self  jid.JID
		setup []session.Input
		in    session.Input
		at    time.Duration
		want  []string
		state session.State // StateEnded: no session left
	}{
		// XEP-0353 §3.6, XEP-0166 §6.2.
		{name: "awaiting->Initiate->pending (XEP-0353 §3.6: to the full JID that proceeded)", self: romeo, setup: awaitingI,
			in: session.Initiate{SID: sid, Contents: []jingle.Content{audio0}}, want: []string{"set session-initiate jingle-1 to " + juliet.String()}, state: session.StatePending},
		// XEP-0166 §6.5.
		{name: "pending->session-accept(from responder)->active (XEP-0166 §6.5)", self: romeo, setup: pendingI,
			in: recv(juliet, "a1", action(jingle.ActionSessionAccept, audio0)), want: []string{"result a1 to " + juliet.String(), "media-answered with 1 content(s)"}, state: session.StateActive},
		{name: "pending->session-accept(from another device of the peer)->pending (XEP-0166 §7.1, §10: unknown-session)", self: romeo, setup: pendingI,
			in: recv(tablet, "a1", action(jingle.ActionSessionAccept, audio0)), want: []string{"error item-not-found+unknown-session to " + tablet.String()}, state: session.StatePending},
		{name: "pending->session-accept(video for an audio call)->ended (XEP-0166 §6.3.2: bad-request)", self: romeo, setup: pendingI,
			in:   recv(juliet, "a1", action(jingle.ActionSessionAccept, content("0", "video"))),
			want: []string{"error bad-request to " + juliet.String(), "set session-terminate jingle-2 to " + juliet.String() + " reason=incompatible-parameters", "stop-media incompatible-parameters", "finish-call incompatible-parameters"}, state: session.StateEnded},
		{name: "pending->session-accept(twice)->active (XEP-0166 §10: out-of-order)", self: romeo, setup: activeI,
			in: recv(juliet, "a2", action(jingle.ActionSessionAccept, audio0)), want: []string{"error unexpected-request+out-of-order to " + juliet.String()}, state: session.StateActive},
		{name: "awaiting(initiator)->session-accept->awaiting (XEP-0166 §10: out-of-order)", self: romeo, setup: awaitingI,
			in: recv(juliet, "a1", action(jingle.ActionSessionAccept, audio0)), want: []string{"error unexpected-request+out-of-order to " + juliet.String()}, state: session.StateAwaiting},

		// The responder: XEP-0166 §6.3.
		{name: "awaiting->session-initiate(from the device that proposed)->pending (XEP-0166 §6.3.1: ack, then the offer to the media layer)", self: juliet, setup: awaitingR,
			in: recv(romeo, "i1", action(jingle.ActionSessionInitiate, audio0)), want: []string{"result i1 to " + romeo.String(), "start-media from " + romeo.String() + " with 1 content(s)"}, state: session.StatePending},
		{name: "awaiting->session-initiate(from another device of the caller)->awaiting (XEP-0166 §10: unknown-session)", self: juliet, setup: awaitingR,
			in: recv(romeo2, "i1", action(jingle.ActionSessionInitiate, audio0)), want: []string{"error item-not-found+unknown-session to " + romeo2.String()}, state: session.StateAwaiting},
		{name: "none->session-initiate(unknown sid)->none (XEP-0166 §10: unknown-session)", self: juliet, setup: noSessionR,
			in: recv(romeo, "i1", action(jingle.ActionSessionInitiate, audio0)), want: []string{"error item-not-found+unknown-session to " + romeo.String()}, state: session.StateEnded},
		{name: "none->session-initiate(call answered on another device)->none (XEP-0353 §3.4: the session is the answering device's)", self: juliet,
			setup: []session.Input{session.CallAnswered{SID: sid, Self: tablet, Remote: romeo, Media: []string{"audio"}}},
			in:    recv(romeo, "i1", action(jingle.ActionSessionInitiate, audio0)), want: []string{"error item-not-found+unknown-session to " + romeo.String()}, state: session.StateEnded},
		{name: "pending(initiator)->session-initiate(from the responder)->pending (XEP-0166 §7.2.16: tie-break)", self: romeo, setup: pendingI,
			in: recv(juliet, "i1", action(jingle.ActionSessionInitiate, audio0)), want: []string{"error conflict+tie-break to " + juliet.String()}, state: session.StatePending},
		{name: "pending->session-initiate(again)->pending (XEP-0166 §10: out-of-order)", self: juliet, setup: pendingR,
			in: recv(romeo, "i2", action(jingle.ActionSessionInitiate, audio0)), want: []string{"error unexpected-request+out-of-order to " + romeo.String()}, state: session.StatePending},
		{name: "awaiting->session-initiate(video in an audio call)->ended (XEP-0166 §6.3.2: bad-request; the call ends)", self: juliet, setup: awaitingR,
			in: recv(romeo, "i1", action(jingle.ActionSessionInitiate, audio0, video1)), want: []string{"error bad-request to " + romeo.String(), "finish-call failed-application"}, state: session.StateEnded},
		{name: "awaiting->session-initiate(no content)->ended (XEP-0166 §6.3.2: bad-request)", self: juliet, setup: awaitingR,
			in: recv(romeo, "i1", action(jingle.ActionSessionInitiate)), want: []string{"error bad-request to " + romeo.String(), "finish-call failed-application"}, state: session.StateEnded},
		{name: "awaiting->session-initiate(senders none)->ended (XEP-0166 §6.3.2: bad-request, as Dino)", self: juliet, setup: awaitingR,
			in:   recv(romeo, "i1", action(jingle.ActionSessionInitiate, func() jingle.Content { c := content("0", "audio"); c.Senders = jingle.SendersNone; return c }())),
			want: []string{"error bad-request to " + romeo.String(), "finish-call failed-application"}, state: session.StateEnded},

		// Early transport-info: kept, bounded, replayed.
		{name: "awaiting->transport-info(before session-initiate)->awaiting (kept, acknowledged)", self: juliet, setup: awaitingR,
			in: recv(romeo, "t1", transportInfo(candidate("c1", 1, "udp"))), want: []string{"result t1 to " + romeo.String()}, state: session.StateAwaiting},
		{name: "awaiting(2 early transport-info)->session-initiate->pending (replayed after the offer)", self: juliet, setup: early,
			in:   recv(romeo, "i1", action(jingle.ActionSessionInitiate, audio0)),
			want: []string{"result i1 to " + romeo.String(), "start-media from " + romeo.String() + " with 1 content(s)", "candidates 0 [c1]", "candidates 0 [c2]"}, state: session.StatePending},
		{name: "awaiting(32 early transport-info)->transport-info->awaiting (resource-constraint: the cap)", self: juliet, setup: full,
			in: recv(romeo, "t99", transportInfo(candidate("c", 1, "udp"))), want: []string{"error resource-constraint to " + romeo.String()}, state: session.StateAwaiting},
		{name: "pending(initiator)->transport-info(before session-accept)->pending (kept)", self: romeo, setup: pendingI,
			in: recv(juliet, "t1", transportInfo(candidate("c1", 1, "udp"))), want: []string{"result t1 to " + juliet.String()}, state: session.StatePending},
		{name: "pending(initiator, 1 early transport-info)->session-accept->active (replayed after the answer)", self: romeo,
			setup: append(pendingI[:2:2], recv(juliet, "t1", transportInfo(candidate("c1", 1, "udp")))),
			in:    recv(juliet, "a1", action(jingle.ActionSessionAccept, audio0)),
			want:  []string{"result a1 to " + juliet.String(), "media-answered with 1 content(s)", "candidates 0 [c1]"}, state: session.StateActive},
		{name: "awaiting(initiator)->transport-info->awaiting (XEP-0166 §10: out-of-order, nothing was offered)", self: romeo, setup: awaitingI,
			in: recv(juliet, "t1", transportInfo(candidate("c1", 1, "udp"))), want: []string{"error unexpected-request+out-of-order to " + juliet.String()}, state: session.StateAwaiting},
		{name: "active->transport-info(component 2, tcp, component 1 udp)->active (only component 1 over UDP)", self: juliet, setup: activeR,
			in:   recv(romeo, "t1", transportInfo(candidate("rtcp", 2, "udp"), candidate("tcp", 1, "tcp"), candidate("rtp", 1, "UDP"))),
			want: []string{"result t1 to " + romeo.String(), "candidates 0 [rtp]"}, state: session.StateActive},
		{name: "active->transport-info(unknown content)->active (acknowledged, nothing to use)", self: juliet, setup: activeR,
			in:   recv(romeo, "t1", &jingle.Jingle{Action: jingle.ActionTransportInfo, SID: sid, Contents: []jingle.Content{{Name: "9", Transport: &jingle.Transport{Candidates: []jingle.Candidate{candidate("c1", 1, "udp")}}}}}),
			want: []string{"result t1 to " + romeo.String()}, state: session.StateActive},

		// Termination, both ways (XEP-0166 §6.7; MEDIA.md: Conversations and Dino hang up only with session-terminate).
		{name: "active->session-terminate(from the peer)->ended (XEP-0166 §6.7: ack; the JMI call finishes)", self: juliet, setup: activeR,
			in: recv(romeo, "x1", &jingle.Jingle{Action: jingle.ActionSessionTerminate, SID: sid, Reason: &jmi.Reason{Condition: jmi.Decline}}), want: []string{"result x1 to " + romeo.String(), "stop-media decline", "finish-call decline"}, state: session.StateEnded},
		{name: "awaiting->session-terminate(overtook the initiate)->ended (the call finishes)", self: juliet, setup: awaitingR,
			in: recv(romeo, "x1", &jingle.Jingle{Action: jingle.ActionSessionTerminate, SID: sid, Reason: &jmi.Reason{Condition: jmi.Cancel}}), want: []string{"result x1 to " + romeo.String(), "finish-call cancel"}, state: session.StateEnded},
		{name: "active->session-terminate(from another device)->active (XEP-0166 §10: unknown-session)", self: juliet, setup: activeR,
			in: recv(romeo2, "x1", &jingle.Jingle{Action: jingle.ActionSessionTerminate, SID: sid}), want: []string{"error item-not-found+unknown-session to " + romeo2.String()}, state: session.StateActive},
		{name: "active->CallEnded(JMI finish)->ended (session-terminate, no FinishCall)", self: juliet, setup: activeR,
			in: session.CallEnded{SID: sid}, want: []string{"set session-terminate jingle-2 to " + romeo.String() + " reason=success", "stop-media success"}, state: session.StateEnded},
		{name: "active->Terminate->ended (session-terminate and the JMI finish, as Monal)", self: romeo, setup: activeI,
			in: session.Terminate{SID: sid}, want: []string{"set session-terminate jingle-2 to " + juliet.String() + " reason=success", "stop-media success", "finish-call success"}, state: session.StateEnded},
		{name: "awaiting->Terminate->ended (nothing to terminate yet: only the JMI finish)", self: juliet, setup: awaitingR,
			in: session.Terminate{SID: sid, Reason: &jmi.Reason{Condition: jmi.Busy}}, want: []string{"finish-call busy"}, state: session.StateEnded},
		{name: "ended->transport-info->ended (XEP-0166 §10: unknown-session)", self: juliet, setup: append(activeR[:3:3], session.CallEnded{SID: sid}),
			in: recv(romeo, "t1", transportInfo(candidate("c1", 1, "udp"))), want: []string{"error item-not-found+unknown-session to " + romeo.String()}, state: session.StateEnded},

		// Migration (XEP-0353 §4.2) and crossed calls (§4.1).
		{name: "active->CallEnded(migrated to B)->ended (XEP-0353 §4.2: alternative-session names the new sid)", self: romeo, setup: activeI,
			in: session.CallEnded{SID: sid, MigratedTo: "B"}, want: []string{"set session-terminate jingle-2 to " + juliet.String() + " reason=alternative-session:B", "stop-media alternative-session"}, state: session.StateEnded},
		{name: "awaiting->CallEnded(lost the tie-break to B)->ended (XEP-0353 §4.1: no initiate yet, nothing to send)", self: juliet, setup: awaitingR,
			in: session.CallEnded{SID: sid, MigratedTo: "B"}, want: nil, state: session.StateEnded},
		{name: "active->CallAnswered(elsewhere)->ended (XEP-0353 §3.4: the call goes on on another device of ours)", self: juliet, setup: activeR,
			in: session.CallAnswered{SID: sid, Self: tablet, Remote: romeo}, want: []string{"set session-terminate jingle-2 to " + romeo.String() + " reason=cancel", "stop-media cancel"}, state: session.StateEnded},
		{name: "pending(initiator, to phone)->CallAnswered(tablet)->awaiting (two answers: the call moved to the lower full JID)", self: romeo, setup: pendingI,
			in: session.CallAnswered{SID: sid, Self: romeo, Remote: tablet, Outgoing: true, Media: []string{"audio"}}, want: []string{"set session-terminate jingle-2 to " + juliet.String() + " reason=cancel", "stop-media cancel"}, state: session.StateAwaiting},
		{name: "pending->CallAnswered(the same again)->pending (nothing)", self: romeo, setup: pendingI,
			in: answeredI, want: nil, state: session.StatePending},

		// Answers to what we sent, and time.
		{name: "pending->error(service-unavailable) to session-initiate->ended (the peer's device is gone)", self: romeo, setup: pendingI,
			in: reply(juliet, 1, &jingle.StanzaError{Type: "cancel", Condition: "service-unavailable"}), want: []string{"stop-media gone", "finish-call gone"}, state: session.StateEnded},
		{name: "pending->error(bad-request) to session-initiate->ended (XEP-0166 §6.3.2: refused)", self: romeo, setup: pendingI,
			in: reply(juliet, 1, &jingle.BadRequest), want: []string{"stop-media general-error", "finish-call general-error"}, state: session.StateEnded},
		{name: "pending->result to session-initiate->pending", self: romeo, setup: pendingI,
			in: reply(juliet, 1, nil), want: nil, state: session.StatePending},
		{name: "pending->error from another JID->pending (ignored: only the addressee answers)", self: romeo, setup: pendingI,
			in: reply(tablet, 1, &jingle.UnknownSession), want: []string{"ignored"}, state: session.StatePending},
		{name: "active->error(out-of-order) to transport-info->active (ignored)", self: juliet,
			setup: append(activeR[:3:3], session.LocalCandidates{SID: sid, Content: "0", Transport: jingle.Transport{Candidates: []jingle.Candidate{candidate("l1", 1, "udp")}}}),
			in:    reply(romeo, 2, &jingle.OutOfOrder), want: []string{"ignored"}, state: session.StateActive},
		{name: "active->error(unknown-session) to transport-info->ended (the peer has no session)", self: juliet,
			setup: append(activeR[:3:3], session.LocalCandidates{SID: sid, Content: "0", Transport: jingle.Transport{Candidates: []jingle.Candidate{candidate("l1", 1, "udp")}}}),
			in:    reply(romeo, 2, &jingle.UnknownSession), want: []string{"stop-media gone", "finish-call gone"}, state: session.StateEnded},
		{name: "pending->no answer within IQTimeout->ended (timeout)", self: romeo, setup: pendingI,
			in: session.Tick{}, at: session.DefaultIQTimeout, want: []string{"set session-terminate jingle-2 to " + juliet.String() + " reason=timeout", "stop-media timeout", "finish-call timeout"}, state: session.StateEnded},
		{name: "pending->Tick before IQTimeout->pending", self: romeo, setup: pendingI,
			in: session.Tick{}, at: session.DefaultIQTimeout - time.Millisecond, want: nil, state: session.StatePending},
		{name: "awaiting->no session-initiate within IQTimeout->ended (the call finishes: Dino's lost session-terminate would leave it up)", self: juliet, setup: awaitingR,
			in: session.Tick{}, at: session.DefaultIQTimeout, want: []string{"finish-call timeout"}, state: session.StateEnded},
		{name: "awaiting(initiator)->no offer within IQTimeout->ended", self: romeo, setup: awaitingI,
			in: session.Tick{}, at: session.DefaultIQTimeout, want: []string{"finish-call timeout"}, state: session.StateEnded},
		{name: "active->Resumed->active (XEP-0166 §6.8: an empty session-info asks the peer)", self: juliet, setup: activeR,
			in: session.Resumed{}, want: []string{"set session-info jingle-2 to " + romeo.String()}, state: session.StateActive},
		{name: "active(pinged)->unknown-session->ended (the peer's session-terminate was lost)", self: juliet, setup: append(activeR[:3:3], session.Resumed{}),
			in: reply(romeo, 2, &jingle.UnknownSession), want: []string{"stop-media gone", "finish-call gone"}, state: session.StateEnded},
		{name: "awaiting->Resumed->awaiting (the peer knows of no session yet)", self: juliet, setup: awaitingR,
			in: session.Resumed{}, want: nil, state: session.StateAwaiting},
		{name: "active->answer to an unknown id->active (ignored)", self: romeo, setup: activeI,
			in: reply(juliet, 42, nil), want: []string{"ignored"}, state: session.StateActive},

		// Other actions.
		{name: "active->content-add(video)->active (XEP-0166 §7.2.4: ack, then content-reject)", self: juliet, setup: activeR,
			in: recv(romeo, "c1", action(jingle.ActionContentAdd, video1)), want: []string{"result c1 to " + romeo.String(), "set content-reject jingle-2 to " + romeo.String() + " reason=failed-application"}, state: session.StateActive},
		{name: "active->transport-replace->active (XEP-0166 §7.2.15: ack, then transport-reject)", self: juliet, setup: activeR,
			in: recv(romeo, "r1", action(jingle.ActionTransportReplace, audio0)), want: []string{"result r1 to " + romeo.String(), "set transport-reject jingle-2 to " + romeo.String()}, state: session.StateActive},
		{name: "active->content-accept->active (XEP-0166 §10: out-of-order, nothing was added)", self: juliet, setup: activeR,
			in: recv(romeo, "c1", action(jingle.ActionContentAccept, video1)), want: []string{"error unexpected-request+out-of-order to " + romeo.String()}, state: session.StateActive},
		{name: "active->session-info(ringing)->active (XEP-0167 §7: understood)", self: romeo, setup: activeI,
			in: recv(juliet, "s1", &jingle.Jingle{Action: jingle.ActionSessionInfo, SID: sid, Extra: []jmi.RawElement{{XMLName: xmlName(session.NSRTPInfo, "ringing")}}}), want: []string{"result s1 to " + juliet.String()}, state: session.StateActive},
		{name: "active->session-info(unknown payload)->active (XEP-0166 §10: unsupported-info)", self: romeo, setup: activeI,
			in: recv(juliet, "s1", &jingle.Jingle{Action: jingle.ActionSessionInfo, SID: sid, Extra: []jmi.RawElement{{XMLName: xmlName("urn:example", "x")}}}), want: []string{"error feature-not-implemented+unsupported-info to " + juliet.String()}, state: session.StateActive},
		{name: "active->description-info->active (feature-not-implemented)", self: romeo, setup: activeI,
			in: recv(juliet, "d1", action(jingle.ActionDescriptionInfo)), want: []string{"error feature-not-implemented to " + juliet.String()}, state: session.StateActive},
		{name: "active->iq set without id->active (ignored: RFC 6120 §8.1.3, no answer can name it)", self: juliet, setup: activeR,
			in: recv(romeo, "", transportInfo(candidate("c1", 1, "udp"))), want: []string{"ignored"}, state: session.StateActive},
		{name: "none->iq get->none (bad-request)", self: juliet, setup: noSessionR,
			in: session.IQReceived{IQ: jingle.IQ{ID: "g1", Type: "get", From: romeo.String(), Jingle: action(jingle.ActionSessionInfo)}}, want: []string{"error bad-request to " + romeo.String()}, state: session.StateEnded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := play(t, tc.self, tc.setup)
			effs, err := m.Handle(t0.Add(tc.at), tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := render(effs); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("effects\n got %q\nwant %q", got, tc.want)
			}
			info, ok := m.Session(sid)
			switch {
			case tc.state == session.StateEnded && ok:
				t.Errorf("session left %s, want none", info.State)
			case tc.state != session.StateEnded && !ok:
				t.Errorf("no session, want %s", tc.state)
			case ok && info.State != tc.state:
				t.Errorf("state %s, want %s", info.State, tc.state)
			}
		})
	}
}

// TestInitiateShape: the session-initiate goes to the full JID that
// proceeded, with the propose id as sid (XEP-0353 §3.6), names the
// initiator (Dino sets it; send it, never require it), and bundles its
// content (XEP-0338).
func TestInitiateShape(t *testing.T) {
	m := play(t, romeo, awaitingI)
	effs, err := m.Handle(t0, session.Initiate{SID: sid, Contents: []jingle.Content{audio0}})
	if err != nil {
		t.Fatal(err)
	}
	iq := effs[0].(session.SendIQ).IQ
	j := iq.Jingle
	if iq.To != juliet.String() || iq.From != romeo.String() || j.SID != sid || j.Initiator != romeo.String() || j.Group == nil || j.Group.Semantics != "BUNDLE" || !reflect.DeepEqual(j.Group.Contents, []string{"0"}) {
		t.Errorf("session-initiate %+v in %+v", j, iq)
	}
	if _, err := jingle.MarshalIQ(iq); err != nil {
		t.Errorf("the session-initiate does not encode: %v", err)
	}
	m = play(t, juliet, pendingR)
	effs, err = m.Handle(t0, session.Accept{SID: sid, Contents: []jingle.Content{audio0}})
	if err != nil {
		t.Fatal(err)
	}
	j = effs[0].(session.SendIQ).IQ.Jingle
	if j.Action != jingle.ActionSessionAccept || j.Initiator != romeo.String() || j.Responder != juliet.String() {
		t.Errorf("session-accept %+v", j)
	}
}

// TestLocalMisuse: local actions that do not fit return an error and no
// effect, and leave the session as it was.
func TestLocalMisuse(t *testing.T) {
	cands := jingle.Transport{Candidates: []jingle.Candidate{candidate("l1", 1, "udp")}}
	tests := []struct {
		name  string
		self  jid.JID
		setup []session.Input
		in    session.Input
		want  error
	}{
		{"none->Initiate->ErrUnknownSession", romeo, nil, session.Initiate{SID: sid, Contents: []jingle.Content{audio0}}, session.ErrUnknownSession},
		{"awaiting(responder)->Initiate->ErrInvalidState (XEP-0353 §3.6: the caller initiates)", juliet, awaitingR, session.Initiate{SID: sid, Contents: []jingle.Content{audio0}}, session.ErrInvalidState},
		{"awaiting->Initiate(audio and video for an audio call)->ErrInvalidInput", romeo, awaitingI, session.Initiate{SID: sid, Contents: []jingle.Content{audio0, video1}}, session.ErrInvalidInput},
		{"awaiting->Initiate(no content)->ErrInvalidInput", romeo, awaitingI, session.Initiate{SID: sid}, session.ErrInvalidInput},
		{"pending->Initiate(again)->ErrInvalidState", romeo, pendingI, session.Initiate{SID: sid, Contents: []jingle.Content{audio0}}, session.ErrInvalidState},
		{"pending(initiator)->Accept->ErrInvalidState", romeo, pendingI, session.Accept{SID: sid, Contents: []jingle.Content{audio0}}, session.ErrInvalidState},
		{"awaiting(responder)->Accept->ErrInvalidState (nothing offered yet)", juliet, awaitingR, session.Accept{SID: sid, Contents: []jingle.Content{audio0}}, session.ErrInvalidState},
		{"pending->Accept(a content not in the offer)->ErrInvalidInput", juliet, pendingR, session.Accept{SID: sid, Contents: []jingle.Content{content("audio", "audio")}}, session.ErrInvalidInput},
		{"pending(responder)->LocalCandidates->ErrInvalidState (before the answer)", juliet, pendingR, session.LocalCandidates{SID: sid, Content: "0", Transport: cands}, session.ErrInvalidState},
		{"active->LocalCandidates(unknown content)->ErrInvalidInput", juliet, activeR, session.LocalCandidates{SID: sid, Content: "9", Transport: cands}, session.ErrInvalidInput},
		{"awaiting->LocalCandidates->ErrInvalidState", romeo, awaitingI, session.LocalCandidates{SID: sid, Content: "0", Transport: cands}, session.ErrInvalidState},
		{"none->CallAnswered(no sid)->ErrInvalidInput", juliet, nil, session.CallAnswered{Self: juliet, Remote: romeo}, session.ErrInvalidInput},
		{"none->CallAnswered(bare remote)->ErrInvalidInput", juliet, nil, session.CallAnswered{SID: sid, Self: juliet, Remote: romeo.Bare()}, session.ErrInvalidInput},
		{"none->Terminate->ErrUnknownSession", juliet, nil, session.Terminate{SID: sid}, session.ErrUnknownSession},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := play(t, tc.self, tc.setup)
			before := m.Sessions()
			effs, err := m.Handle(t0, tc.in)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if len(effs) != 0 {
				t.Errorf("effects %q with an error", render(effs))
			}
			if after := m.Sessions(); !reflect.DeepEqual(before, after) {
				t.Errorf("sessions changed:\n%+v\n%+v", before, after)
			}
		})
	}
}

// TestLocalCandidates: the initiator trickles once its offer went out, the
// responder once its answer did, one transport-info each.
func TestLocalCandidates(t *testing.T) {
	for _, tc := range []struct {
		name  string
		self  jid.JID
		setup []session.Input
		to    jid.JID
	}{
		{"pending(initiator)->LocalCandidates->transport-info", romeo, pendingI, juliet},
		{"active(responder)->LocalCandidates->transport-info", juliet, activeR, romeo},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := play(t, tc.self, tc.setup)
			effs, err := m.Handle(t0, session.LocalCandidates{SID: sid, Content: "0", Transport: jingle.Transport{Candidates: []jingle.Candidate{candidate("l1", 1, "udp")}}})
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"set transport-info jingle-2 to " + tc.to.String()}
			if got := render(effs); !reflect.DeepEqual(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
			j := effs[0].(session.SendIQ).IQ.Jingle
			if len(j.Contents) != 1 || j.Contents[0].Name != "0" || len(j.Contents[0].Transport.Candidates) != 1 {
				t.Errorf("transport-info %+v", j)
			}
		})
	}
}

// TestNextDeadline: the oldest IQ in flight sets the next Tick; answered,
// it no longer does.
func TestNextDeadline(t *testing.T) {
	m := play(t, romeo, awaitingI)
	if dl := m.NextDeadline(); !dl.Equal(t0.Add(session.DefaultIQTimeout)) {
		t.Fatalf("awaiting: deadline %v, want the end of the wait for the initiate", dl)
	}
	m = play(t, romeo, pendingI)
	if dl := m.NextDeadline(); !dl.Equal(t0.Add(session.DefaultIQTimeout)) {
		t.Fatalf("deadline %v, want %v", dl, t0.Add(session.DefaultIQTimeout))
	}
	if _, err := m.Handle(t0, reply(juliet, 1, nil)); err != nil {
		t.Fatal(err)
	}
	if dl := m.NextDeadline(); !dl.IsZero() {
		t.Fatalf("deadline %v after the answer", dl)
	}
}

// TestStrings: every enum names itself.
func TestStrings(t *testing.T) {
	if s := session.StatePending.String(); s != "pending" {
		t.Error(s)
	}
	if s := session.RoleResponder.String(); s != "responder" {
		t.Error(s)
	}
	if s := session.State(200).String(); s != "unknown" {
		t.Error(s)
	}
}
