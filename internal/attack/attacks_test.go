package attack

import (
	"context"
	"testing"

	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/internal/rawxmpp"
	"mellium.im/xmpp/jid"
)

// carbon wraps an inner message as a carbon (XEP-0280) of the given kind,
// "received" or "sent", addressed to the victim's device.
func carbon(w *world, kind, inner string) string {
	return `<message to='` + w.julietFull() + `' type='chat'><` + kind + ` xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>` +
		inner + `</forwarded></` + kind + `></message>`
}

// archived wraps an inner message as an archive result (XEP-0313).
func archived(w *world, queryID, inner string) string {
	return `<message to='` + w.julietFull() + `'><result xmlns='urn:xmpp:mam:2' queryid='` + queryID + `' id='arch-1'><forwarded xmlns='urn:xmpp:forward:0'>` +
		`<delay xmlns='urn:xmpp:delay' stamp='2026-01-01T00:00:00Z'/>` + inner + `</forwarded></result></message>`
}

// jmiMessage is a message from one address to another carrying a JMI
// element given as XML.
func jmiMessage(from, to, element string) string {
	return `<message from='` + from + `' to='` + to + `' type='chat'>` + element + `<store xmlns='urn:xmpp:hints'/></message>`
}

func proposeEl(id string) string {
	return `<propose xmlns='urn:xmpp:jingle-message:0' id='` + id + `'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/></propose>`
}

func proceedEl(id string) string {
	return `<proceed xmlns='urn:xmpp:jingle-message:0' id='` + id + `'/>`
}

