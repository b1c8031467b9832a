package client

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
	"mellium.im/xmlstream"
	"mellium.im/xmpp/jid"
)

// Namespaces the client unwraps.
const (
	NSCarbons = `urn:xmpp:carbons:2`
	NSForward = `urn:xmpp:forward:0`
	NSMAM     = `urn:xmpp:mam:2`
	NSDelay   = `urn:xmpp:delay`
)

// DeviceConfig configures a Device. Account is required; the rest may be
// zero.
type DeviceConfig struct {
	// Account is this device's full JID.
	Account jid.JID
	// Engine configures the call engine; its Account is set from Account.
	Engine call.Config
	// Trust says whether a caller (a bare JID) may make this device ring and
	// be told so (XEP-0353 §6). Nil trusts nobody: calls are recorded
	// silently until the user acts.
	Trust func(peer jid.JID) bool
	// SharesPresence says whether the account already shares presence with
	// peer, so that no directed presence is needed. Nil: it does not.
	SharesPresence func(peer jid.JID) bool
	// NewMessageID makes the id of each message sent. Nil: random ids.
	NewMessageID func() string
}

// Device is the JMI logic of one device without the network: it takes each
// <message/> exactly as it arrived on the stream (a plain message, a carbon
// or an archive result), refuses what is forged or misaddressed, feeds the
// call engine, and renders what the engine asks to send as stanzas. The
// networked Client runs one; so does "jmi replay", so that a transcript goes
// through exactly the client's code path.
//
// A Device is not safe for concurrent use: one goroutine owns it.
type Device struct {
	cfg           DeviceConfig
	bare          jid.JID
	m             *call.Machine
	queryID       string // of the catch-up under way, if any
	lastArchiveID string
	// sent remembers the message ids of the last proposes and proceeds
	// sent, so that a bounce (which Prosody sends without the payload, with
	// the message's id only) finds its call.
	sent      map[string]sentMessage
	sentOrder []string // oldest first, at most maxSentRemembered
	// addrs are the addresses parsed last: a stream brings the same few
	// again and again (the peer's device, our own JID), and PRECIS is
	// the dearest part of reading an envelope.
	addrs    [8]parsedAddr
	addrNext int
}

// parsedAddr is a raw address and what jid.Parse made of it.
type parsedAddr struct {
	raw string
	j   jid.JID
	err error
}

// parseJID is jid.Parse, remembering the last few answers (a jid.JID is
// never changed in place, so one can be handed out again).
func (d *Device) parseJID(raw string) (jid.JID, error) {
	for i := range d.addrs {
		if a := &d.addrs[i]; a.raw == raw && raw != "" {
			return a.j, a.err
		}
	}
	j, err := jid.Parse(raw)
	d.addrs[d.addrNext] = parsedAddr{raw: raw, j: j, err: err}
	d.addrNext = (d.addrNext + 1) % len(d.addrs)
	return j, err
}

// sentMessage is a propose or proceed this device sent.
type sentMessage struct {
	id   string // the call's session id
	kind jmi.Kind
}

// maxSentRemembered bounds the memory of sent message ids: a bounce comes
// back within a round trip, long before hundreds more calls are placed.
const maxSentRemembered = 256

// NewDevice returns a Device for cfg.Account.
func NewDevice(cfg DeviceConfig) *Device {
	cfg.Engine.Account = cfg.Account
	if cfg.NewMessageID == nil {
		cfg.NewMessageID = func() string { return "jmi-" + jmi.NewID() }
	}
	return &Device{cfg: cfg, bare: cfg.Account.Bare(), m: call.New(cfg.Engine), sent: map[string]sentMessage{}}
}

// Account returns the device's full JID.
func (d *Device) Account() jid.JID { return d.cfg.Account }

// Do runs a user action or a Tick.
func (d *Device) Do(now time.Time, in call.Input) ([]call.Effect, error) {
	return d.m.Handle(now, in)
}

// StartCatchUp begins an archive catch-up whose results carry queryID;
// results for any other query are refused until EndCatchUp.
func (d *Device) StartCatchUp(now time.Time, queryID string) []call.Effect {
	d.queryID = queryID
	effs, _ := d.m.Handle(now, call.CatchUpStarted{})
	return effs
}

// EndCatchUp ends the catch-up: fresh calls found in it may ring now.
func (d *Device) EndCatchUp(now time.Time) []call.Effect {
	d.queryID = ""
	effs, _ := d.m.Handle(now, call.CatchUpEnded{})
	return effs
}

