package client

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"strings"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
)

// Namespaces of the IQs the client answers.
const (
	nsRoster       = `jabber:iq:roster`
	nsPing         = `urn:xmpp:ping`
	nsStanzaErrors = `urn:ietf:params:xml:ns:xmpp-stanzas`
	nsJingleErrors = `urn:xmpp:jingle:errors:1`
)

// inIQ is an IQ as it came off the stream, read from its raw attributes:
// mellium's own parsing of the addresses fails on what Prosody accepts
// (a resource PRECIS refuses), and an IQ must be answered all the same.
type inIQ struct {
	// from, to, id and typ are the raw attribute values. mellium blanks a
	// from equal to our bare JID before handlers see it.
	from, to, id, typ string
	// payload is the first child element (a zero Name when there is none).
	payload xml.StartElement
	// raw is the whole stanza, re-encoded.
	raw []byte
}

// iqEnvelope reads from, to, id and type of an IQ start. id and type are
// read as mellium v0.22.0 reads them (getIDTyp in session.go: by local
// name, whatever the attribute's namespace): mellium decides from those
// whether an IQ needs an answer and whether the handler wrote it, and an
// answer with another id would not count; mellium's own answer then parses
// the from and ends the stream when it cannot. from and to are the plain
// attributes only: the server stamps the plain from, while a namespaced
// one (x:from="") is the sender's to choose, and must never pass for our
// own server.
func iqEnvelope(start xml.StartElement) inIQ {
	iq := inIQ{from: attr(start, "from"), to: attr(start, "to")}
	idIdx, typIdx := -1, -1
	for i, a := range start.Attr {
		switch a.Name.Local {
		case "id":
			iq.id, idIdx = a.Value, i
		case "type":
			iq.typ, typIdx = a.Value, i
		}
		if idIdx > -1 && typIdx > -1 {
			break
		}
	}
	return iq
}

// readIQ reads the rest of the IQ whose start is start from t.
// Whatever goes wrong, the raw attributes come back, so that the IQ can be
// answered.
func readIQ(t xml.TokenReader, start *xml.StartElement) (inIQ, error) {
	envelope := iqEnvelope(*start)
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	err := enc.EncodeToken(*start)
	if err == nil {
		_, err = xmlstream.Copy(enc, t)
	}
	if err == nil {
		err = enc.Flush()
	}
	if err != nil {
		return envelope, err
	}
	iq, err := parseIQ(b.Bytes())
	if err != nil {
		return envelope, err
	}
	// The envelope as mellium saw it, not as it reads after re-encoding.
	iq.from, iq.to, iq.id, iq.typ = envelope.from, envelope.to, envelope.id, envelope.typ
	return iq, nil
}

