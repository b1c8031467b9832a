package sdp

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	psdp "github.com/pion/sdp/v3"

	"github.com/jmi-xmpp/jmi/jingle"
)

// Description is an SDP session description made from Jingle.
type Description struct {
	// SDP is the text, with CRLF line ends, for a webrtc.SessionDescription.
	SDP string
	// Dropped says what the Jingle carried that the SDP does not, one
	// sentence each, for the caller to log: candidates of component 2 or
	// over TCP, an SRTP-SDES <encryption/>, a parameter with white space
	// inside, a child with no SDP line.
	Dropped []string
}

// staticPayloads are the RTP/AVP payload types that may come without a
// name (RFC 3551 §6, table 4), with their encoding and clock rate.
var staticPayloads = map[uint8]struct {
	name      string
	clockrate uint32
}{
	0: {"PCMU", 8000}, 3: {"GSM", 8000}, 4: {"G723", 8000}, 8: {"PCMA", 8000},
	9: {"G722", 8000}, 13: {"CN", 8000}, 18: {"G729", 8000},
}

// profile is the transport protocol of every m-line: RTP over DTLS-SRTP
// with RTCP feedback, the one WebRTC speaks (RFC 8829 §5.1.2).
var profile = []string{"UDP", "TLS", "RTP", "SAVPF"}

// FromJingle returns the SDP description of the RTP contents of j, written
// from the side of author: for a received session-initiate the offer
// (author Initiator), for a received session-accept the answer (author
// Responder), each for PeerConnection.SetRemoteDescription.
//
// Every content must be an RTP description of audio or video over an
// ICE-UDP transport with ufrag, pwd and a DTLS fingerprint, and be named
// with a token of at most MaxMidLength characters; otherwise the error
// names the content (ErrUnsupportedContent, ErrNoCredentials,
// ErrNoFingerprint, ErrBadName, ErrNoPayloadTypes). What cannot cross
// (see the package documentation) is left out and listed in Dropped.
func FromJingle(j *jingle.Jingle, author Party) (Description, error) {
	if j == nil || len(j.Contents) == 0 {
		return Description{}, fmt.Errorf("%w: the Jingle element has no content", ErrNoContents)
	}
	w := writer{author: author}
	s := &psdp.SessionDescription{
		Origin: psdp.Origin{
			Username:       "-",
			SessionID:      sessionID(j.SID),
			SessionVersion: 1,
			NetworkType:    "IN",
			AddressType:    "IP4",
			UnicastAddress: "0.0.0.0",
		},
		SessionName:      "-",
		TimeDescriptions: []psdp.TimeDescription{{}},
	}
	names := make(map[string]bool, len(j.Contents))
	var order []string
	for i := range j.Contents {
		c := &j.Contents[i]
		if names[c.Name] {
			return Description{}, fmt.Errorf("%w: %q", ErrDuplicateName, c.Name)
		}
		md, err := w.media(c)
		if err != nil {
			return Description{}, err
		}
		names[c.Name] = true
		order = append(order, c.Name)
		s.MediaDescriptions = append(s.MediaDescriptions, md)
	}
	s.Attributes = append(s.Attributes, w.group(j.Group, names, order))
	b, err := s.Marshal()
	if err != nil {
		return Description{}, fmt.Errorf("jingle/sdp: writing the SDP: %w", err)
	}
	return Description{SDP: string(b), Dropped: w.dropped}, nil
}

// sessionID derives the o= session id from the Jingle sid: the same
// session always gets the same SDP, and the id stays below 2^62 as RFC
// 4566 §5.2 and pion's parser want.
func sessionID(sid string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(sid))
	return h.Sum64() >> 2
}

// writer gathers what one FromJingle call drops.
type writer struct {
	author  Party
	dropped []string
}

func (w *writer) drop(content, format string, args ...any) {
	w.dropped = append(w.dropped, fmt.Sprintf("content %q: ", content)+fmt.Sprintf(format, args...))
}

