package extdisco

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pion/webrtc/v4"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"github.com/jmi-xmpp/jmi/internal/xmlread"
)

// ErrNotSupported is returned by Fetch when the server answers with an
// error: it offers no external services (Prosody without
// mod_external_services answers service-unavailable). The stanza.Error is
// wrapped too, for errors.As.
var ErrNotSupported = errors.New("extdisco: the server offers no external services")

// SendIQFunc sends iq with payload and returns the answer, which the
// caller closes: xmpp.Session.SendIQElement with its arguments in this
// order, or jmi's client.Client.SendIQ.
type SendIQFunc func(ctx context.Context, iq stanza.IQ, payload xml.TokenReader) (xmlstream.TokenReadCloser, error)

// Session returns the SendIQFunc of a mellium session, whose Serve must be
// running for the answer to arrive.
func Session(s *xmpp.Session) SendIQFunc {
	return func(ctx context.Context, iq stanza.IQ, payload xml.TokenReader) (xmlstream.TokenReadCloser, error) {
		return s.SendIQElement(ctx, payload, iq)
	}
}

// Fetch asks server (the account's domain) for its external services, on
// session s whose Serve is running, and then for the credentials of the
// restricted services that came without them (Credentials). Services whose
// credentials could not be had are in Skipped with the reason, with those
// the decoder skipped. ctx bounds the whole.
func Fetch(ctx context.Context, s *xmpp.Session, server jid.JID) (*Element, error) {
	return FetchWith(ctx, Session(s), server)
}

// FetchWith is Fetch through send: a client that owns the session (jmi's
// client.Client.SendIQ) sends the IQs its own way.
func FetchWith(ctx context.Context, send SendIQFunc, server jid.JID) (*Element, error) {
	el, err := query(ctx, send, server, &Element{})
	if err != nil {
		return nil, err
	}
	var need []Service
	for _, s := range el.Services {
		if needsCredentials(s) {
			need = append(need, s)
		}
	}
	if len(need) == 0 {
		return el, nil
	}
	creds, credErr := Credentials(ctx, send, server, need)
	kept := el.Services[:0:0]
	for i, s := range el.Services {
		if !needsCredentials(s) {
			kept = append(kept, s)
			continue
		}
		got, ok := Service{}, false
		if credErr == nil {
			got, ok = matching(creds.Services, s)
		}
		switch {
		case ok:
			kept = append(kept, got)
		case credErr != nil:
			el.Skipped = append(el.Skipped, Skipped{Index: i, Service: s, Err: fmt.Errorf("%w: requesting its credentials: %w", ErrNoCredentials, credErr)})
		default:
			el.Skipped = append(el.Skipped, Skipped{Index: i, Service: s, Err: fmt.Errorf("%w: the server gave none for it", ErrNoCredentials)})
		}
	}
	el.Services = kept
	return el, nil
}

// needsCredentials reports whether s is restricted and came without them.
func needsCredentials(s Service) bool {
	return s.Restricted && (s.Username == "" || s.Password == "")
}

// matching returns the service of got with the type and host of want (and
// its port, when both give one) that has credentials.
func matching(got []Service, want Service) (Service, bool) {
	for _, g := range got {
		if g.Type == want.Type && g.Host == want.Host && (g.Port == want.Port || g.Port == 0 || want.Port == 0) && g.Username != "" && g.Password != "" {
			if g.Port == 0 {
				g.Port = want.Port
			}
			if g.Transport == "" {
				g.Transport = want.Transport
			}
			return g, true
		}
	}
	return Service{}, false
}

// Credentials asks server for the credentials of services (XEP-0215
// §3.3): a <credentials/> with the type, host and port of each. The
// answer holds the services the server gave credentials for.
func Credentials(ctx context.Context, send SendIQFunc, server jid.JID, services []Service) (*Element, error) {
	req := &Element{Credentials: true}
	for _, s := range services {
		req.Services = append(req.Services, Service{Type: s.Type, Host: s.Host, Port: s.Port})
	}
	return query(ctx, send, server, req)
}

