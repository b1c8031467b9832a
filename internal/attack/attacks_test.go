package attack

import (
	"testing"
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
		send: func(w *world, _ string) []sent {
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
		send: func(w *world, id string) []sent {
			return []sent{{"mallory", carbon(w, "sent", jmiMessage(w.julietBare()+"/tablet", w.full("romeo"), proceedEl(id)))}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			stillRinging(t, w, r.id)
			nothingReached(t, r)
		},
	},
	{
		name: "unparsable from: sent carbon of a propose->no outgoing call, no history",
		send: func(w *world, _ string) []sent {
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
		send: func(w *world, _ string) []sent {
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
		send: func(w *world, _ string) []sent {
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
		send: func(w *world, id string) []sent {
			return []sent{{"tybalt", carbon(w, "sent", jmiMessage(w.julietBare()+"/tablet", w.full("romeo"), proceedEl(id)))}}
		},
		check: func(t *testing.T, w *world, r outcome) {
			onlyIgnored(t, r)
			stillRinging(t, w, r.id)
			nothingReached(t, r)
		},
	},
	{
		name: "stranger: archive result of Romeo's propose->refused",
		send: func(w *world, _ string) []sent {
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