// group returns the a=group line: the Jingle's group, members that name no
// content removed, or, when that leaves no BUNDLE, a BUNDLE of every
// content (pion's answer to an offer without one has port 0 in every
// m-line, and Dino never sends a group).
func (w *writer) group(g *jingle.Group, names map[string]bool, order []string) psdp.Attribute {
	if g != nil {
		semantics, ok := token(g.Semantics)
		if ok && strings.EqualFold(semantics, "BUNDLE") {
			var members []string
			seen := map[string]bool{}
			for _, name := range g.Contents {
				if names[name] && !seen[name] {
					seen[name] = true
					members = append(members, name)
				}
			}
			if len(members) > 0 {
				return psdp.NewAttribute("group", "BUNDLE "+strings.Join(members, " "))
			}
		}
		w.dropped = append(w.dropped, fmt.Sprintf("group %q of %d contents: replaced by a BUNDLE of every content", g.Semantics, len(g.Contents)))
	}
	return psdp.NewAttribute("group", "BUNDLE "+strings.Join(order, " "))
}

// media returns the m-line of one content.
func (w *writer) media(c *jingle.Content) (*psdp.MediaDescription, error) {
	if !isMid(c.Name) {
		return nil, fmt.Errorf("%w: %q", ErrBadName, truncate(c.Name))
	}
	d, t := c.Description, c.Transport
	if d == nil || t == nil {
		return nil, fmt.Errorf("%w: content %q has no RTP description or no ICE-UDP transport", ErrUnsupportedContent, c.Name)
	}
	media := trim(d.Media)
	if media != "audio" && media != "video" {
		return nil, fmt.Errorf("%w: content %q has media %q", ErrUnsupportedContent, c.Name, truncate(d.Media))
	}
	if c.Disposition != "" && trim(c.Disposition) != "session" {
		w.drop(c.Name, "disposition %q dropped", truncate(c.Disposition))
	}
	md := &psdp.MediaDescription{
		MediaName: psdp.MediaName{Media: media, Port: psdp.RangedPort{Value: 9}, Protos: profile},
		ConnectionInformation: &psdp.ConnectionInformation{
			NetworkType: "IN", AddressType: "IP4", Address: &psdp.Address{Address: "0.0.0.0"},
		},
	}
	add := func(key, value string) { md.Attributes = append(md.Attributes, psdp.NewAttribute(key, value)) }
	add("mid", c.Name)
	if err := w.transport(c.Name, t, add); err != nil {
		return nil, err
	}
	add(direction(c.Senders, w.author), "")
	// pion multiplexes RTP and RTCP only (RFC 8843 and RFC 8829 make it
	// the WebRTC default); an offer without rtcp-mux still gets it.
	add("rtcp-mux", "")
	formats, err := w.payloads(c.Name, d, add)
	if err != nil {
		return nil, err
	}
	md.MediaName.Formats = formats
	w.descriptionRest(c.Name, d, add)
	for i, cand := range t.Candidates {
		line, err := candidateLine(cand)
		if err != nil {
			w.drop(c.Name, "candidate %d: %v", i+1, err)
			continue
		}
		add("candidate", line)
	}
	for _, x := range t.Extra {
		w.drop(c.Name, "<%s/> in the transport: no SDP line for it", x.XMLName.Local)
	}
	for _, x := range c.Extra {
		w.drop(c.Name, "<%s xmlns='%s'/> in the content: no SDP line for it", x.XMLName.Local, x.XMLName.Space)
	}
	return md, nil
}

