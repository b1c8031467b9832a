package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/jingle"
)

const parseUsage = `Usage: jmi parse < stanza.xml

Reads one <message/> stanza, or a bare JMI element, or one Jingle <iq/> (or
a bare <jingle xmlns='urn:xmpp:jingle:1'/>), from standard input and prints
what it means as one JSON object on standard output. Use it to check what a
client sent: paste a stanza from an XML console or a server log.

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

A Jingle IQ prints as kind "jingle" (kind "iq" for a result or an error
without one): action, sid, initiator, responder, from, to, type, id, group
(semantics, contents), reason (condition, sid, text), error (type,
condition, jingle_condition, text) and contents, each with name, creator,
senders ("both" when the attribute is absent), media, rtcp_mux, encryption,
payloads (id, name, clockrate, channels, ptime, maxptime, parameters,
rtcp_fb), rtcp_fb, hdrext, sources, ssrc_groups, transport (ufrag, pwd,
ice_options, candidates with component, foundation, generation, id, ip,
port, priority, protocol, type, rel_addr, rel_port, network and other
attributes) and fingerprint (hash, setup, value). Payloads and candidates
keep the order of the stanza. Candidates of component 2 (Dino) and over TCP
(Monal) are shown as they came.

Invalid input (no JMI or Jingle element, a missing id or sid, an unknown
action, a port out of range, malformed XML, a DTD, ...) exits with status 1
and one line on standard error naming the problem.
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
	// Read enough for the larger of the two limits; each parser refuses
	// what is beyond its own.
	b, err := io.ReadAll(io.LimitReader(e.stdin, max(jmi.MaxStanzaSize, jingle.MaxStanzaSize)+1))
	if err != nil {
		return fmt.Errorf("reading standard input: %w", err)
	}
	if isJingle(b) {
		iq, err := jingle.Parse(b)
		switch {
		case err == nil:
			return json.NewEncoder(e.stdout).Encode(jingleToJSON(iq))
		case !errors.Is(err, jingle.ErrNoJingle):
			return err
		}
		// An iq set or get without Jingle: JMI's parser says what it
		// said before Jingle was read.
	}
	m, err := jmi.Parse(b)
	if err != nil {
		return err
	}
	return json.NewEncoder(e.stdout).Encode(toJSON(m))
}

// isJingle reports whether the root element of b is an <iq/> or a bare
// <jingle xmlns='urn:xmpp:jingle:1'/>. Anything else, malformed input
// included, goes to the JMI parser as before.
func isJingle(b []byte) bool {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		if start, ok := tok.(xml.StartElement); ok {
			n := start.Name
			return (n.Local == "iq" && (n.Space == "" || n.Space == "jabber:client" || n.Space == "jabber:server")) ||
				(n.Local == "jingle" && n.Space == jingle.NS)
		}
	}
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

// jingleIQ is the JSON form of a decoded Jingle IQ.
type jingleIQ struct {
	Kind      string          `json:"kind"`
	Action    string          `json:"action,omitempty"`
	SID       string          `json:"sid,omitempty"`
	Initiator string          `json:"initiator,omitempty"`
	Responder string          `json:"responder,omitempty"`
	From      string          `json:"from,omitempty"`
	To        string          `json:"to,omitempty"`
	Type      string          `json:"type,omitempty"`
	ID        string          `json:"id,omitempty"`
	Group     *jingleGroup    `json:"group,omitempty"`
	Reason    *jingleReason   `json:"reason,omitempty"`
	Error     *jingleError    `json:"error,omitempty"`
	Contents  []jingleContent `json:"contents,omitempty"`
}

type jingleGroup struct {
	Semantics string   `json:"semantics"`
	Contents  []string `json:"contents"`
}

type jingleReason struct {
	Condition string `json:"condition,omitempty"`
	SID       string `json:"sid,omitempty"`
	Text      string `json:"text,omitempty"`
}

type jingleError struct {
	Type            string `json:"type,omitempty"`
	Condition       string `json:"condition,omitempty"`
	JingleCondition string `json:"jingle_condition,omitempty"`
	Text            string `json:"text,omitempty"`
}

type jingleContent struct {
	Name        string             `json:"name"`
	Creator     string             `json:"creator"`
	Senders     string             `json:"senders"`
	Disposition string             `json:"disposition,omitempty"`
	Media       string             `json:"media,omitempty"`
	RTCPMux     bool               `json:"rtcp_mux,omitempty"`
	Encryption  bool               `json:"encryption,omitempty"`
	Payloads    []jinglePayload    `json:"payloads,omitempty"`
	Feedback    []string           `json:"rtcp_fb,omitempty"`
	HdrExt      []jingleHdrExt     `json:"hdrext,omitempty"`
	Sources     []jingleSource     `json:"sources,omitempty"`
	SSRCGroups  []jingleSSRCGroup  `json:"ssrc_groups,omitempty"`
	Transport   *jingleTransport   `json:"transport,omitempty"`
	Fingerprint *jingleFingerprint `json:"fingerprint,omitempty"`
}

type jinglePayload struct {
	ID         uint8             `json:"id"`
	Name       string            `json:"name,omitempty"`
	Clockrate  uint32            `json:"clockrate,omitempty"`
	Channels   uint8             `json:"channels,omitempty"`
	PTime      uint32            `json:"ptime,omitempty"`
	MaxPTime   uint32            `json:"maxptime,omitempty"`
	Parameters map[string]string `json:"parameters,omitempty"`
	Feedback   []string          `json:"rtcp_fb,omitempty"`
}

type jingleHdrExt struct {
	ID      uint16 `json:"id"`
	URI     string `json:"uri"`
	Senders string `json:"senders,omitempty"`
}

type jingleSource struct {
	SSRC       uint32            `json:"ssrc"`
	Parameters map[string]string `json:"parameters,omitempty"`
}

type jingleSSRCGroup struct {
	Semantics string   `json:"semantics"`
	SSRCs     []uint32 `json:"ssrcs"`
}

type jingleTransport struct {
	Ufrag      string            `json:"ufrag,omitempty"`
	Pwd        string            `json:"pwd,omitempty"`
	ICEOptions []string          `json:"ice_options,omitempty"`
	Candidates []jingleCandidate `json:"candidates,omitempty"`
}

type jingleCandidate struct {
	Component  uint8             `json:"component"`
	Foundation string            `json:"foundation"`
	Generation uint8             `json:"generation"`
	ID         string            `json:"id,omitempty"`
	IP         string            `json:"ip"`
	Port       uint16            `json:"port"`
	Priority   uint32            `json:"priority"`
	Protocol   string            `json:"protocol"`
	Type       string            `json:"type"`
	RelAddr    string            `json:"rel_addr,omitempty"`
	RelPort    *uint16           `json:"rel_port,omitempty"`
	Network    uint8             `json:"network"`
	Attrs      map[string]string `json:"attrs,omitempty"`
}

type jingleFingerprint struct {
	Hash  string `json:"hash"`
	Setup string `json:"setup,omitempty"`
	Value string `json:"value"`
}

func jingleToJSON(iq jingle.IQ) jingleIQ {
	out := jingleIQ{Kind: "iq", From: iq.From, To: iq.To, Type: iq.Type, ID: iq.ID}
	if e := iq.Error; e != nil {
		out.Error = &jingleError{Type: e.Type, Condition: e.Condition, JingleCondition: e.JingleCondition, Text: e.Text}
	}
	j := iq.Jingle
	if j == nil {
		return out
	}
	out.Kind, out.Action, out.SID, out.Initiator, out.Responder = "jingle", j.Action.String(), j.SID, j.Initiator, j.Responder
	if g := j.Group; g != nil {
		out.Group = &jingleGroup{Semantics: g.Semantics, Contents: g.Contents}
	}
	if r := j.Reason; r != nil {
		out.Reason = &jingleReason{Condition: string(r.Condition), SID: r.SID, Text: r.Text}
	}
	for _, c := range j.Contents {
		out.Contents = append(out.Contents, contentToJSON(c))
	}
	return out
}

func contentToJSON(c jingle.Content) jingleContent {
	out := jingleContent{Name: c.Name, Creator: c.Creator.String(), Senders: c.Senders.String(), Disposition: c.Disposition}
	if d := c.Description; d != nil {
		out.Media, out.RTCPMux, out.Encryption = d.Media, d.RTCPMux, d.Encryption != nil
		for _, p := range d.Payloads {
			out.Payloads = append(out.Payloads, jinglePayload{
				ID: p.ID, Name: p.Name, Clockrate: p.Clockrate, Channels: p.Channels, PTime: p.PTime, MaxPTime: p.MaxPTime,
				Parameters: parameterMap(p.Parameters), Feedback: feedbackNames(p.Feedback),
			})
		}
		out.Feedback = feedbackNames(d.Feedback)
		for _, h := range d.HeaderExtensions {
			x := jingleHdrExt{ID: h.ID, URI: h.URI}
			if h.Senders != jingle.SendersBoth {
				x.Senders = h.Senders.String()
			}
			out.HdrExt = append(out.HdrExt, x)
		}
		for _, s := range d.Sources {
			out.Sources = append(out.Sources, jingleSource{SSRC: s.SSRC, Parameters: parameterMap(s.Parameters)})
		}
		for _, g := range d.SourceGroups {
			out.SSRCGroups = append(out.SSRCGroups, jingleSSRCGroup{Semantics: g.Semantics, SSRCs: g.SSRCs})
		}
	}
	if t := c.Transport; t != nil {
		out.Transport = &jingleTransport{Ufrag: t.Ufrag, Pwd: t.Pwd, ICEOptions: t.ICEOptions}
		for _, k := range t.Candidates {
			x := jingleCandidate{
				Component: k.Component, Foundation: k.Foundation, Generation: k.Generation, ID: k.ID, IP: k.IP, Port: k.Port,
				Priority: k.Priority, Protocol: k.Protocol, Type: k.Type, RelAddr: k.RelAddr, Network: k.Network,
			}
			if k.RelAddr != "" || k.RelPort != 0 {
				port := k.RelPort
				x.RelPort = &port
			}
			for _, a := range k.Attrs {
				if x.Attrs == nil {
					x.Attrs = map[string]string{}
				}
				x.Attrs[a.Name.Local] = a.Value
			}
			out.Transport.Candidates = append(out.Transport.Candidates, x)
		}
		if f := t.Fingerprint; f != nil {
			out.Fingerprint = &jingleFingerprint{Hash: f.Hash, Setup: f.Setup.String(), Value: f.Value}
		}
	}
	return out
}

// parameterMap gives parameters as a JSON object; of a repeated name the
// last wins.
func parameterMap(ps []jingle.Parameter) map[string]string {
	if len(ps) == 0 {
		return nil
	}
	m := make(map[string]string, len(ps))
	for _, p := range ps {
		m[p.Name] = p.Value
	}
	return m
}

// feedbackNames gives each rtcp-fb as "type" or "type subtype".
func feedbackNames(fbs []jingle.RTCPFeedback) []string {
	var names []string
	for _, fb := range fbs {
		name := fb.Type
		if fb.Subtype != "" {
			name += " " + fb.Subtype
		}
		names = append(names, name)
	}
	return names
}
