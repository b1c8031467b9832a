package client

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"time"

	"github.com/jmi-xmpp/jmi"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/roster"
	"mellium.im/xmpp/stanza"
)

// nsLegacy is the namespace of XEP-0353 versions 0.4 and 0.5, which
// Conversations and Dino still send.
const nsLegacy = `urn:xmpp:jingle-message:1`

// New returns a Client for an application that runs its own session on
// mellium.im/xmpp, with its own mux, roster, carbons and history handlers:
// register Handle(c) on the application's mux, give it c.HandleCarbon from
// the application's carbons.Handler and c (a mux.MessageHandler) as the
// inner handler of its history.NewHandler, then call Run with the session.
// cfg.JID is the session's full JID; Password, Server, TLS and CAFile are
// not used (the application logs in). Actions called before Run are queued
// and sent once it runs.
func New(cfg Config) (*Client, error) {
	if cfg.JID.Resourcepart() == "" {
		return nil, errors.New("client: New needs the session's full JID, with its resource")
	}
	if cfg.CatchUpWindow <= 0 {
		cfg.CatchUpWindow = 24 * time.Hour
	}
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	c.embedded = true
	c.startLoop()
	return c, nil
}

// Handle returns a mux option that registers c for the messages of both
// JMI namespaces, of type chat and normal (slixmpp and Dino send JMI
// without a type), and for the messages of type error with an <error/>
// child: the bounce of a propose or proceed this device sent ends its call
// as failed (call.Bounced), as on Dial's own stream; any other error
// message is left alone. An application that handles error messages itself
// registers its own handler instead and passes them on to c.HandleMessage.
// Handle registers nothing for carbons, archive results or roster pushes,
// which the application's own handlers pass on (HandleCarbon,
// history.NewHandler(c), HandleRoster), so that it composes with them in
// one mux.
func Handle(c *Client) mux.Option {
	return func(m *mux.ServeMux) {
		for _, ns := range []string{jmi.NS, nsLegacy} {
			mux.Message(stanza.ChatMessage, xml.Name{Space: ns}, c)(m)
			mux.Message(stanza.NormalMessage, xml.Name{Space: ns}, c)(m)
		}
		if c.flow != nil {
			// With media the client runs the Jingle sessions of its calls.
			mux.IQ(stanza.SetIQ, xml.Name{Space: jmi.NSJingle, Local: "jingle"}, mux.IQHandlerFunc(c.handleJingleIQ))(m)
		}
		// Prosody bounces with the message's id and the error alone, so
		// the bounce is matched by its <error/>, in whatever namespace.
		mux.Message(stanza.ErrorMessage, xml.Name{Local: "error"}, c)(m)
	}
}

// HandleRoster returns a mux option that registers the roster push handler
// (RFC 6121 §2.1.6) of an application that keeps its own roster, in place
// of roster.Handle(roster.Handler{Push: push}): with Config.Trust nil, the
// trust of c follows each push (a contact removed no longer rings, one
// approved rings), then push (nil: none) gets the item and its answer is
// the IQ's, as with roster.Handler. A push that does not come from the
// account itself is refused with <service-unavailable/> and push never sees
// it: mellium's roster.Handler does not check the sender, and a stranger's
// push would make him a trusted contact.
func HandleRoster(c *Client, push func(ver string, item roster.Item) error) mux.Option {
	inner := roster.Handler{Push: func(ver string, item roster.Item) error {
		c.rosterItem(item.JID, item.Subscription)
		if push == nil {
			return nil
		}
		return push(ver, item)
	}}
	return mux.IQFunc(stanza.SetIQ, xml.Name{Space: roster.NS, Local: "query"}, func(iq stanza.IQ, t xmlstream.TokenReadEncoder, start *xml.StartElement) error {
		if !iq.From.Equal(jid.JID{}) && !iq.From.Equal(c.cfg.JID.Bare()) {
			c.log.Warn("refused a roster push not from our own account", "from", iq.From.String(), "id", iq.ID)
			_, err := xmlstream.Copy(t, iq.Error(stanza.Error{Type: stanza.Cancel, Condition: stanza.ServiceUnavailable}))
			return err
		}
		return inner.HandleIQ(iq, t, start)
	})
}