// forgeries: carbons and archive results from someone other than the
// victim's own account, with a from mellium cannot parse (Mallory) and
// with a well-formed one (Tybalt). A from that does not parse is never our
// own server.
var forgeries = []attack{
	{
		name: "unparsable from: received carbon of Romeo's propose->no ring, nothing sent",
		send: func(w *world, _ scene) []sent {
			return []sent{{"mallory", carbon(w, "received", jmiMessage(w.full("romeo"), w.julietBare(), proposeEl("forged-rc-1")))}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			nothingReached(t, r)
			unknownCall(t, w, "forged-rc-1")
			notInHistory(t, w, "forged-rc-1")
		},
	},
	{
		name:    "unparsable from: sent carbon of a proceed->the real call rings on",
		prepare: ringingCall,
		send: func(w *world, sc scene) []sent {
			return []sent{{"mallory", carbon(w, "sent", jmiMessage(w.julietBare()+"/tablet", w.full("romeo"), proceedEl(sc.id)))}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			stillRinging(t, w, r.id)
			nothingReached(t, r)
		},
	},
	{
		name: "unparsable from: sent carbon of a propose->no outgoing call, no history",
		send: func(w *world, _ scene) []sent {
			return []sent{{"mallory", carbon(w, "sent", jmiMessage(w.julietBare()+"/tablet", w.bare("romeo"), proposeEl("forged-sp-1")))}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			nothingReached(t, r)
			unknownCall(t, w, "forged-sp-1")
			notInHistory(t, w, "forged-sp-1")
		},
	},
	{
		name: "unparsable from: archive result of Romeo's propose->refused",
		send: func(w *world, _ scene) []sent {
			return []sent{{"mallory", archived(w, "q1", jmiMessage(w.full("romeo"), w.julietBare(), proposeEl("forged-ar-1")))}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			nothingReached(t, r)
			unknownCall(t, w, "forged-ar-1")
		},
	},
	{
		name: "stranger: received carbon of Romeo's propose->no ring, nothing sent",
		send: func(w *world, _ scene) []sent {
			return []sent{{"tybalt", carbon(w, "received", jmiMessage(w.full("romeo"), w.julietBare(), proposeEl("forged-rc-2")))}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			nothingReached(t, r)
			unknownCall(t, w, "forged-rc-2")
			notInHistory(t, w, "forged-rc-2")
		},
	},
	{
		name:    "stranger: sent carbon of a proceed->the real call rings on",
		prepare: ringingCall,
		send: func(w *world, sc scene) []sent {
			return []sent{{"tybalt", carbon(w, "sent", jmiMessage(w.julietBare()+"/tablet", w.full("romeo"), proceedEl(sc.id)))}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			stillRinging(t, w, r.id)
			nothingReached(t, r)
		},
	},
	{
		name: "stranger: archive result of Romeo's propose->refused",
		send: func(w *world, _ scene) []sent {
			return []sent{{"tybalt", archived(w, "q1", jmiMessage(w.full("romeo"), w.julietBare(), proposeEl("forged-ar-2")))}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			nothingReached(t, r)
			unknownCall(t, w, "forged-ar-2")
		},
	},
}

func TestForgeries(t *testing.T) { runTable(t, forgeries) }

// errorBounce is a message of type error with the given id, to the
// victim's device, carrying payload (a JMI element or nothing, as Prosody
// bounces) and the condition service-unavailable.
func errorBounce(w *world, id, payload string) string {
	return `<message to='` + w.julietFull() + `' type='error' id='` + id + `'>` + payload +
		`<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`
}

// bounces: a message of type error is never a signal; the bounce of our
// own propose or proceed ends that call as failed on this device.
var bounces = []attack{
	{
		name: "the server bounces a call to an account that does not exist->failed",
		prepare: func(t *testing.T, w *world) scene {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			first := w.events.len()
			h, err := w.victim.Call(ctx, jid.MustParse("nobody@"+w.srv.Domain))
			if err != nil {
				t.Fatal(err)
			}
			failedWith(t, w, first, h.ID(), "service-unavailable")
			return scene{id: h.ID()}
		},
		send:  func(*world, scene) []sent { return nil },
		check: func(t *testing.T, w *world, r outcome) { nothingReached(t, r) },
	},
	{
		name:    "the callee gives our propose back in an error->failed, never 'in the call'",
		prepare: func(t *testing.T, w *world) scene { return victimCalls(t, w, "benvolio") },
		send: func(w *world, sc scene) []sent {
			return []sent{{"benvolio", errorBounce(w, sc.msgID, proposeEl(sc.id))}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			for _, ev := range r.events {
				if ev.Type == call.EventProceeded || ev.Type == call.EventIncoming {
					t.Errorf("the victim: %s for %s", ev.Type, ev.ID)
				}
			}
			failedWith(t, w, 0, r.id, "service-unavailable")
			nothingReached(t, r)
		},
	},
	{
		name:    "the callee's bounce by message id alone (as Prosody bounces)->failed",
		prepare: func(t *testing.T, w *world) scene { return victimCalls(t, w, "benvolio") },
		send: func(w *world, sc scene) []sent {
			return []sent{{"benvolio", errorBounce(w, sc.msgID, "")}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			failedWith(t, w, 0, r.id, "service-unavailable")
			nothingReached(t, r)
		},
	},
	{
		name:    "a stranger bounces our propose, with its message id->ignored, the call goes on",
		prepare: func(t *testing.T, w *world) scene { return victimCalls(t, w, "benvolio") },
		send: func(w *world, sc scene) []sent {
			return []sent{{"tybalt", errorBounce(w, sc.msgID, proposeEl(sc.id))}, {"mallory", errorBounce(w, sc.msgID, proposeEl(sc.id))}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			if info := callState(t, w, r.id); info.State != call.StateProposing {
				t.Errorf("call %s is %v, want still proposing", r.id, info.State)
			}
			nothingReached(t, r)
		},
	},
	{
		name: "the caller bounces our proceed->the answered call fails",
		prepare: func(t *testing.T, w *world) scene {
			sc := ringingCall(t, w)
			romeo := w.conn("romeo")
			from, first := romeo.Len(), w.events.len()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if err := w.victim.Handle(sc.id).Answer(ctx); err != nil {
				t.Fatal(err)
			}
			w.events.waitFor(t, first, "proceeded", func(ev call.Event) bool { return ev.Type == call.EventProceeded && ev.ID == sc.id })
			st, err := romeo.WaitAfter(ctx, from, rawxmpp.Contains("<proceed"))
			if err != nil {
				t.Fatalf("romeo: no proceed: %v", err)
			}
			sc.msgID = st.ID()
			return sc
		},
		send: func(w *world, sc scene) []sent {
			return []sent{{"romeo", errorBounce(w, sc.msgID, "")}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			failedWith(t, w, 0, r.id, "service-unavailable")
			nothingReached(t, r)
		},
	},
}

func TestBounces(t *testing.T) { runTable(t, bounces) }
