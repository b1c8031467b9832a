package attack

import (
	"context"
	"strings"
	"testing"
	"time"

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
		name:    "the callee's device gives our propose back in an error->never 'in the call', the call goes on",
		prepare: func(t *testing.T, w *world) scene { return victimCalls(t, w, "benvolio") },
		send: func(w *world, sc scene) []sent {
			return []sent{{"benvolio", errorBounce(w, sc.msgID, proposeEl(sc.id))}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			// One device of the callee refusing says nothing of the
			// others, which may ring; and an error is never the callee
			// proposing with our id (it was once answered as a crossed
			// call: "in the call").
			onlyIgnored(t, r)
			if info := callState(t, w, r.id); info.State != call.StateProposing {
				t.Errorf("call %s is %v, want still proposing", r.id, info.State)
			}
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
			if err := w.victim.CallByID(sc.id).Answer(ctx); err != nil {
				t.Fatal(err)
			}
			w.events.waitFor(t, first, "proceeded", func(ev call.Event) bool { return ev.Type == call.EventProceeded && ev.ID == sc.id })
			st, err := romeo.WaitAfter(ctx, from, rawxmpp.Contains("<proceed"))
			if err != nil {
				t.Fatalf("romeo: no proceed: %v", err)
			}
			// The answer also sends the caller directed presence, after the
			// proceed: wait for it, or, late, it would count as the
			// attack's doing.
			if _, err := romeo.WaitAfter(ctx, from, rawxmpp.Contains("<presence")); err != nil {
				t.Fatalf("romeo: no directed presence with the proceed: %v", err)
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

// stampEl is a <delay/> with the given stamp, and from unless it is empty.
func stampEl(from string, at time.Time) string {
	f := ""
	if from != "" {
		f = ` from='` + from + `'`
	}
	return `<delay xmlns='urn:xmpp:delay'` + f + ` stamp='` + at.UTC().Format(time.RFC3339) + `'/>`
}

// datedNow checks that the victim dated call id now, give or take the test's
// own slack, in its events and its history: never in the future.
func datedNow(t *testing.T, w *world, r outcome, id string) {
	t.Helper()
	now := time.Now()
	for _, ev := range r.events {
		if ev.ID == id && (ev.At.After(now) || ev.At.Before(now.Add(-wait))) {
			t.Errorf("the victim: %s at %s, want about now (%s)", ev.Type, ev.At, now)
		}
	}
	if info := callState(t, w, id); info.Started.After(now) || info.Started.Before(now.Add(-wait)) {
		t.Errorf("call %s started at %s, want about now", id, info.Started)
	}
	if e := historyOf(t, w, id); e.Start.After(now) || e.Start.Before(now.Add(-wait)) {
		t.Errorf("history: call %s at %s, want about now", id, e.Start)
	}
}

// onlyRingingTo: the victim rang for call id and told that caller, and
// nothing else reached anyone.
func onlyRingingTo(t *testing.T, r outcome, caller, id string) {
	t.Helper()
	for name, got := range r.got {
		for _, st := range got {
			if name != caller || !strings.Contains(st.Raw, "<ringing") || !strings.Contains(st.Raw, id) {
				t.Errorf("%s received: %s", name, st.Raw)
			}
		}
	}
	rang := false
	for _, ev := range r.events {
		rang = rang || (ev.Type == call.EventIncoming && ev.ID == id)
	}
	if !rang {
		t.Errorf("the victim did not ring for %s", id)
	}
}

// delays: a <delay/> is our own server's word only, and never later than
// now. Prosody passes a sender's own <delay/> through.
var delays = []attack{
	{
		name: "a trusted contact's propose stamped an hour ahead->rings now, dated now",
		send: func(w *world, _ scene) []sent {
			return []sent{{"romeo", strings.Replace(proposeXML(w.julietBare(), "delay-1", "audio"), "<store", stampEl("", time.Now().Add(time.Hour))+"<store", 1)}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyRingingTo(t, r, "romeo", "delay-1")
			datedNow(t, w, r, "delay-1")
		},
	},
	{
		name: "the same, its delay naming our own server->never later than now",
		send: func(w *world, _ scene) []sent {
			return []sent{{"romeo", strings.Replace(proposeXML(w.julietBare(), "delay-2", "audio"), "<store", stampEl(w.srv.Domain, time.Now().Add(time.Hour))+"<store", 1)}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyRingingTo(t, r, "romeo", "delay-2")
			datedNow(t, w, r, "delay-2")
		},
	},
	{
		name: "a trusted contact's propose stamped an hour ago->rings now: only our server's delay counts",
		send: func(w *world, _ scene) []sent {
			return []sent{{"romeo", strings.Replace(proposeXML(w.julietBare(), "delay-3", "audio"), "<store", stampEl(w.bare("romeo"), time.Now().Add(-time.Hour))+"<store", 1)}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyRingingTo(t, r, "romeo", "delay-3")
			datedNow(t, w, r, "delay-3")
		},
	},
	{
		name: "a trusted contact's propose back-dated an hour in our server's name->rings now: offline storage speaks only at login",
		send: func(w *world, _ scene) []sent {
			return []sent{{"romeo", strings.Replace(proposeXML(w.julietBare(), "delay-4", "audio"), "<store", stampEl(w.srv.Domain, time.Now().Add(-time.Hour))+"<store", 1)}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyRingingTo(t, r, "romeo", "delay-4")
			datedNow(t, w, r, "delay-4")
		},
	},
}

func TestDelays(t *testing.T) { runTable(t, delays) }

// text: what the network says is never raw on a terminal; media is a token.
var text = []attack{
	{
		name: "a trusted contact's media with a newline (a forged row of jmi log)->refused",
		send: func(w *world, _ scene) []sent {
			return []sent{{"romeo", proposeXML(w.julietBare(), "media-1", "audio&#10;2026-01-01 00:00:00  incoming  tybalt@localhost  audio  answered")}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			nothingReached(t, r)
			unknownCall(t, w, "media-1")
			notInHistory(t, w, "media-1")
		},
	},
	{
		name: "media with an escape sequence by character reference->refused",
		send: func(w *world, _ scene) []sent {
			return []sent{{"romeo", proposeXML(w.julietBare(), "media-2", "&#x9;audio")}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			nothingReached(t, r)
			unknownCall(t, w, "media-2")
		},
	},
}

func TestText(t *testing.T) { runTable(t, text) }

// wrongParty: signals about a real call from someone who is not its other
// party, and ids reused; strangers learn nothing.
var wrongParty = []attack{
	{
		name:    "a stranger proceeds Romeo's call->ignored, it rings on",
		prepare: ringingCall,
		send: func(w *world, sc scene) []sent {
			return []sent{{"tybalt", jmiMessage("", w.julietFull(), proceedEl(sc.id))}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			stillRinging(t, w, r.id)
			nothingReached(t, r)
		},
	},
	{
		name:    "a stranger retracts and finishes Romeo's call->ignored, it rings on",
		prepare: ringingCall,
		send: func(w *world, sc scene) []sent {
			return []sent{
				{"tybalt", jmiMessage("", w.julietBare(), `<retract xmlns='urn:xmpp:jingle-message:0' id='`+sc.id+`'><reason xmlns='urn:xmpp:jingle:1'><cancel/></reason></retract>`)},
				{"tybalt", jmiMessage("", w.julietFull(), `<finish xmlns='urn:xmpp:jingle-message:0' id='`+sc.id+`'><reason xmlns='urn:xmpp:jingle:1'><success/></reason></finish>`)},
				{"mallory", jmiMessage("", w.julietBare(), `<retract xmlns='urn:xmpp:jingle-message:0' id='`+sc.id+`'/>`)},
			}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			stillRinging(t, w, r.id)
			nothingReached(t, r)
		},
	},
	{
		name:    "a stranger proposes with the id of Romeo's ringing call->ignored, nothing back",
		prepare: ringingCall,
		send: func(w *world, sc scene) []sent {
			return []sent{{"tybalt", proposeXML(w.julietBare(), sc.id, "audio")}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			stillRinging(t, w, r.id)
			nothingReached(t, r)
		},
	},
	{
		name:    "a stranger rejects the call the victim placed->ignored, it goes on",
		prepare: func(t *testing.T, w *world) scene { return victimCalls(t, w, "benvolio") },
		send: func(w *world, sc scene) []sent {
			return []sent{{"tybalt", jmiMessage("", w.julietFull(), `<reject xmlns='urn:xmpp:jingle-message:0' id='`+sc.id+`'><reason xmlns='urn:xmpp:jingle:1'><busy/></reason></reject>`)},
				{"tybalt", jmiMessage("", w.julietFull(), proceedEl(sc.id))}}
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
		name: "a stranger calls->no ringing, no presence, nothing rings",
		send: func(w *world, _ scene) []sent {
			return []sent{{"tybalt", proposeXML(w.julietBare(), "stranger-1", "audio")}, {"mallory", proposeXML(w.julietBare(), "stranger-2", "audio")}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			nothingReached(t, r)
			if info := callState(t, w, "stranger-1"); info.State != call.StatePending || info.Trusted {
				t.Errorf("the stranger's call is %v (trusted %v), want pending silently", info.State, info.Trusted)
			}
			unknownCall(t, w, "stranger-2")
		},
	},
}

func TestWrongParty(t *testing.T) { runTable(t, wrongParty) }

// deep nests n elements inside a description.
func deep(n int) string {
	return strings.Repeat("<a>", n) + strings.Repeat("</a>", n)
}

// payloads: stanzas too large or too deep for the victim, which refuses
// them and goes on.
var payloads = []attack{
	{
		name: "a 1 MB message->the server closes the sender, the victim goes on",
		send: func(w *world, _ scene) []sent {
			return []sent{{"tybalt", `<message to='` + w.julietFull() + `' type='chat'><body>` + strings.Repeat("A", 1<<20) + `</body>` + proposeEl("huge-1") + `</message>`}}
		},
		closes: true,
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			nothingReached(t, r)
			unknownCall(t, w, "huge-1")
		},
	},
	{
		name: "a 100 KB propose from a trusted contact (over jmi's limit, under the server's)->refused",
		send: func(w *world, _ scene) []sent {
			return []sent{{"romeo", `<message to='` + w.julietBare() + `' type='chat'><body>` + strings.Repeat("A", 100<<10) + `</body>` + proposeEl("huge-2") + `</message>`}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			nothingReached(t, r)
			unknownCall(t, w, "huge-2")
			refusedBecause(t, r, "over the limit")
		},
	},
	{
		// As a headline, which Prosody does not archive: its archive fails
		// to store so deep a message (a Lua error) and drops it.
		name: "a propose nested 1,000 deep->refused",
		send: func(w *world, _ scene) []sent {
			return []sent{{"romeo", `<message to='` + w.julietFull() + `' type='headline'><propose xmlns='urn:xmpp:jingle-message:0' id='deep-1'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>` + deep(1000) + `</description></propose></message>`}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			nothingReached(t, r)
			unknownCall(t, w, "deep-1")
			refusedBecause(t, r, "deeper")
		},
	},
	{
		name: "a carbon nested 3,000 deep inside unknown elements->not ours, no effect",
		send: func(w *world, _ scene) []sent {
			return []sent{{"mallory", `<message to='` + w.julietFull() + `' type='chat'>` + strings.Repeat("<x xmlns='urn:x'>", 3000) + carbon(w, "received", jmiMessage(w.full("romeo"), w.julietBare(), proposeEl("deep-2"))) + strings.Repeat("</x>", 3000) + `</message>`}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			nothingReached(t, r)
			unknownCall(t, w, "deep-2")
		},
	},
	{
		// 4,500 elements are 18 KB on the wire, but the client gets each
		// back with its namespace declared (185 KB), over the size limit
		// before the token limit. (Prosody itself needs seconds to route a
		// message of 20,000 elements, so the suite stays well below.)
		name: "a propose of 4,500 elements->refused",
		send: func(w *world, _ scene) []sent {
			return []sent{{"romeo", `<message to='` + w.julietBare() + `' type='chat'><propose xmlns='urn:xmpp:jingle-message:0' id='many-1'><description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>` + strings.Repeat("<a/>", 4500) + `</propose></message>`}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			nothingReached(t, r)
			unknownCall(t, w, "many-1")
			refusedBecause(t, r, "over the limit")
		},
	},
}

func TestPayloads(t *testing.T) { runTable(t, payloads) }

// refusedBecause: the victim refused input with a reason containing why.
func refusedBecause(t *testing.T, r outcome, why string) {
	t.Helper()
	for _, ev := range r.events {
		if ev.Type == call.EventIgnored && strings.Contains(ev.Reason, why) {
			return
		}
	}
	t.Errorf("the victim refused nothing because of %q", why)
}