// NextDeadline is when the engine next needs a Tick (zero: never).
func (d *Device) NextDeadline() time.Time { return d.m.NextDeadline() }

// LastArchiveID is the id of the newest archive result accepted: the next
// catch-up reads on from there.
func (d *Device) LastArchiveID() string { return d.lastArchiveID }

// SetLastArchiveID restores the position of the last catch-up, from the
// client's state store.
func (d *Device) SetLastArchiveID(id string) { d.lastArchiveID = id }

// Call returns a snapshot of one call.
func (d *Device) Call(id string) (call.Info, bool) { return d.m.Call(id) }

// Calls returns snapshots of every call the device remembers.
func (d *Device) Calls() []call.Info { return d.m.Calls() }

// Stanza renders a Send effect as the <message/> to put on the wire: from
// this device, type chat, with a <store/> hint and a new message id.
func (d *Device) Stanza(s call.Send) ([]byte, error) {
	id := d.cfg.NewMessageID()
	if k := s.Element.Kind(); k == jmi.KindPropose || k == jmi.KindProceed {
		d.rememberSent(id, sentMessage{id: s.Element.SessionID(), kind: k})
	}
	return jmi.MarshalMessage(s.Element, d.cfg.Account, s.To, id)
}

func (d *Device) rememberSent(msgID string, m sentMessage) {
	if _, ok := d.sent[msgID]; ok {
		return
	}
	if len(d.sentOrder) == maxSentRemembered {
		delete(d.sent, d.sentOrder[0])
		d.sentOrder = d.sentOrder[1:]
	}
	d.sent[msgID] = m
	d.sentOrder = append(d.sentOrder, msgID)
}

// Presence renders a SendPresence effect as directed presence.
func (d *Device) Presence(p call.SendPresence) ([]byte, error) {
	var b bytes.Buffer
	e := xml.NewEncoder(&b)
	start := xml.StartElement{Name: xml.Name{Local: "presence"}, Attr: []xml.Attr{
		{Name: xml.Name{Local: "from"}, Value: d.cfg.Account.String()},
		{Name: xml.Name{Local: "to"}, Value: p.To.String()},
	}}
	if err := e.EncodeToken(start); err != nil {
		return nil, err
	}
	if err := e.EncodeToken(start.End()); err != nil {
		return nil, err
	}
	err := e.Flush()
	return b.Bytes(), err
}

// refusal is an error of the receive path with its class; it reads as the
// error it wraps.
type refusal struct {
	reason call.IgnoreReason
	err    error
}

func refuse(reason call.IgnoreReason, err error) error { return refusal{reason, err} }

func (r refusal) Error() string { return r.err.Error() }
func (r refusal) Unwrap() error { return r.err }

// ignoreReason classifies a refusal of the receive path: what is not
// marked otherwise did not decode.
func ignoreReason(err error) call.IgnoreReason {
	var r refusal
	switch {
	case errors.As(err, &r):
		return r.reason
	case errors.Is(err, jmi.ErrBadAddress):
		return call.IgnoreBadAddress
	}
	return call.IgnoreMalformed
}

// errNotOurs marks a message that carries no JMI element: not refused, just
// not this package's business.
var errNotOurs = errors.New("no JMI element")

// Receive takes one <message/> exactly as it arrived on the stream and
// returns what to do. Input that is refused (malformed, forged, from an
// archive that is not ours, for another query, from an address that does
// not parse, a message of type error that is no bounce of ours) comes back
// as one EventIgnored with the reason, and changes nothing. A message
// without a JMI element gives no effect. The bounce of a propose or proceed
// this device sent ends that call as failed (call.Bounced). A <delay/>
// counts only when our own server put it there, and no stamp is later than
// now.
func (d *Device) Receive(now time.Time, stanza []byte) []call.Effect {
	return d.receive(now, len(stanza), xml.NewDecoder(bytes.NewReader(stanza)))
}

// receiveTokens is Receive for a stanza as the tokens the stream's decoder
// gave (copied by collectStanza), of about size bytes: the client's path,
// which parses each stanza once.
func (d *Device) receiveTokens(now time.Time, st collected) []call.Effect {
	// The tokens are read as they are: the stream's decoder has checked
	// them and resolved their namespaces, so a second xml.Decoder over
	// them would only redo that work.
	return d.receive(now, st.size, &tokenSlice{toks: st.toks})
}