// rosterItem applies one roster item of a push to the trust the roster
// gives.
func (c *Client) rosterItem(j jid.JID, subscription string) {
	key := j.Bare().String()
	c.mu.Lock()
	defer c.mu.Unlock()
	if subscription == "remove" {
		delete(c.roster, key)
	} else {
		c.roster[key] = subscription
	}
	c.log.Debug("roster push", "jid", key, "subscription", subscription)
}

// ErrSessionEnded is why an embedded Client (New) stops when the
// application's session ends under it (Serve returned): Run returns an
// error wrapping it, with the reason, and so does Err; Status is
// ConnFailed.
var ErrSessionEnded = errors.New("client: the application's session ended")

// Serve runs s.Serve(h), the application's session with its mux, and when
// it returns tells c, which stops: Run returns an error wrapping
// ErrSessionEnded and the reason, and Events closes after the events
// queued before. It returns what s.Serve returned. An application that
// calls s.Serve itself must cancel Run's context when it returns: a
// session gives no other sign that it ended.
func (c *Client) Serve(s *xmpp.Session, h xmpp.Handler) error {
	err := s.Serve(h)
	select {
	case <-c.done:
		return err // closed already: nothing to tell
	default:
	}
	why := "the stream was closed"
	if err != nil {
		why = streamErrorText(err)
	}
	c.stopWith(fmt.Errorf("%w: %s", ErrSessionEnded, why))
	return err
}

// Run sets the device up on the application's session s (roster for trust
// when Config.Trust is nil, carbons, the archive catch-up, the initial
// presence) and sends what the device says on s until ctx ends, the
// client is closed or the session ends (c.Serve returned: the error then
// wraps ErrSessionEnded and says why); then it closes the client (not the
// session) and returns, its goroutines ended. s must be served, with a mux
// that includes Handle(c), by c.Serve (or s.Serve, see Serve): the set-up
// makes IQ round trips. Send your own initial presence only after Run has
// sent its own: the catch-up must begin before the server hands over what
// it stored offline. The roster is read once at the set-up; with
// Config.Trust nil, trust follows the roster pushes that HandleRoster's
// handler passes on.
func (c *Client) Run(ctx context.Context, s *xmpp.Session) error {
	if !c.embedded {
		return errors.New("client: Run is for a Client made by New; Dial runs its own")
	}
	c.mu.Lock()
	if c.session != nil {
		c.mu.Unlock()
		return errors.New("client: Run called twice")
	}
	c.session = s
	c.mu.Unlock()
	c.logins.Add(1)
	defer c.Close()
	// The set-up waits for IQ answers, which a session that ended never
	// gives: it runs beside the wait for the end, and Close (c.life)
	// ends it.
	setUp := make(chan error, 1)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		setUp <- c.setUp(c.life, s)
	}()
	for {
		select {
		case err := <-setUp:
			if err != nil {
				if e := c.Err(); e != nil {
					return e // the session ended during the set-up: say so
				}
				return err
			}
			c.setStatus(ConnOnline, nil)
			setUp = nil
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return c.Err() // nil after Close
		}
	}
}

// HandleMessage implements mux.MessageHandler: a message with a JMI
// element, as the mux hands it over, or an archive result (XEP-0313), as
// mellium's history.Handler passes on a result of a query it does not track
// (the client's catch-up is one). Everything is checked as on Dial's own
// stream: an archive result counts only from our own archive, for our
// catch-up under way. It only hands the stanza to the client's loop.
func (c *Client) HandleMessage(msg stanza.Message, r xmlstream.TokenReadEncoder) error {
	tok, err := r.Token()
	if err != nil {
		return nil
	}
	start, ok := tok.(xml.StartElement)
	if !ok {
		return nil
	}
	switch {
	case start.Name.Local == "message":
		c.receive(xmlstream.MultiReader(xmlstream.Token(start), r))
	case start.Name.Space == NSMAM && start.Name.Local == "result":
		c.receive(xmlstream.Wrap(xmlstream.MultiReader(xmlstream.Token(start), r), messageStart(msg)))
	}
	return nil
}