// transport writes the ICE credentials and options and the DTLS
// fingerprint and role.
func (w *writer) transport(name string, t *jingle.Transport, add func(key, value string)) error {
	ufrag, ok1 := token(t.Ufrag)
	pwd, ok2 := token(t.Pwd)
	if !ok1 || !ok2 {
		return fmt.Errorf("%w: content %q (ufrag %q, pwd of %d bytes)", ErrNoCredentials, name, truncate(t.Ufrag), len(t.Pwd))
	}
	add("ice-ufrag", ufrag)
	add("ice-pwd", pwd)
	for _, opt := range t.ICEOptions {
		// Trickle is how every deployed client sends candidates;
		// renomination is sent only to a peer that signals it, and pion
		// does not.
		if opt == "trickle" {
			add("ice-options", "trickle")
			continue
		}
		w.drop(name, "ICE option %q dropped", opt)
	}
	f := t.Fingerprint
	if f == nil {
		return fmt.Errorf("%w: content %q", ErrNoFingerprint, name)
	}
	hash, ok1 := token(f.Hash)
	value, ok2 := token(removeSpace(f.Value))
	if !ok1 || !ok2 {
		return fmt.Errorf("%w: content %q has hash %q and value %q", ErrNoFingerprint, name, truncate(f.Hash), truncate(f.Value))
	}
	add("fingerprint", strings.ToLower(hash)+" "+strings.ToUpper(value))
	setup := f.Setup
	if setup == jingle.SetupNone {
		// XEP-0320 requires setup; without it, the offerer is taken to be
		// actpass and the answerer active, what every client sends.
		setup = jingle.SetupActpass
		if w.author == Responder {
			setup = jingle.SetupActive
		}
	}
	add("setup", setup.String())
	return nil
}

// payloads writes the rtpmap, fmtp and rtcp-fb lines of each payload type
// and returns the formats of the m-line, in the Jingle's order.
func (w *writer) payloads(name string, d *jingle.Description, add func(key, value string)) ([]string, error) {
	var formats []string
	seen := map[uint8]bool{}
	var ptime, maxptime uint32
	for _, p := range d.Payloads {
		if p.ID > 127 || seen[p.ID] {
			w.drop(name, "payload type %d: out of range or repeated", p.ID)
			continue
		}
		codec, clockrate := p.Name, p.Clockrate
		if static, ok := staticPayloads[p.ID]; ok && trim(codec) == "" {
			codec = static.name
			if clockrate == 0 {
				clockrate = static.clockrate
			}
		}
		codec, ok := tokenWithout(codec, "/")
		if !ok || clockrate == 0 {
			w.drop(name, "payload type %d: no usable name (%q) or clock rate (%d)", p.ID, truncate(p.Name), p.Clockrate)
			continue
		}
		seen[p.ID] = true
		id := strconv.Itoa(int(p.ID))
		formats = append(formats, id)
		rtpmap := id + " " + codec + "/" + strconv.FormatUint(uint64(clockrate), 10)
		if p.Channels > 1 {
			rtpmap += "/" + strconv.Itoa(int(p.Channels))
		}
		add("rtpmap", rtpmap)
		if fmtp := w.fmtp(name, p); fmtp != "" {
			add("fmtp", id+" "+fmtp)
		}
		for _, fb := range p.Feedback {
			if v, ok := w.feedback(name, fb); ok {
				add("rtcp-fb", id+" "+v)
			}
		}
		for _, x := range p.Extra {
			w.drop(name, "<%s/> in payload type %d: no SDP line for it", x.XMLName.Local, p.ID)
		}
		if ptime == 0 {
			ptime = p.PTime
		}
		if maxptime == 0 {
			maxptime = p.MaxPTime
		}
	}
	if len(formats) == 0 {
		return nil, fmt.Errorf("%w: content %q has %d payload types, none usable", ErrNoPayloadTypes, name, len(d.Payloads))
	}
	// SDP has one ptime per m-line (RFC 4566 §6): the first one given.
	if ptime != 0 {
		add("ptime", strconv.FormatUint(uint64(ptime), 10))
	}
	if maxptime != 0 {
		add("maxptime", strconv.FormatUint(uint64(maxptime), 10))
	}
	return formats, nil
}