func (d *Device) receive(now time.Time, size int, dec xml.TokenReader) []call.Effect {
	in, err := d.unwrap(size, dec)
	if errors.Is(err, errNotOurs) {
		return nil
	}
	sig := in.sig
	if err != nil {
		ev := call.Event{Type: call.EventIgnored, Reason: err.Error(), Ignored: ignoreReason(err), At: now}
		if sig.Element != nil {
			ev.ID = sig.Element.SessionID()
		}
		if !sig.From.Equal(jid.JID{}) {
			ev.Peer, ev.Device = sig.From.Bare(), sig.From
		}
		return []call.Effect{call.Notify{Event: ev}}
	}
	if in.bounce != nil {
		effs, _ := d.m.Handle(now, *in.bounce)
		return effs
	}
	if sig.Stamp.After(now) {
		// Never later than now, whoever stamped it: a call from the
		// future would ring past its window and sort wrong in the history.
		sig.Stamp = time.Time{}
	}
	if d.cfg.Trust != nil {
		// Every signal, not only a propose: a trusted callee's answer that
		// comes before the propose it answers must not count against the
		// limits on untrusted calls (call.Config.MaxUntrusted).
		sig.Trusted = d.cfg.Trust(sig.From.Bare())
	}
	if d.cfg.SharesPresence != nil {
		sig.PresenceShared = d.cfg.SharesPresence(sig.From.Bare())
	}
	effs, _ := d.m.Handle(now, sig)
	return effs
}

// received is what unwrap found: a signal, or the bounce of a message this
// device sent.
type received struct {
	sig    call.Signal
	bounce *call.Bounced
}

// unwrap finds the JMI element in a message, a carbon (XEP-0280) or an
// archive result (XEP-0313), and checks who may have sent the wrapper; or,
// for a message of type error, the call of ours that bounced.
func (d *Device) unwrap(size int, dec xml.TokenReader) (received, error) {
	var sig call.Signal
	if size > jmi.MaxStanzaSize {
		return received{}, fmt.Errorf("stanza of %d bytes is over the limit of %d", size, jmi.MaxStanzaSize)
	}
	start, err := firstStart(dec)
	if err != nil {
		return received{}, err
	}
	if start.Name.Local != "message" {
		return received{}, fmt.Errorf("<%s> is not a message", start.Name.Local)
	}
	outer := d.envelope(start)
	isError := attr(start, "type") == "error"
	var bounceErr stanzaError
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return received{sig: sig}, fmt.Errorf("%w: unexpected end of the stanza", jmi.ErrMalformed)
		}
		if err != nil {
			return received{sig: sig}, fmt.Errorf("%w: %v", jmi.ErrMalformed, err)
		}
		child, ok := tok.(xml.StartElement)
		if !ok {
			if _, end := tok.(xml.EndElement); end {
				if isError {
					return d.bounce(start, outer, sig, bounceErr)
				}
				if sig.Element == nil {
					return received{}, errNotOurs
				}
				return received{sig: sig}, nil
			}
			continue
		}
		switch {
		case jmi.IsNamespace(child.Name.Space):
			if sig.Element != nil {
				return received{sig: sig}, jmi.ErrMultipleElements
			}
			el, err := jmi.Decode(dec, child)
			if err != nil {
				return received{sig: sig}, err
			}
			if err := outer.badAddress(); err != nil {
				sig.Element = el
				return received{sig: sig}, err
			}
			sig.Element, sig.From, sig.To = el, outer.from, outer.to
			if sig.Via != call.ViaOffline {
				sig.Via = call.ViaLive
			}
		case child.Name.Space == NSDelay && child.Name.Local == "delay":
			// Offline storage stamps what it held (XEP-0160, XEP-0203),
			// naming itself in from, and hands it over at login, when the
			// initial presence goes out: during the catch-up, which the
			// client begins before that presence. Prosody passes a sender's
			// own <delay/> through, from and all: only our server's word
			// counts, and only when offline storage can speak, or any
			// contact could make a call ring an hour late or be logged in
			// the future or the past. (The last delay wins: Prosody appends
			// its own after any the sender put.)
			if t, ok := stamp(child); ok && d.queryID != "" && d.delayedByUs(attr(child, "from")) {
				sig.Stamp, sig.Via = t, call.ViaOffline
			}
			if err := xmlstream.Skip(dec); err != nil {
				return received{sig: sig}, fmt.Errorf("%w: %v", jmi.ErrMalformed, err)
			}
		case isError && child.Name.Local == "error":
			if bounceErr, err = readStanzaError(dec); err != nil {
				return received{sig: sig}, err
			}
		case isError:
			// An error carries nothing else we read: no carbon or archive
			// result inside it is a signal either.
			if err := xmlstream.Skip(dec); err != nil {
				return received{sig: sig}, fmt.Errorf("%w: %v", jmi.ErrMalformed, err)
			}
		case child.Name.Space == NSCarbons && (child.Name.Local == "received" || child.Name.Local == "sent"):
			// XEP-0280 §11: a carbon comes from our own bare JID, or it is
			// forged ("Juliet answered on her other phone").
			if !d.fromOurServer(outer) {
				sig.From = outer.from
				return received{sig: sig}, refuse(call.IgnoreForged, fmt.Errorf("carbon from %s, not from our own account", outer.rawFrom))
			}
			via := call.ViaReceivedCarbon
			if child.Name.Local == "sent" {
				via = call.ViaSentCarbon
			}
			inner, err := d.forwarded(dec)
			inner.Via = via
			return received{sig: inner}, err
		case child.Name.Space == NSMAM && child.Name.Local == "result":
			// XEP-0313: results come from our own archive (no from, or our
			// bare JID), for the query under way.
			if !d.fromOurServer(outer) {
				sig.From = outer.from
				return received{sig: sig}, refuse(call.IgnoreForged, fmt.Errorf("archive result from %s, not from our own archive", outer.rawFrom))
			}
			qid, id := attr(child, "queryid"), attr(child, "id")
			if d.queryID == "" || qid != d.queryID {
				return received{sig: sig}, refuse(call.IgnoreOtherQuery, fmt.Errorf("archive result for query %q, not for ours", qid))
			}
			inner, err := d.forwarded(dec)
			if err != nil {
				return received{sig: inner}, err
			}
			inner.Via = call.ViaArchive
			if id != "" {
				d.lastArchiveID = id
			}
			return received{sig: inner}, nil
		default:
			if err := xmlstream.Skip(dec); err != nil {
				return received{sig: sig}, fmt.Errorf("%w: %v", jmi.ErrMalformed, err)
			}
		}
	}
}