// parseIQ reads an IQ from its bytes: its raw attributes and its first
// child.
func parseIQ(raw []byte) (inIQ, error) {
	var iq inIQ
	if len(raw) > maxIQSize {
		return iq, fmt.Errorf("an IQ of %d bytes is over the limit of %d", len(raw), maxIQSize)
	}
	dec := xml.NewDecoder(bytes.NewReader(raw))
	start, err := firstStart(dec)
	if err != nil {
		return iq, err
	}
	if start.Name.Local != "iq" {
		return iq, fmt.Errorf("<%s> is not an IQ", start.Name.Local)
	}
	iq = iqEnvelope(start)
	iq.raw = raw
	// Read to its end, so that what is kept is well-formed; the first child
	// is the payload.
	for depth := 1; depth > 0; {
		tok, err := dec.Token()
		if err != nil {
			return inIQ{}, fmt.Errorf("%w: %v", jmi.ErrMalformed, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 1 && iq.payload.Name.Local == "" {
				iq.payload = tok.Copy()
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
	return iq, nil
}

// maxIQSize bounds what the client decodes of one IQ: far above any Jingle
// session-initiate (a few KiB), far below what a server lets through.
const maxIQSize = 256 << 10

// rosterItem is one item of a roster push.
type rosterItem struct {
	JID          string `xml:"jid,attr"`
	Subscription string `xml:"subscription,attr"`
}

// decodeRosterPush reads the items of a roster push (RFC 6121 §2.1.6).
func decodeRosterPush(raw []byte) ([]rosterItem, error) {
	var push struct {
		Items []rosterItem `xml:"jabber:iq:roster query>item"`
	}
	if err := xml.Unmarshal(raw, &push); err != nil {
		return nil, fmt.Errorf("%w: %v", jmi.ErrMalformed, err)
	}
	return push.Items, nil
}

// decodeJingle reads the little of a Jingle IQ the client needs.
func decodeJingle(raw []byte) (jingleRequest, error) {
	var req struct {
		Jingle jingleRequest `xml:"urn:xmpp:jingle:1 jingle"`
	}
	if err := xml.Unmarshal(raw, &req); err != nil {
		return jingleRequest{}, fmt.Errorf("%w: %v", jmi.ErrMalformed, err)
	}
	if req.Jingle.SID == "" || req.Jingle.Action == "" {
		return jingleRequest{}, fmt.Errorf("%w: a Jingle element without sid or action", jmi.ErrMalformed)
	}
	return req.Jingle, nil
}

// handleIQ answers every IQ get or set addressed to this device, from its
// raw attributes (RFC 6120 §8.2.3): disco#info, ping, roster pushes from our
// own server, and Jingle for calls answered here; everything else gets
// <service-unavailable/> (§8.3.3). It never leaves an IQ to mellium's
// default answer, which parses the from and ends the whole stream when it
// cannot (one IQ from such a resource a second was a reconnect a second).
// Results and errors for our own IQs never get here: mellium hands them to
// the IQ's sender first.
//
// It writes only the reply, on t; anything else to send goes through the
// loop, after the reply.
func (c *Client) handleIQ(t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
	iq, err := readIQ(t, start)
	if err != nil {
		c.log.Warn("reading an IQ", "from", iq.from, "id", iq.id, "err", err)
		if iq.typ == "get" || iq.typ == "set" {
			return c.replyError(t, iq, "modify", "bad-request", nil)
		}
		return nil
	}
	if iq.typ != "get" && iq.typ != "set" {
		// A result or error nobody waits for (a late answer, or one to an
		// IQ we sent without waiting: our Jingle session-terminate).
		c.log.Debug("IQ answer nobody waits for", "from", iq.from, "id", iq.id, "type", iq.typ)
		return nil
	}
	ns, local := iq.payload.Name.Space, iq.payload.Name.Local
	switch {
	case iq.typ == "get" && ns == nsDiscoInfo && local == "query":
		// A node is asked for by who read our capabilities (XEP-0115 §6.2):
		// ours is CapsNode#ver; the answer names it back.
		node := attr(iq.payload, "node")
		if node != "" && node != CapsNode+"#"+c.capsVer() {
			return c.replyError(t, iq, "cancel", "item-not-found", nil)
		}
		return c.replyResult(t, iq, discoInfo(node, c.features()))
	case iq.typ == "get" && ns == nsPing && local == "ping":
		return c.replyResult(t, iq, nil)
	case iq.typ == "set" && ns == nsRoster && local == "query":
		return c.rosterPush(t, iq)
	}
	// A handler of Config.MuxOptions (a media stack) comes before the
	// client's own Jingle answers.
	if handled, err := c.extraIQ(t, iq); handled {
		return err
	}
	if iq.typ == "set" && ns == jmi.NSJingle && local == "jingle" {
		if c.flow != nil {
			return c.jingleIQWithMedia(t, iq)
		}
		return c.jingleIQ(t, iq)
	}
	return c.replyError(t, iq, "cancel", "service-unavailable", nil)
}

// discoInfo is our answer to disco#info (XEP-0030): a client advertising
// the features vars (JMI, carbons, and what the application added).
func discoInfo(node string, vars []string) xml.TokenReader {
	var feats []xml.TokenReader
	for _, f := range vars {
		feats = append(feats, xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Local: "feature"}, Attr: []xml.Attr{{Name: xml.Name{Local: "var"}, Value: f}}}))
	}
	id := xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Local: "identity"}, Attr: []xml.Attr{
		{Name: xml.Name{Local: "category"}, Value: identity.Category}, {Name: xml.Name{Local: "type"}, Value: identity.Type}, {Name: xml.Name{Local: "name"}, Value: identity.Name}}})
	query := xml.StartElement{Name: xml.Name{Space: nsDiscoInfo, Local: "query"}}
	if node != "" {
		query.Attr = []xml.Attr{{Name: xml.Name{Local: "node"}, Value: node}}
	}
	return xmlstream.Wrap(xmlstream.MultiReader(append([]xml.TokenReader{id}, feats...)...), query)
}

// replyStart is the start of the answer to iq: same id, to its raw from.
// No from: the server stamps ours (RFC 6120 §8.1.2.1).
func replyStart(iq inIQ, typ string) xml.StartElement {
	a := []xml.Attr{{Name: xml.Name{Local: "type"}, Value: typ}, {Name: xml.Name{Local: "id"}, Value: iq.id}}
	if iq.from != "" {
		a = append(a, xml.Attr{Name: xml.Name{Local: "to"}, Value: iq.from})
	}
	return xml.StartElement{Name: xml.Name{Local: "iq"}, Attr: a}
}

// replyResult answers iq with a result carrying payload (nil: empty).
func (c *Client) replyResult(t xmlstream.TokenWriter, iq inIQ, payload xml.TokenReader) error {
	_, err := xmlstream.Copy(t, xmlstream.Wrap(payload, replyStart(iq, "result")))
	return err
}

