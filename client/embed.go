package client

import (
	"context"
	"encoding/xml"
	"errors"
	"time"

	"github.com/jmi-xmpp/jmi"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
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
// without a type). It registers nothing for carbons or archive results,
// which the application's own handlers pass on (HandleCarbon,
// history.NewHandler(c)), so that it composes with them in one mux.
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
	}
}

// Run sets the device up on the application's session s (roster for trust
// when Config.Trust is nil, carbons, the archive catch-up, the initial
// presence) and sends what the device says on s until ctx ends or the
// client is closed; then it closes the client (not the session) and
// returns. s.Serve must already be running with a mux that includes
// Handle(c): the set-up makes IQ round trips. Send your own initial
// presence only after Run has sent its own: the catch-up must begin before
// the server hands over what it stored offline. The roster is read once:
// with Config.Trust nil, trust does not follow roster pushes (which reach
// the application's handlers); an application with its own roster sets
// Config.Trust from it.
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
	if err := c.setUp(c.life, s); err != nil {
		return err
	}
	c.setStatus(ConnOnline, nil)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.done:
		return c.Err()
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