// delayedByUs reports whether a <delay/> whose from is from was put there
// by our own server (its domain, as Prosody's and ejabberd's offline storage
// write it) or our own account.
func (d *Device) delayedByUs(from string) bool {
	if from == "" {
		return false
	}
	j, err := d.parseJID(from)
	if err != nil {
		return false
	}
	return j.Equal(d.bare) || j.Equal(d.bare.Domain())
}

// stanzaError is the <error/> of a message of type error (RFC 6120 §8.3).
type stanzaError struct{ condition, text string }

const nsStanzas = `urn:ietf:params:xml:ns:xmpp-stanzas`

// readStanzaError reads the children of an <error/>: the defined condition
// and its text.
func readStanzaError(dec xml.TokenReader) (stanzaError, error) {
	var e stanzaError
	for {
		tok, err := dec.Token()
		if err != nil {
			return e, fmt.Errorf("%w: %v", jmi.ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return e, nil
		case xml.StartElement:
			switch {
			case t.Name.Space == nsStanzas && t.Name.Local == "text":
				text, err := readText(dec)
				if err != nil {
					return e, fmt.Errorf("%w: %v", jmi.ErrMalformed, err)
				}
				e.text = text
				continue
			case t.Name.Space == nsStanzas && e.condition == "":
				e.condition = t.Name.Local
			}
			if err := xmlstream.Skip(dec); err != nil {
				return e, fmt.Errorf("%w: %v", jmi.ErrMalformed, err)
			}
		}
	}
}

// readText reads the character data of an element whose start was read,
// through its end, as DecodeElement into a string does.
func readText(r xml.TokenReader) (string, error) {
	var b []byte
	for depth := 0; ; {
		tok, err := r.Token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if depth == 0 { // not a child's, which DecodeElement skips
				b = append(b, t...)
			}
		case xml.StartElement:
			depth++
		case xml.EndElement:
			if depth == 0 {
				return string(b), nil
			}
			depth--
		}
	}
}

// bounce makes the engine's input of a message of type error: an error is
// never a signal. The bounce names its call by the message's id, which
// this device gave its propose or proceed (Prosody bounces with the id
// alone), or by the JMI element it gives back (as other servers do).
func (d *Device) bounce(start xml.StartElement, outer addrs, sig call.Signal, e stanzaError) (received, error) {
	if err := outer.badAddress(); err != nil {
		return received{sig: sig}, err
	}
	ref, ok := d.sent[attr(start, "id")]
	if !ok && sig.Element != nil {
		if k := sig.Element.Kind(); k == jmi.KindPropose || k == jmi.KindProceed {
			ref, ok = sentMessage{id: sig.Element.SessionID(), kind: k}, true
		}
	}
	if !ok {
		if sig.Element == nil {
			return received{}, errNotOurs
		}
		return received{sig: sig}, refuse(call.IgnoreNotSignal, fmt.Errorf("error bounce of a %s: not a signal", sig.Element.Kind()))
	}
	if e.condition == "" {
		e.condition = "undefined-condition"
	}
	return received{bounce: &call.Bounced{ID: ref.id, Kind: ref.kind, From: outer.from, Condition: e.condition, Text: e.text}}, nil
}