// fmtp returns the format parameters of p as "k=v;k=v" (a parameter with
// an empty value is written as its name alone, as telephone-event's
// "0-15"), leaving out those that cannot be one word.
func (w *writer) fmtp(name string, p jingle.PayloadType) string {
	var parts []string
	for _, prm := range p.Parameters {
		k, ok := tokenWithout(prm.Name, ";=")
		if !ok {
			w.drop(name, "parameter %q of payload type %d: not one word", truncate(prm.Name), p.ID)
			continue
		}
		v := trim(prm.Value)
		if v == "" {
			parts = append(parts, k)
			continue
		}
		if v, ok = tokenWithout(v, ";"); !ok {
			w.drop(name, "parameter %s=%q of payload type %d: not one word", k, truncate(prm.Value), p.ID)
			continue
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ";")
}

// feedback returns the value of an rtcp-fb line after its payload type.
func (w *writer) feedback(name string, fb jingle.RTCPFeedback) (string, bool) {
	typ, ok := token(fb.Type)
	if !ok {
		w.drop(name, "rtcp-fb %q: not one word", truncate(fb.Type))
		return "", false
	}
	if trim(fb.Subtype) == "" {
		return typ, true
	}
	sub, ok := words(fb.Subtype)
	if !ok {
		w.drop(name, "rtcp-fb %s %q: not text", typ, truncate(fb.Subtype))
		return "", false
	}
	return typ + " " + sub, true
}

// descriptionRest writes what the description has beside its payload
// types: wildcard feedback, header extensions, sources.
func (w *writer) descriptionRest(name string, d *jingle.Description, add func(key, value string)) {
	for _, fb := range d.Feedback {
		if v, ok := w.feedback(name, fb); ok {
			add("rtcp-fb", "* "+v)
		}
	}
	seen := map[uint16]bool{}
	for _, h := range d.HeaderExtensions {
		uri, ok := token(h.URI)
		ok = ok && isURI(uri)
		// pion's parser takes extmap ids 1–246 only.
		if !ok || h.ID < 1 || h.ID > 246 || seen[h.ID] {
			w.drop(name, "rtp-hdrext %d %q: id out of 1–246, repeated, or not a URI", h.ID, truncate(h.URI))
			continue
		}
		seen[h.ID] = true
		id := strconv.Itoa(int(h.ID))
		if h.Senders != jingle.SendersBoth {
			id += "/" + direction(h.Senders, w.author)
		}
		add("extmap", id+" "+uri)
	}
	if d.ExtmapAllowMixed {
		add("extmap-allow-mixed", "")
	}
	for _, g := range d.SourceGroups {
		semantics, ok := token(g.Semantics)
		if !ok || len(g.SSRCs) == 0 {
			w.drop(name, "ssrc-group %q: no semantics or no source", truncate(g.Semantics))
			continue
		}
		v := semantics
		for _, ssrc := range g.SSRCs {
			v += " " + strconv.FormatUint(uint64(ssrc), 10)
		}
		add("ssrc-group", v)
	}
	for _, src := range d.Sources {
		ssrc := strconv.FormatUint(uint64(src.SSRC), 10)
		n := 0
		for _, prm := range src.Parameters {
			k, ok := tokenWithout(prm.Name, ":")
			if !ok {
				w.drop(name, "parameter %q of source %s: not one word", truncate(prm.Name), ssrc)
				continue
			}
			if trim(prm.Value) == "" {
				add("ssrc", ssrc+" "+k)
				n++
				continue
			}
			v, ok := words(prm.Value)
			if !ok {
				w.drop(name, "parameter %s of source %s: not text", k, ssrc)
				continue
			}
			add("ssrc", ssrc+" "+k+":"+v)
			n++
		}
		if n == 0 {
			// RFC 5576 §4.1: an a=ssrc line has an attribute.
			w.drop(name, "source %s: no parameter", ssrc)
		}
	}
	if d.Encryption != nil {
		w.drop(name, "SRTP-SDES <encryption/> dropped: pion does DTLS-SRTP only")
	}
	if d.SSRC != "" {
		w.drop(name, "description ssrc %q dropped: sources are <source/> elements", truncate(d.SSRC))
	}
	for _, x := range d.Extra {
		w.drop(name, "<%s/> in the description: no SDP line for it", x.XMLName.Local)
	}
}