// query sends req in an IQ get to server and decodes the answer.
func query(ctx context.Context, send SendIQFunc, server jid.JID, req *Element) (*Element, error) {
	resp, err := send(ctx, stanza.IQ{To: server, Type: stanza.GetIQ}, req.TokenReader())
	if err != nil {
		return nil, fmt.Errorf("extdisco: asking %s: %w", server, err)
	}
	defer resp.Close()
	el, err := decodeAnswer(resp, req.Credentials)
	if err != nil {
		return nil, fmt.Errorf("extdisco: the answer of %s: %w", server, err)
	}
	return el, nil
}

// decodeAnswer reads an IQ answer: its extdisco payload, or its error.
func decodeAnswer(r xml.TokenReader, credentials bool) (*Element, error) {
	rd := xmlread.New(r, &readConfig, 0)
	var start xml.StartElement
	for {
		tok, err := rd.Next()
		if err != nil {
			return nil, err
		}
		if s, ok := tok.(xml.StartElement); ok {
			start = s
			break
		}
	}
	typ, _ := attr(start, "type")
	if start.Name.Local != "iq" {
		return nil, fmt.Errorf("%w: the answer is <%s>, not an iq", ErrMalformed, start.Name.Local)
	}
	var el *Element
	var stanzaErr *stanza.Error
	err := rd.Children(func(child xml.StartElement) error {
		switch {
		case typ == string(stanza.ErrorIQ) && child.Name.Local == "error" && stanzaErr == nil:
			e, err := decodeError(rd, child)
			stanzaErr = &e
			return err
		case typ == string(stanza.ResultIQ) && isExtdisco(child.Name) && el == nil:
			var err error
			el, err = decodeElement(rd, child)
			return err
		}
		return rd.Skip()
	})
	if err != nil {
		return nil, err
	}
	switch {
	case typ == string(stanza.ErrorIQ):
		if stanzaErr == nil {
			stanzaErr = &stanza.Error{}
		}
		return nil, fmt.Errorf("%w: %w", ErrNotSupported, *stanzaErr)
	case typ != string(stanza.ResultIQ):
		return nil, fmt.Errorf("%w: an answer of type %q", ErrMalformed, typ)
	case el == nil:
		// An empty result: XEP-0215 answers with the element, but no
		// services is what an empty result means.
		el = &Element{Credentials: credentials}
	}
	return el, nil
}

// decodeError reads a stanza <error/> whose start was just read: its type
// and defined condition.
func decodeError(r *xmlread.Reader, start xml.StartElement) (stanza.Error, error) {
	typ, _ := attr(start, "type")
	e := stanza.Error{Type: stanza.ErrorType(typ)}
	err := r.Children(func(child xml.StartElement) error {
		if child.Name.Space == stanza.NSError && child.Name.Local != "text" && e.Condition == "" {
			e.Condition = stanza.Condition(child.Name.Local)
		}
		return r.Skip()
	})
	return e, err
}

// LookupICEServers is what a client does before a call: Fetch through send
// (jmi's client.Client.SendIQ), ICEServers of the answer at now, and
// Refresh, with every service skipped logged at Warn with its reason (nil
// log logs nothing). A server that offers no external services
// (ErrNotSupported) gives no servers, the zero refresh time and no error:
// the call then gathers host candidates only. Other errors (no answer
// before ctx ends, a malformed answer) are returned.
func LookupICEServers(ctx context.Context, send SendIQFunc, server jid.JID, now time.Time, log *slog.Logger) ([]webrtc.ICEServer, time.Time, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	el, err := FetchWith(ctx, send, server)
	if errors.Is(err, ErrNotSupported) {
		log.Debug("extdisco: no STUN or TURN from the server", "server", server.String(), "err", err)
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	servers, skipped := ICEServers(el.Services, now)
	for _, s := range append(el.Skipped, skipped...) {
		log.Warn("extdisco: service ignored", "server", server.String(), "service", s.Service.String(), "err", s.Err)
	}
	return servers, Refresh(el.Services, now), nil
}