// replyError answers iq with a stanza error (RFC 6120 §8.3) of the given
// type and defined condition, and an application condition when app is not
// nil.
func (c *Client) replyError(t xmlstream.TokenWriter, iq inIQ, typ, condition string, app xml.TokenReader) error {
	inner := []xml.TokenReader{xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: nsStanzaErrors, Local: condition}})}
	if app != nil {
		inner = append(inner, app)
	}
	el := xmlstream.Wrap(xmlstream.MultiReader(inner...), xml.StartElement{Name: xml.Name{Local: "error"}, Attr: []xml.Attr{{Name: xml.Name{Local: "type"}, Value: typ}}})
	_, err := xmlstream.Copy(t, xmlstream.Wrap(el, replyStart(iq, "error")))
	if err == nil {
		c.log.Debug("answered an IQ with an error", "from", iq.from, "id", iq.id, "payload", iq.payload.Name.Space+" "+iq.payload.Name.Local, "condition", condition)
	}
	return err
}

// fromOwnAccount says a raw from is absent or our bare JID: the only
// senders of a roster push (RFC 6121 §2.1.6).
func (c *Client) fromOwnAccount(from string) bool {
	if from == "" {
		return true
	}
	j, err := jid.Parse(from)
	return err == nil && j.Equal(c.cfg.JID.Bare())
}

// rosterPush applies a roster push (RFC 6121 §2.1.6) from our own server,
// so that trust follows the roster while the client runs: a contact
// removed no longer rings, one approved rings. A push from anyone else is
// refused: it would let a stranger make himself a trusted contact.
func (c *Client) rosterPush(t xmlstream.TokenWriter, iq inIQ) error {
	if !c.fromOwnAccount(iq.from) {
		c.log.Warn("refused a roster push not from our own account", "from", iq.from, "id", iq.id)
		return c.replyError(t, iq, "cancel", "service-unavailable", nil)
	}
	items, err := decodeRosterPush(iq.raw)
	if err != nil {
		c.log.Warn("refused a malformed roster push", "id", iq.id, "err", err)
		return c.replyError(t, iq, "modify", "bad-request", nil)
	}
	c.mu.Lock()
	for _, it := range items {
		j, err := jid.Parse(it.JID)
		if err != nil {
			c.log.Warn("roster push: an item with a bad JID", "jid", it.JID, "err", err)
			continue
		}
		key := j.Bare().String()
		if it.Subscription == "remove" {
			delete(c.roster, key)
		} else {
			c.roster[key] = it.Subscription
		}
		c.log.Debug("roster push", "jid", key, "subscription", it.Subscription)
	}
	c.mu.Unlock()
	return c.replyResult(t, iq, nil)
}

// jingleRequest is the little of a Jingle IQ (XEP-0166) the client reads
// until a media stack handles Jingle: the action, the session id and the
// reason's condition.
type jingleRequest struct {
	Action string `xml:"action,attr"`
	SID    string `xml:"sid,attr"`
	Reason *struct {
		Conditions []struct {
			XMLName xml.Name
		} `xml:",any"`
	} `xml:"reason"`
}

// condition is the reason's defined condition, or "".
func (j jingleRequest) condition() jmi.Condition {
	if j.Reason == nil {
		return ""
	}
	for _, c := range j.Reason.Conditions {
		if c.XMLName.Space == jmi.NSJingle && c.XMLName.Local != "text" {
			return jmi.Condition(c.XMLName.Local)
		}
	}
	return ""
}