// forwarded reads the whole <forwarded/> inside a carbon or an archive
// result: the message it carries and its <delay/>, which ejabberd puts
// after the message and Prosody before it. Its delay is the word of our own
// server, which forwarded it (the wrapper's sender is checked first).
func (d *Device) forwarded(dec xml.TokenReader) (call.Signal, error) {
	var sig call.Signal
	found := false
	for depth := 0; ; {
		tok, err := dec.Token()
		if err != nil {
			return sig, fmt.Errorf("%w: %v", jmi.ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if depth == 0 {
				// The wrapper ended.
				if !found {
					return sig, errNotOurs
				}
				return sig, nil
			}
			depth--
		case xml.StartElement:
			switch {
			case depth == 0 && t.Name.Space == NSForward && t.Name.Local == "forwarded":
				depth++
				continue
			case depth == 1 && t.Name.Space == NSDelay && t.Name.Local == "delay":
				if ts, ok := stamp(t); ok {
					sig.Stamp = ts
				}
			case depth == 1 && t.Name.Local == "message" && !found:
				m, err := jmi.DecodeMessage(dec, t)
				if errors.Is(err, jmi.ErrNoElement) {
					return sig, errNotOurs
				}
				if err != nil {
					return sig, err
				}
				sig.Element, sig.From, sig.To = m.Element, m.From, m.To
				if m.Type == "error" {
					return sig, refuse(call.IgnoreNotSignal, fmt.Errorf("forwarded error message with a %s: not a signal", m.Element.Kind()))
				}
				found = true
				continue
			}
			if err := xmlstream.Skip(dec); err != nil {
				return sig, fmt.Errorf("%w: %v", jmi.ErrMalformed, err)
			}
		}
	}
}

// addrs is a message's envelope: the raw from and to attributes as they
// arrived, and what they parse to. An address mellium cannot parse (Prosody
// binds resources that PRECIS refuses, such as one with U+1100) is kept raw
// and never taken for the zero JID, which would read as "our own server".
type addrs struct {
	rawFrom, rawTo string
	from, to       jid.JID
	fromErr, toErr error
}

func (d *Device) envelope(start xml.StartElement) addrs {
	a := addrs{rawFrom: attr(start, "from"), rawTo: attr(start, "to")}
	if a.rawFrom != "" {
		a.from, a.fromErr = d.parseJID(a.rawFrom)
	}
	if a.rawTo != "" {
		a.to, a.toErr = d.parseJID(a.rawTo)
	}
	return a
}

// fromOurServer reports whether the message comes from our own account's
// server: no from at all (RFC 6120 §8.1.2.1; mellium also blanks a from
// equal to our bare JID), or one that parses to our bare JID. An
// unparsable from is someone else's.
func (d *Device) fromOurServer(a addrs) bool {
	if a.rawFrom == "" {
		return true
	}
	return a.fromErr == nil && a.from.Equal(d.bare)
}

// badAddress is the refusal of an envelope with an address that does not
// parse, or nil.
func (a addrs) badAddress() error {
	switch {
	case a.fromErr != nil:
		return fmt.Errorf("%w: from=%q", jmi.ErrBadAddress, a.rawFrom)
	case a.toErr != nil:
		return fmt.Errorf("%w: to=%q", jmi.ErrBadAddress, a.rawTo)
	}
	return nil
}

func attr(start xml.StartElement, local string) string {
	for _, a := range start.Attr {
		if a.Name.Space == "" && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

func stamp(start xml.StartElement) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, attr(start, "stamp"))
	return t, err == nil
}

func firstStart(dec xml.TokenReader) (xml.StartElement, error) {
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return xml.StartElement{}, fmt.Errorf("%w: no element", jmi.ErrMalformed)
		}
		if err != nil {
			return xml.StartElement{}, fmt.Errorf("%w: %v", jmi.ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return t, nil
		case xml.Directive:
			return xml.StartElement{}, jmi.ErrDTD
		}
	}
}
