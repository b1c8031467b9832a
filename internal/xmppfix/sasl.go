package xmppfix

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"mellium.im/sasl"
	"mellium.im/xmlstream"
	"mellium.im/xmpp"
)

// NSChannelBinding is the namespace of XEP-0440: SASL Channel-Binding Type
// Capability, with which a server announces the channel-binding types its
// SCRAM-*-PLUS mechanisms implement.
const NSChannelBinding = `urn:xmpp:sasl-cb:0`

// The channel-binding types mellium.im/sasl v0.3.2 computes. It picks the
// type from the TLS version alone: tls-exporter (RFC 9266) on TLS 1.3,
// tls-unique (RFC 5929) below. It has no tls-server-end-point.
const (
	BindingTLSExporter = "tls-exporter"
	BindingTLSUnique   = "tls-unique"
)

// ErrPlusStripped is returned when a server announces channel-binding types
// (XEP-0440) but offers no SCRAM-*-PLUS mechanism: a server that binds
// offers both, so someone between us removed them (or the server is broken).
var ErrPlusStripped = errors.New("xmppfix: the server announces channel bindings but offers no -PLUS mechanism (stripped on the way?)")

// ChannelBindings returns an informational stream feature that reads the
// server's <sasl-channel-binding/> (XEP-0440) for SASL to use. It negotiates
// nothing; list it beside SASL.
func ChannelBindings() xmpp.StreamFeature {
	return xmpp.StreamFeature{
		Name:       xml.Name{Space: NSChannelBinding, Local: "sasl-channel-binding"},
		Necessary:  xmpp.Secure,
		Prohibited: xmpp.Authn,
		List: func(context.Context, xmlstream.TokenWriter, xml.StartElement) (bool, error) {
			return false, errors.New("xmppfix: ChannelBindings is for client sessions only")
		},
		Parse: func(ctx context.Context, d *xml.Decoder, start *xml.StartElement) (bool, interface{}, error) {
			var parsed struct {
				Bindings []struct {
					Type string `xml:"type,attr"`
				} `xml:"urn:xmpp:sasl-cb:0 channel-binding"`
			}
			if err := d.DecodeElement(&parsed, start); err != nil {
				return false, nil, err
			}
			// Never nil, so that SASL can tell "announced, nothing we know"
			// from "not announced".
			types := make([]string, 0, len(parsed.Bindings))
			for _, b := range parsed.Bindings {
				types = append(types, b.Type)
			}
			return false, types, nil
		},
	}
}

// Choice is the mechanism SASL picked and why.
type Choice struct {
	// Mechanism is what is sent in <auth mechanism='…'/>.
	Mechanism sasl.Mechanism
	// Binding is the channel-binding type used with a -PLUS mechanism, or
	// empty.
	Binding string
	// Flag is the GS2 channel-binding flag (RFC 5802 §7): 'p' (binding),
	// 'y' (the client could bind but the server offers no -PLUS: the server
	// refuses if it does bind, which detects a -PLUS list stripped on the
	// way) or 'n' (no binding on this connection).
	Flag byte
}

// SASL is a client-side replacement for xmpp.SASL that picks the SCRAM
// variant by the channel binding both sides support, and uses it with
// mellium's own negotiation. List ChannelBindings beside it. mellium v0.22.0
// takes the first -PLUS mechanism the server offers and binds with
// tls-exporter on TLS 1.3, which ejabberd 23.01 offers without implementing
// it (it has tls-unique only, and announces nothing): "Invalid channel
// binding", and no way back. chosen, when not nil, is told the choice.
//
// mechanisms are in order of preference, as for xmpp.SASL; give the -PLUS
// variants for a client that binds. See Choose for the rules.
func SASL(identity, password string, chosen func(Choice), mechanisms ...sasl.Mechanism) xmpp.StreamFeature {
	f := xmpp.SASL(identity, password, mechanisms...)
	f.Negotiate = func(ctx context.Context, session *xmpp.Session, data interface{}) (xmpp.SessionState, io.ReadWriter, error) {
		if session.State()&xmpp.Received == xmpp.Received {
			return 0, nil, errors.New("xmppfix: SASL is for client sessions only")
		}
		offered, _ := data.([]string)
		announced, isAnnounced := []string(nil), false
		if d, ok := session.Feature(NSChannelBinding); ok {
			announced, isAnnounced = d.([]string)
		}
		c, err := Choose(mechanisms, offered, announced, isAnnounced, session.ConnectionState().Version)
		if err != nil {
			return 0, nil, err
		}
		if chosen != nil {
			chosen(c)
		}
		return xmpp.SASL(identity, password, c.Mechanism).Negotiate(ctx, session, data)
	}
	return f
}

