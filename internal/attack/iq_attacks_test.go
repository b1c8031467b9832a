package attack

import (
	"strings"
	"testing"

	"github.com/jmi-xmpp/jmi/internal/rawxmpp"
)

// iqAttacks is the table of the attacks through IQs, the roster and the
// archive catch-up (disco#info from strangers, IQs with a from mellium
// cannot parse, forged roster pushes, archive results injected while a
// catch-up runs, …). Each row is an attack as in attacks_test.go: its
// stanzas, sent by the raw clients of the world (romeo, a trusted contact;
// mallory, a stranger whose resource mellium cannot parse; tybalt, a
// stranger; benvolio), and its check of what the victim did and what
// reached each raw client. Use rawxmpp.Conn.IQ for a round trip of one's
// own. Add rows here.
//
// Every row also proves that the victim's stream survived: the markers that
// end each row are messages to the victim's full JID, which a victim that
// had lost its stream (as mellium's default answer to an IQ from an
// unparsable from made it) would never report.
var iqAttacks = []attack{
	{
		name: "unparsable from: version get->service-unavailable to that resource",
		send: func(w *world, _ scene) []sent {
			return []sent{{"mallory", `<iq type='get' id='ia-version' to='` + w.julietFull() + `'><query xmlns='jabber:iq:version'/></iq>`}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			onlyAnswer(t, w, r, "mallory", "ia-version", "error", "<service-unavailable")
			nothingReached(t, r, "romeo", "tybalt", "benvolio")
		},
	},
	{
		name: "unparsable from: disco#info->answered, JMI advertised",
		send: func(w *world, _ scene) []sent {
			return []sent{{"mallory", `<iq type='get' id='ia-disco' to='` + w.julietFull() + `'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			onlyAnswer(t, w, r, "mallory", "ia-disco", "result", "urn:xmpp:jingle-message:0")
		},
	},
	{
		name: "unparsable from: a set of an unknown namespace, and a ping->each answered",
		send: func(w *world, _ scene) []sent {
			return []sent{
				{"mallory", `<iq type='set' id='ia-frob' to='` + w.julietFull() + `'><frob xmlns='urn:example:frob'><deep><deeper/></deep></frob></iq>`},
				{"mallory", `<iq type='get' id='ia-ping' to='` + w.julietFull() + `'><ping xmlns='urn:xmpp:ping'/></iq>`},
			}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			answerTo(t, w, r, "mallory", "ia-frob", "error", "<service-unavailable")
			answerTo(t, w, r, "mallory", "ia-ping", "result")
		},
	},
	{
		// mellium reads id, type and from by their local name, whatever
		// their namespace: an answer built from other attributes than its
		// own would not count as one, and its default answer would end the
		// stream.
		name: "unparsable from: namespaced id, type and from beside the plain ones->answered as mellium reads them",
		send: func(w *world, _ scene) []sent {
			var rows []sent
			for i, attrs := range []string{
				`type='get' x:id='ia-ns-1' id='ia-ns-plain-1'`,
				`x:id='ia-ns-2' type='get' id='ia-ns-plain-2'`,
				`id='ia-ns-3' x:type='result' type='get'`,
				`x:from='tybalt@` + w.srv.Domain + `/sword' type='get' id='ia-ns-4'`,
			} {
				_ = i
				rows = append(rows, sent{"mallory", `<iq xmlns:x='urn:example:x' ` + attrs + ` to='` + w.julietFull() + `'><query xmlns='jabber:iq:version'/></iq>`})
			}
			return rows
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			// Each is answered once, to Mallory (never to the from she
			// chose), with the id mellium read: which of the two that is
			// depends on the order Prosody writes the attributes in.
			rows := map[string]int{"ia-ns-1": 1, "ia-ns-plain-1": 1, "ia-ns-2": 2, "ia-ns-plain-2": 2, "ia-ns-3": 3, "ia-ns-4": 4}
			answered := map[int]int{}
			for _, st := range r.got["mallory"] {
				answered[rows[st.ID()]]++
				if st.Name != "iq" || st.Type() != "error" || !strings.Contains(st.Raw, "<service-unavailable") || st.To() != w.conn("mallory").JID() {
					t.Errorf("mallory received: %s", st.Raw)
				}
			}
			for row := 1; row <= 4; row++ {
				// The third is a result where mellium reads x:type first,
				// and then needs no answer.
				if answered[row] != 1 && (row != 3 || answered[row] != 0) {
					t.Errorf("IQ %d answered %d times, want once", row, answered[row])
				}
			}
			nothingReached(t, r, "romeo", "tybalt", "benvolio")
		},
	},
	{
		name: "unparsable from: a roster push with x:from='' (our server's absent from)->refused",
		send: func(w *world, _ scene) []sent {
			return []sent{{"mallory", `<iq xmlns:x='urn:example:x' x:from='' type='set' id='ia-push-ns' to='` + w.julietFull() + `'><query xmlns='jabber:iq:roster'><item jid='` + w.bare("mallory") + `' subscription='both'/></query></iq>`}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			onlyAnswer(t, w, r, "mallory", "ia-push-ns", "error", "<service-unavailable")
		},
	},
	{
		name: "unparsable from: results and errors nobody asked for->no answer",
		send: func(w *world, _ scene) []sent {
			return []sent{
				{"mallory", `<iq type='result' id='ia-stray' to='` + w.julietFull() + `'/>`},
				{"mallory", `<iq type='error' id='ia-stray-2' to='` + w.julietFull() + `'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`},
			}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			nothingReached(t, r)
		},
	},
	{
		name: "unparsable from: a roster push->refused",
		send: func(w *world, _ scene) []sent {
			return []sent{{"mallory", rosterPush("ia-push-m", w.julietFull(), w.bare("mallory"), "both")}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			onlyAnswer(t, w, r, "mallory", "ia-push-m", "error", "<service-unavailable")
			logged(t, w, "refused a roster push not from our own account")
		},
	},
	{
		name: "stranger: a roster push making himself a contact->refused",
		send: func(w *world, _ scene) []sent {
			return []sent{{"tybalt", rosterPush("ia-push-t", w.julietFull(), w.bare("tybalt"), "both")}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			onlyAnswer(t, w, r, "tybalt", "ia-push-t", "error", "<service-unavailable")
		},
	},
	{
		name: "trusted contact: a roster push removing himself->refused too",
		send: func(w *world, _ scene) []sent {
			return []sent{{"romeo", rosterPush("ia-push-r", w.julietFull(), w.bare("romeo"), "remove")}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			onlyAnswer(t, w, r, "romeo", "ia-push-r", "error", "<service-unavailable")
		},
	},
	{
		name:    "stranger: Jingle session-initiate for the real call->unknown-session, it rings on",
		prepare: ringingCall,
		send: func(w *world, sc scene) []sent {
			return []sent{{"tybalt", jingleIQ("ia-si-t", w.julietFull(), "session-initiate", sc.id)}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			onlyAnswer(t, w, r, "tybalt", "ia-si-t", "error", "<item-not-found", "<unknown-session")
			stillRinging(t, w, r.id)
			nothingReached(t, r, "romeo", "mallory", "benvolio")
		},
	},
	{
		name:    "caller: Jingle session-initiate before the answer->unknown-session, it rings on",
		prepare: ringingCall,
		send: func(w *world, sc scene) []sent {
			return []sent{{"romeo", jingleIQ("ia-si-r", w.julietFull(), "session-initiate", sc.id)}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			onlyAnswer(t, w, r, "romeo", "ia-si-r", "error", "<unknown-session")
			stillRinging(t, w, r.id)
		},
	},
	{
		name:    "unparsable from: Jingle session-terminate for the real call->unknown-session, it rings on",
		prepare: ringingCall,
		send: func(w *world, sc scene) []sent {
			return []sent{{"mallory", jingleIQ("ia-st-m", w.julietFull(), "session-terminate", sc.id)}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			onlyAnswer(t, w, r, "mallory", "ia-st-m", "error", "<unknown-session")
			stillRinging(t, w, r.id)
		},
	},
	{
		name: "stranger: Jingle without a sid->bad-request",
		send: func(w *world, _ scene) []sent {
			return []sent{{"tybalt", `<iq type='set' id='ia-j-nosid' to='` + w.julietFull() + `'><jingle xmlns='urn:xmpp:jingle:1' action='session-initiate'/></iq>`}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			onlyAnswer(t, w, r, "tybalt", "ia-j-nosid", "error", "<bad-request")
		},
	},
}

func rosterPush(id, to, item, subscription string) string {
	return `<iq type='set' id='` + id + `' to='` + to + `'><query xmlns='jabber:iq:roster'><item jid='` + item + `' subscription='` + subscription + `'/></query></iq>`
}

func jingleIQ(id, to, action, sid string) string {
	return `<iq type='set' id='` + id + `' to='` + to + `'><jingle xmlns='urn:xmpp:jingle:1' action='` + action + `' sid='` + sid + `'><reason><success/></reason></jingle></iq>`
}

// answerTo checks that the victim answered the IQ id of the raw client name
// once, with type typ, carrying each of contains, addressed to that
// client's resource exactly as the server bound it.
func answerTo(t *testing.T, w *world, r outcome, name, id, typ string, contains ...string) rawxmpp.Stanza {
	t.Helper()
	var answers []rawxmpp.Stanza
	for _, st := range r.got[name] {
		if st.Name == "iq" && st.ID() == id {
			answers = append(answers, st)
		}
	}
	if len(answers) != 1 {
		t.Fatalf("%s: %d answers to %s, want one: %v", name, len(answers), id, answers)
	}
	a := answers[0]
	if a.Type() != typ {
		t.Errorf("%s: answer %s, want type %s", name, a.Raw, typ)
	}
	for _, c := range contains {
		if !strings.Contains(a.Raw, c) {
			t.Errorf("%s: answer %s lacks %s", name, a.Raw, c)
		}
	}
	if a.To() != w.conn(name).JID() {
		t.Errorf("%s: answer to %q, want %q", name, a.To(), w.conn(name).JID())
	}
	return a
}

// onlyAnswer is answerTo, and nothing else reached name.
func onlyAnswer(t *testing.T, w *world, r outcome, name, id, typ string, contains ...string) {
	t.Helper()
	answerTo(t, w, r, name, id, typ, contains...)
	for _, st := range r.got[name] {
		if st.ID() != id {
			t.Errorf("%s received: %s", name, st.Raw)
		}
	}
}

// logged checks the victim's log says what.
func logged(t *testing.T, w *world, what string) {
	t.Helper()
	if !strings.Contains(w.log.String(), what) {
		t.Errorf("the victim's log lacks %q", what)
	}
}

func TestIQAttacks(t *testing.T) {
	runTable(t, iqAttacks)
}
