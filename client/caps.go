package client

import (
	"crypto/sha1" // #nosec: XEP-0115 §5 names SHA-1, which every deployed client computes
	"encoding/base64"
	"encoding/xml"
	"slices"
	"strings"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/disco/info"
)

// NSCaps is the namespace of entity capabilities (XEP-0115).
const NSCaps = `http://jabber.org/protocol/caps`

// CapsNode is the node jmi names in its capabilities: the software's URI.
const CapsNode = `https://github.com/jmi-xmpp/jmi`

// identity is what jmi's device is in disco#info (XEP-0030).
var identity = info.Identity{Category: "client", Type: "pc", Name: "jmi"}

// CapsVer computes the verification string of XEP-0115 §5.1 (hash sha-1)
// for the identities and features an entity lists in disco#info (without
// service discovery extensions, which jmi does not send). An application
// that sends its own presence (see New) puts it in its <c/> with the
// features of its whole mux.
func CapsVer(identities []info.Identity, features []string) string {
	ids := make([]string, 0, len(identities))
	for _, id := range identities {
		ids = append(ids, id.Category+"/"+id.Type+"/"+id.Lang+"/"+id.Name)
	}
	slices.Sort(ids)
	feats := slices.Clone(features)
	slices.Sort(feats)
	feats = slices.Compact(feats)
	var s strings.Builder
	for _, id := range ids {
		s.WriteString(id)
		s.WriteByte('<')
	}
	for _, f := range feats {
		s.WriteString(f)
		s.WriteByte('<')
	}
	sum := sha1.Sum([]byte(s.String())) // #nosec
	return base64.StdEncoding.EncodeToString(sum[:])
}

// capsVer is the verification string of what this client lists.
func (c *Client) capsVer() string {
	return CapsVer([]info.Identity{identity}, c.features())
}

// capsElement is the <c/> of XEP-0115 §4 for a presence of this client:
// Conversations looks at a contact's features only when its presence
// carries one. Nil in an application's session (New): the application's
// mux lists more than jmi, and its own presence carries its caps (CapsVer).
func (c *Client) capsElement() xml.TokenReader {
	if c.embedded {
		return nil
	}
	return xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Space: NSCaps, Local: "c"}, Attr: []xml.Attr{
		{Name: xml.Name{Local: "hash"}, Value: "sha-1"},
		{Name: xml.Name{Local: "node"}, Value: CapsNode},
		{Name: xml.Name{Local: "ver"}, Value: c.capsVer()},
	}})
}
