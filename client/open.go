package client

import (
	"bytes"
	"context"
	"encoding/xml"

	"github.com/jmi-xmpp/jmi"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/carbons"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"
)

// What Dial opens to the rest of an application (a media stack handling
// Jingle on the same resource): its handlers in Config.MuxOptions, its
// features in Config.Features, and the session.

// newExtraMux builds the mux of Config.MuxOptions, or nil without any.
func newExtraMux(opts []mux.Option) *mux.ServeMux {
	if len(opts) == 0 {
		return nil
	}
	return mux.New(stanza.NSClient, opts...)
}

// extraMessage hands a message, as the tokens read, to the handlers of
// Config.MuxOptions. Their mux parses the addresses, which the client
// itself reads leniently: a message it cannot parse is not theirs, and
// never ends the stream.
func (c *Client) extraMessage(toks []xml.Token, t xmlstream.Encoder) {
	if c.extra == nil {
		return
	}
	dec := xml.NewTokenDecoder(&tokenSlice{toks: toks})
	tok, err := dec.Token()
	start, ok := tok.(xml.StartElement)
	if err != nil || !ok {
		return
	}
	if err := c.extra.HandleXMPP(struct {
		xml.TokenReader
		xmlstream.Encoder
	}{dec, t}, &start); err != nil {
		c.log.Warn("a handler of Config.MuxOptions refused a message", "err", err)
	}
}

// extraIQ hands an IQ get or set to the handler of Config.MuxOptions
// registered for its type and payload, if any: handled is false when there
// is none, or when the IQ's addresses do not parse (then it is the client's
// to answer, from the raw attributes).
func (c *Client) extraIQ(t xmlstream.TokenReadEncoder, iq inIQ) (handled bool, err error) {
	if c.extra == nil {
		return false, nil
	}
	h, ok := c.extra.IQHandler(stanza.IQType(iq.typ), iq.payload.Name)
	if !ok {
		return false, nil
	}
	dec := xml.NewDecoder(bytes.NewReader(iq.raw))
	tok, err := dec.Token()
	start, isStart := tok.(xml.StartElement)
	if err != nil || !isStart {
		return false, nil
	}
	parsed, err := stanza.NewIQ(start)
	if err != nil {
		return false, nil
	}
	// Position the reader inside the payload, as mellium's mux does.
	for {
		tok, err := dec.Token()
		if err != nil {
			return false, nil
		}
		if _, ok := tok.(xml.StartElement); ok {
			break
		}
	}
	payload := iq.payload
	return true, h.HandleIQ(parsed, struct {
		xml.TokenReader
		xmlstream.Encoder
	}{xmlstream.Inner(dec), t}, &payload)
}

// features lists what disco#info answers: jmi's own, Config.Features, and
// those of the handlers of Config.MuxOptions.
func (c *Client) features() []string {
	vars := []string{nsDiscoInfo, NSCaps, jmi.NS, carbons.NS, nsPing}
	seen := map[string]bool{}
	for _, v := range vars {
		seen[v] = true
	}
	add := func(f info.Feature) error {
		if !seen[f.Var] {
			seen[f.Var] = true
			vars = append(vars, f.Var)
		}
		return nil
	}
	for _, f := range c.mediaFeatures() {
		add(f)
	}
	for _, f := range c.cfg.Features {
		add(f)
	}
	if c.extra != nil {
		c.extra.ForFeatures("", add)
	}
	return vars
}

// Session returns the session the client runs on now, for what an
// application sends beside jmi (a media stack's Jingle IQs). Dial's client
// replaces it when it reconnects: read it again after a change of Status,
// and never Close it (Close the client). Nil before the first login.
func (c *Client) Session() *xmpp.Session { return c.sess() }

// SendIQ sends iq with payload on the current session and returns the
// answer (which the caller closes), as xmpp.Session.SendIQ does. When ctx
// ends first, SendIQ returns ctx.Err() at once, and stops waiting for the
// answer as soon as the IQ is written (an answer that comes later is
// dropped); the wait also ends with Close and when the session ends.
func (c *Client) SendIQ(ctx context.Context, iq stanza.IQ, payload xml.TokenReader) (xmlstream.TokenReadCloser, error) {
	c.mu.Lock()
	s, served := c.session, c.served
	c.mu.Unlock()
	if s == nil {
		return nil, errOffline
	}
	// mellium v0.22.0 writes with the context it waits with, and breaks
	// the connection when that context ends just as a write finishes. So
	// the wait gets a context of its own, ended by ctx only once the IQ
	// is written.
	wait, stopWaiting := context.WithCancel(c.life)
	written := make(chan struct{})
	out := &endSignal{r: iq.Wrap(payload), end: written}
	type answer struct {
		r   xmlstream.TokenReadCloser
		err error
	}
	got := make(chan answer, 1)
	if served != nil {
		// Dial's session ended (it reconnects with another): no answer
		// comes on this one. (New's ends with c.life.)
		go func() {
			select {
			case <-served:
				stopWaiting()
			case <-wait.Done():
			}
		}()
	}
	go func() {
		defer stopWaiting()
		if c.sendIQEnded != nil {
			defer c.sendIQEnded()
		}
		r, err := s.SendIQ(wait, out)
		got <- answer{r, err}
	}()
	select {
	case a := <-got:
		return a.r, a.err
	case <-ctx.Done():
	}
	go func() {
		select {
		case <-written:
			// The IQ's end is handed to mellium while it holds the output
			// stream, which it keeps until the IQ is flushed: once we hold
			// it in turn, the write is over and ending the wait cannot
			// break it.
			_ = s.TokenWriter().Close()
			stopWaiting()
		case <-wait.Done():
		case a := <-got:
			if a.r != nil {
				a.r.Close()
			}
			return
		}
		if a := <-got; a.r != nil {
			a.r.Close()
		}
	}()
	return nil, ctx.Err()
}

// endSignal passes r's tokens on and closes end when it has given the end
// of r's outermost element.
type endSignal struct {
	r     xml.TokenReader
	end   chan struct{}
	depth int
	done  bool
}

func (e *endSignal) Token() (xml.Token, error) {
	tok, err := e.r.Token()
	switch tok.(type) {
	case xml.StartElement:
		e.depth++
	case xml.EndElement:
		e.depth--
		if e.depth == 0 && !e.done {
			e.done = true
			close(e.end)
		}
	}
	return tok, err
}