// HandleCarbon takes a carbon (XEP-0280) as mellium's carbons.Handler
// passes it on, so that carbons.Handle(carbons.Handler{F: c.HandleCarbon})
// (or the application's own F calling it) brings the calls answered or
// declined on our other devices. msg is the carbon's envelope, inner the
// content of its <forwarded/>. mellium does not check who sent a carbon:
// this does, refusing any that is not from our own account, as on Dial's
// own stream.
func (c *Client) HandleCarbon(msg stanza.Message, sent bool, inner xml.TokenReader) error {
	local := "received"
	if sent {
		local = "sent"
	}
	c.receive(xmlstream.Wrap(xmlstream.Wrap(
		xmlstream.Wrap(inner, xml.StartElement{Name: xml.Name{Space: NSForward, Local: "forwarded"}}),
		xml.StartElement{Name: xml.Name{Space: NSCarbons, Local: local}},
	), messageStart(msg)))
	return nil
}

// messageStart is the start element of msg's envelope: the addresses as
// mellium parsed them (a from equal to our bare JID blanked), type and id.
func messageStart(msg stanza.Message) xml.StartElement {
	var attrs []xml.Attr
	if !msg.From.Equal(jid.JID{}) {
		attrs = append(attrs, xml.Attr{Name: xml.Name{Local: "from"}, Value: msg.From.String()})
	}
	if !msg.To.Equal(jid.JID{}) {
		attrs = append(attrs, xml.Attr{Name: xml.Name{Local: "to"}, Value: msg.To.String()})
	}
	if msg.ID != "" {
		attrs = append(attrs, xml.Attr{Name: xml.Name{Local: "id"}, Value: msg.ID})
	}
	if msg.Type != "" {
		attrs = append(attrs, xml.Attr{Name: xml.Name{Local: "type"}, Value: string(msg.Type)})
	}
	return xml.StartElement{Name: xml.Name{Local: "message"}, Attr: attrs}
}

// receive copies the tokens of one <message/>, hands them to the loop,
// and returns a copy of them for Config.MuxOptions' handlers (nil without
// any, or when the stanza could not be read). The stream's
// decoder parsed them: nothing parses the stanza again.
func (c *Client) receive(r xml.TokenReader) []xml.Token {
	st, err := collectStanza(r)
	if err != nil {
		c.log.Warn("reading a message", "err", err)
		return nil
	}
	var forExtra []xml.Token
	if c.extra != nil {
		// A decoder writes to the attributes of the tokens it reads (its
		// namespace translation), so the loop and Config.MuxOptions'
		// handlers each read their own copy.
		forExtra = make([]xml.Token, len(st.toks))
		for i, tok := range st.toks {
			forExtra[i] = xml.CopyToken(tok)
		}
	}
	c.post(func() { c.apply(c.dev.receiveTokens(time.Now(), st)) })
	return forExtra
}

// ForFeatures implements info.FeatureIter: a mux that includes Handle(c)
// lists JMI in the application's disco#info answers (XEP-0353 §7).
func (c *Client) ForFeatures(node string, f func(info.Feature) error) error {
	if err := f(info.Feature{Var: jmi.NS}); err != nil {
		return err
	}
	for _, feat := range c.mediaFeatures() {
		if err := f(feat); err != nil {
			return err
		}
	}
	for _, feat := range c.cfg.Features {
		if err := f(feat); err != nil {
			return err
		}
	}
	return nil
}
