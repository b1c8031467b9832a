package main

import (
	"context"
	"encoding/json"

	"github.com/jmi-xmpp/jmi"
)

const parseUsage = `Usage: jmi parse < stanza.xml

Reads one <message/> stanza, or a bare JMI element, from standard input and
prints what it means as one JSON object on standard output. Use it to check
what a client sent: paste a stanza from an XML console or a server log.

  $ echo "<message from='romeo@montague.example/orchard' to='juliet@capulet.example' type='chat'>
      <propose xmlns='urn:xmpp:jingle-message:0' id='ca3cf894'>
        <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'/>
      </propose><store xmlns='urn:xmpp:hints'/></message>" | jmi parse
  {"kind":"propose","id":"ca3cf894","namespace":"urn:xmpp:jingle-message:0",...}

Fields: kind (propose, ringing, retract, proceed, reject, finish, accept), id,
namespace (urn:xmpp:jingle-message:0, or :1 of versions 0.4/0.5),
descriptions (namespace, media), reason (condition, text), tie_break,
migrated_to, and of the message: from, to, type ("normal" when absent) and
store (a <store xmlns='urn:xmpp:hints'/> hint was present). Fields that do
not apply are left out.

Reading is as lenient as jmi's client: the :1 namespace, <accept/>, a missing
reason or type or store hint, prefixed namespaces and non-UUID ids are read.
Invalid input (no JMI element, a missing id, malformed XML, a DTD, ...) exits
with status 1 and one line on standard error naming the problem.
`

// parsed is the JSON form of a decoded message.
type parsed struct {
	Kind         string            `json:"kind"`
	ID           string            `json:"id"`
	Namespace    string            `json:"namespace"`
	Descriptions []jsonDescription `json:"descriptions,omitempty"`
	Reason       *jsonReason       `json:"reason,omitempty"`
	TieBreak     bool              `json:"tie_break,omitempty"`
	MigratedTo   string            `json:"migrated_to,omitempty"`
	From         string            `json:"from,omitempty"`
	To           string            `json:"to,omitempty"`
	Type         string            `json:"type,omitempty"`
	Store        *bool             `json:"store,omitempty"`
}

type jsonDescription struct {
	Namespace string `json:"namespace"`
	Media     string `json:"media,omitempty"`
}

type jsonReason struct {
	Condition string `json:"condition,omitempty"`
	Text      string `json:"text,omitempty"`
}

func runParse(ctx context.Context, e env) error {
	fs := newFlags("parse", parseUsage, e)
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError("takes no arguments: the stanza comes on standard input")
	}
	m, err := jmi.ReadMessage(e.stdin)
	if err != nil {
		return err
	}
	out := toJSON(m)
	enc := json.NewEncoder(e.stdout)
	return enc.Encode(out)
}

func toJSON(m jmi.Message) parsed {
	p := parsed{Kind: m.Element.Kind().String(), ID: m.Element.SessionID(), Namespace: m.Namespace}
	if m.Type != "" { // a <message/>, not a bare element
		p.From, p.To, p.Type = m.From.String(), m.To.String(), m.Type
		store := m.Store
		p.Store = &store
	}
	var reason *jmi.Reason
	switch e := m.Element.(type) {
	case *jmi.Propose:
		for _, d := range e.Descriptions {
			p.Descriptions = append(p.Descriptions, jsonDescription{Namespace: d.Namespace, Media: d.Media})
		}
	case *jmi.Retract:
		reason, p.TieBreak = e.Reason, e.TieBreak
	case *jmi.Reject:
		reason, p.TieBreak = e.Reason, e.TieBreak
	case *jmi.Finish:
		reason, p.MigratedTo = e.Reason, e.MigratedTo
	}
	if reason != nil {
		p.Reason = &jsonReason{Condition: string(reason.Condition), Text: reason.Text}
	}
	return p
}