// Choose picks the mechanism to authenticate with: the first of ours (in
// order) that the server offers, of the kind these rules say, on a
// connection of TLS version tlsVersion (0 without TLS). announced is the
// server's XEP-0440 list, isAnnounced whether it sent one.
//
//   - Without TLS, no -PLUS and no PLAIN.
//   - The server announces its bindings: -PLUS when the one we would use
//     (tls-exporter on TLS 1.3, tls-unique below) is among them, otherwise
//     the bare mechanism with flag 'n'. Announced bindings without any -PLUS
//     offered is ErrPlusStripped.
//   - It offers -PLUS without announcing: on TLS 1.2, -PLUS with tls-unique,
//     the type RFC 5802 §6 makes every binding server implement; on TLS 1.3
//     there is no such type (RFC 9266 says tls-exporter, ejabberd 23.01 has
//     tls-unique only), so the bare mechanism with flag 'n'.
//   - It offers no -PLUS and announces nothing: the bare mechanism with flag
//     'y' (we could bind), which a binding server refuses: a -PLUS list
//     removed on the way is detected (RFC 5802 §6).
func Choose(ours []sasl.Mechanism, offered, announced []string, isAnnounced bool, tlsVersion uint16) (Choice, error) {
	binding := ""
	switch {
	case tlsVersion >= tls.VersionTLS13:
		binding = BindingTLSExporter
	case tlsVersion != 0:
		binding = BindingTLSUnique
	}
	canBind := binding != "" && slices.ContainsFunc(ours, isPlus)
	plusOffered := slices.ContainsFunc(offered, func(name string) bool { return strings.HasSuffix(name, "-PLUS") })

	usePlus := false
	switch {
	case !canBind:
	case isAnnounced:
		if !plusOffered {
			return Choice{}, ErrPlusStripped
		}
		usePlus = slices.Contains(announced, binding)
	case plusOffered:
		usePlus = binding == BindingTLSUnique
	}
	if usePlus {
		for _, m := range ours {
			if isPlus(m) && slices.Contains(offered, m.Name) {
				return Choice{Mechanism: m, Binding: binding, Flag: 'p'}, nil
			}
		}
		// None of our -PLUS variants is offered: go on without binding.
	}
	flag := byte('n')
	if canBind && !plusOffered && !isAnnounced {
		flag = 'y'
	}
	for _, m := range ours {
		if isPlus(m) || !slices.Contains(offered, m.Name) || (m.Name == sasl.Plain.Name && tlsVersion == 0) {
			continue
		}
		if flag == 'y' {
			plus := slices.IndexFunc(ours, func(p sasl.Mechanism) bool { return p.Name == m.Name+"-PLUS" })
			if plus < 0 {
				// We cannot bind with this one: say so.
				return Choice{Mechanism: m, Flag: 'n'}, nil
			}
			return Choice{Mechanism: yFlagged(m.Name, ours[plus]), Flag: 'y'}, nil
		}
		return Choice{Mechanism: m, Flag: 'n'}, nil
	}
	return Choice{}, fmt.Errorf("xmppfix: no SASL mechanism in common (the server offers %s)", strings.Join(offered, ", "))
}

func isPlus(m sasl.Mechanism) bool { return strings.HasSuffix(m.Name, "-PLUS") }

// yFlagged is the bare mechanism name with the steps of its -PLUS variant:
// mellium.im/sasl sends flag 'y' from a -PLUS mechanism whose name the
// server did not offer (it compares the names to set RemoteCB), and 'n' from
// a bare one, always. SCRAM's proof does not cover the mechanism's name, so
// the server checks it as SCRAM-SHA-*; a test checks the client-first
// message starts with "y,,".
func yFlagged(name string, plus sasl.Mechanism) sasl.Mechanism {
	return sasl.Mechanism{Name: name, Start: plus.Start, Next: plus.Next}
}