// jingleIQ answers Jingle for the calls of this device without media
// (Config.Media nil; with media, jingleIQWithMedia runs the session), and peers that hang up only with Jingle (Dino 0.4.2 sends neither
// ringing nor finish, and waits for ever after a JMI-only answer) must
// still see the call end:
//   - a session-initiate for a call answered here (sid = the propose id,
//     from the device that proposed, XEP-0353 §3.6) is acknowledged, then
//     terminated with <unsupported-applications/> (XEP-0166 §7.2.11), and
//     the JMI call is finished with our <finish/>;
//   - a session-terminate for a call answered here is acknowledged and the
//     call ends as the peer's finish would end it;
//   - any other action on such a session is acknowledged and dropped;
//   - anything else is <item-not-found/> with <unknown-session/>
//     (XEP-0166 §7.2).
func (c *Client) jingleIQ(t xmlstream.TokenWriter, iq inIQ) error {
	j, err := decodeJingle(iq.raw)
	if err != nil {
		c.log.Warn("refused a malformed Jingle IQ", "from", iq.from, "id", iq.id, "err", err)
		return c.replyError(t, iq, "modify", "bad-request", nil)
	}
	unknown := func() error {
		c.log.Warn("Jingle for no call answered here", "from", iq.from, "sid", j.SID, "action", j.Action)
		return c.replyError(t, iq, "cancel", "item-not-found", xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: nsJingleErrors, Local: "unknown-session"}}))
	}
	from, err := jid.Parse(iq.from)
	if err != nil {
		return unknown() // no call is with a device we cannot even name
	}
	// The Device lives on the loop; ask it, bounded so that a stuck loop
	// cannot stop the stream.
	var info call.Info
	var found bool
	ctx, cancel := context.WithTimeout(c.life, 5*time.Second)
	err = c.run(ctx, func() { info, found = c.dev.Call(j.SID) })
	cancel()
	if err != nil {
		return c.replyError(t, iq, "wait", "internal-server-error", nil)
	}
	ours := found && !info.Elsewhere && info.Device.Equal(from)
	answeredHere := ours && info.State == call.StateActive
	var followUp func()
	switch {
	case j.Action == "session-initiate" && answeredHere && info.Direction == call.Incoming:
		followUp = func() { c.refuseJingleSession(from, j.SID) }
	case j.Action == "session-terminate" && answeredHere:
		reason := &jmi.Reason{Condition: j.condition()}
		if reason.Condition == "" {
			reason.Condition = jmi.Success
		}
		followUp = func() {
			// The peer's hang-up, as its <finish/> would have said it
			// (XEP-0353 §3.7): the engine ends the call and answers with
			// our finish.
			effs, _ := c.dev.Do(time.Now(), call.Signal{From: from, To: c.cfg.JID, Via: call.ViaLive, Element: &jmi.Finish{ID: j.SID, Reason: reason}})
			c.apply(effs)
		}
	case ours && j.Action != "session-initiate":
		// transport-info and the like, trickled before our terminate
		// arrived: nothing to do with them.
	default:
		return unknown()
	}
	if err := c.replyResult(t, iq, nil); err != nil {
		return err
	}
	if followUp != nil {
		c.log.Debug("Jingle", "action", j.Action, "sid", j.SID, "from", iq.from)
		// The reply holds the stream's writer until the handler returns, so
		// what the loop sends next goes out after it. Posted from another
		// goroutine: the loop may be waiting for that writer, and its inbox
		// may be full.
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.post(followUp)
		}()
	}
	return nil
}

// refuseJingleSession ends the Jingle session sid that the peer device
// from initiated, with <unsupported-applications/> (jmi has no media
// stack), and finishes the JMI call answered here. It runs on the loop.
func (c *Client) refuseJingleSession(from jid.JID, sid string) {
	info, ok := c.dev.Call(sid)
	if !ok || info.State != call.StateActive {
		return // ended meanwhile
	}
	terminate, err := sessionTerminate(from, sid, jmi.UnsupportedApplications)
	if err == nil {
		err = c.sendRaw(c.life, terminate)
	}
	if err != nil {
		c.log.Warn("sending Jingle session-terminate", "sid", sid, "to", from.String(), "err", err)
	}
	var effs []call.Effect
	effs, err = c.dev.Do(time.Now(), call.UserFinish{ID: sid, Reason: &jmi.Reason{Condition: jmi.UnsupportedApplications}})
	if err != nil {
		c.log.Warn("finishing the call after refusing its Jingle session", "sid", sid, "err", err)
	}
	c.apply(effs)
}

// sessionTerminate is a Jingle session-terminate IQ (XEP-0166 §6.7) with a
// reason condition.
func sessionTerminate(to jid.JID, sid string, condition jmi.Condition) (string, error) {
	var b strings.Builder
	e := xml.NewEncoder(&b)
	iq := xml.StartElement{Name: xml.Name{Local: "iq"}, Attr: []xml.Attr{
		{Name: xml.Name{Local: "type"}, Value: "set"}, {Name: xml.Name{Local: "id"}, Value: "jmi-" + jmi.NewID()}, {Name: xml.Name{Local: "to"}, Value: to.String()}}}
	jingle := xml.StartElement{Name: xml.Name{Space: jmi.NSJingle, Local: "jingle"}, Attr: []xml.Attr{
		{Name: xml.Name{Local: "action"}, Value: "session-terminate"}, {Name: xml.Name{Local: "sid"}, Value: sid}}}
	reason := xml.StartElement{Name: xml.Name{Local: "reason"}}
	cond := xml.StartElement{Name: xml.Name{Local: string(condition)}}
	for _, tok := range []xml.Token{iq, jingle, reason, cond, cond.End(), reason.End(), jingle.End(), iq.End()} {
		if err := e.EncodeToken(tok); err != nil {
			return "", fmt.Errorf("client: encoding a session-terminate: %w", err)
		}
	}
	if err := e.Flush(); err != nil {
		return "", fmt.Errorf("client: encoding a session-terminate: %w", err)
	}
	return b.String(), nil
}
