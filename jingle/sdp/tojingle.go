package sdp

import (
	"fmt"
	"strconv"
	"strings"

	psdp "github.com/pion/sdp/v3"

	"github.com/jmi-xmpp/jmi/jingle"
)

// Session is what an SDP description gives a Jingle element: its contents
// and its BUNDLE group.
type Session struct {
	// Contents are the contents, one per m-line of audio or video, in the
	// SDP's order, each named after its mid and created by the initiator
	// (the offer's contents are the initiator's; an answer echoes them).
	Contents []jingle.Content
	// Group is the BUNDLE group, or nil when the SDP has none.
	Group *jingle.Group
	// Dropped says what the SDP carried that the Jingle does not, one
	// sentence each, for the caller to log (a=cryptex, candidates,
	// m-lines that are not RTP).
	Dropped []string
}

// Jingle returns a Jingle element with the session's contents and group
// and the given action and sid, ready for its initiator (or responder) to
// be set and to be sent.
func (s Session) Jingle(action jingle.Action, sid string) *jingle.Jingle {
	return &jingle.Jingle{Action: action, SID: sid, Contents: s.Contents, Group: s.Group}
}

// ToJingle returns the Jingle contents of the SDP description text written
// by author: pion's offer (author Initiator) for a session-initiate, its
// answer (author Responder) for a session-accept.
//
// Every m-line of audio or video becomes a content named after its a=mid,
// with an RTP description (payload types from rtpmap, fmtp as parameters,
// rtcp-fb, extmap as rtp-hdrext, ssrc and ssrc-group as sources,
// rtcp-mux) and an ICE-UDP transport (ufrag, pwd, the DTLS fingerprint and
// setup, from the m-line or else the session level). The SDP's candidates
// are left out: send them one by one, from OnICECandidate, with
// CandidateToJingle. What Jingle cannot carry is listed in Dropped.
//
// Text that pion/sdp cannot parse gives ErrMalformedSDP; an SDP without
// any audio or video m-line ErrNoContents; an m-line without usable ICE
// credentials, fingerprint or payload type the error FromJingle gives for
// the same problem.
func ToJingle(text string, author Party) (Session, error) {
	var s psdp.SessionDescription
	if trim(text) == "" {
		// pion/sdp reads nothing as an empty description.
		return Session{}, fmt.Errorf("%w: no text", ErrMalformedSDP)
	}
	if err := s.UnmarshalString(text); err != nil {
		return Session{}, fmt.Errorf("%w: %v", ErrMalformedSDP, err)
	}
	r := reader{author: author}
	top := r.level("session", s.Attributes, nil)
	var out Session
	names := map[string]bool{}
	for i, md := range s.MediaDescriptions {
		c, ok, err := r.content(i, md, top)
		if err != nil {
			return Session{}, err
		}
		if !ok {
			continue
		}
		if names[c.Name] {
			return Session{}, fmt.Errorf("%w: mid %q", ErrDuplicateName, c.Name)
		}
		names[c.Name] = true
		out.Contents = append(out.Contents, c)
	}
	if len(out.Contents) == 0 {
		return Session{}, fmt.Errorf("%w: the SDP has no audio or video m-line", ErrNoContents)
	}
	if len(out.Contents) > jingle.MaxContents {
		return Session{}, fmt.Errorf("%w: %d audio and video m-lines, a Jingle element takes at most %d contents", ErrMalformedSDP, len(out.Contents), jingle.MaxContents)
	}
	for _, g := range top.groups {
		f := strings.Fields(g)
		if len(f) == 0 || !strings.EqualFold(f[0], "BUNDLE") || out.Group != nil {
			r.dropped = append(r.dropped, fmt.Sprintf("a=group:%s dropped: only one BUNDLE group crosses", truncate(g)))
			continue
		}
		group := &jingle.Group{Semantics: "BUNDLE"}
		for _, name := range f[1:] {
			if names[name] && len(group.Contents) < jingle.MaxItems {
				group.Contents = append(group.Contents, name)
			}
		}
		if len(group.Contents) > 0 {
			out.Group = group
		}
	}
	out.Dropped = r.dropped
	// The contents go on the wire: what the Jingle encoder would refuse is
	// a bug here, not the peer's problem.
	if err := out.Jingle(jingle.ActionSessionInitiate, "check").Validate(); err != nil {
		return Session{}, fmt.Errorf("%w: its Jingle would be invalid: %v", ErrMalformedSDP, err)
	}
	return out, nil
}

// reader gathers what one ToJingle call drops.
type reader struct {
	author  Party
	dropped []string
}

// attrs is what one level (session or m-line) of an SDP says, the m-line's
// values standing over the session's.
type attrs struct {
	mid, ufrag, pwd, setup   string
	fingerprint              string
	direction                string
	rtcpMux, allowMixed      bool
	iceOptions               []string
	rtpmap, fmtp             map[string]string
	feedback                 map[string][]string
	ptime, maxptime          uint32
	extmaps, ssrcs, ssrcGrps []string
	groups                   []string
}

// level reads the attributes of one level; parent, when not nil, gives the
// session-level values the m-line inherits.
func (r *reader) level(where string, as []psdp.Attribute, parent *attrs) *attrs {
	a := &attrs{rtpmap: map[string]string{}, fmtp: map[string]string{}, feedback: map[string][]string{}}
	if parent != nil {
		a.ufrag, a.pwd, a.setup, a.fingerprint = parent.ufrag, parent.pwd, parent.setup, parent.fingerprint
		a.allowMixed, a.direction = parent.allowMixed, parent.direction
		a.iceOptions = parent.iceOptions
	}
	unused := map[string]int{}
	var order []string
	for _, at := range as {
		v := trim(at.Value)
		switch at.Key {
		case "mid":
			a.mid = at.Value
		case "ice-ufrag":
			a.ufrag = v
		case "ice-pwd":
			a.pwd = v
		case "ice-options":
			a.iceOptions = strings.Fields(v)
		case "fingerprint":
			a.fingerprint = v
		case "setup":
			a.setup = v
		case "sendrecv", "sendonly", "recvonly", "inactive":
			a.direction = at.Key
		case "rtcp-mux":
			a.rtcpMux = true
		case "extmap-allow-mixed":
			a.allowMixed = true
		case "rtpmap", "fmtp":
			pt, rest, _ := strings.Cut(v, " ")
			m := a.rtpmap
			if at.Key == "fmtp" {
				m = a.fmtp
			}
			if _, dup := m[pt]; !dup {
				m[pt] = trim(rest)
			}
		case "rtcp-fb":
			pt, rest, _ := strings.Cut(v, " ")
			a.feedback[pt] = append(a.feedback[pt], rest)
		case "ptime", "maxptime":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				unused[at.Key+" (not a number)"]++
				continue
			}
			if at.Key == "ptime" {
				a.ptime = uint32(n)
			} else {
				a.maxptime = uint32(n)
			}
		case "extmap":
			a.extmaps = append(a.extmaps, v)
		case "ssrc":
			a.ssrcs = append(a.ssrcs, v)
		case "ssrc-group":
			a.ssrcGrps = append(a.ssrcGrps, v)
		case "group":
			if parent == nil {
				a.groups = append(a.groups, v)
			} else {
				unused["group (in an m-line)"]++
			}
		default:
			if unused[at.Key] == 0 {
				order = append(order, at.Key)
			}
			unused[at.Key]++
		}
	}
	for _, key := range order {
		why := "Jingle cannot carry it"
		switch key {
		case "candidate", "end-of-candidates":
			why = "candidates are trickled in transport-info"
		}
		r.dropped = append(r.dropped, fmt.Sprintf("%s: %d a=%s dropped: %s", where, unused[key], key, why))
	}
	return a
}

// content returns the content of the m-line numbered i; ok is false for an
// m-line that is not RTP audio or video, which is dropped.
func (r *reader) content(i int, md *psdp.MediaDescription, top *attrs) (jingle.Content, bool, error) {
	media := md.MediaName.Media
	rtp := false
	for _, p := range md.MediaName.Protos {
		rtp = rtp || p == "RTP"
	}
	where := fmt.Sprintf("m-line %d", i)
	if (media != "audio" && media != "video") || !rtp {
		r.dropped = append(r.dropped, fmt.Sprintf("%s (%s %s) dropped: not RTP audio or video", where, truncate(media), strings.Join(md.MediaName.Protos, "/")))
		return jingle.Content{}, false, nil
	}
	a := r.level(where, md.Attributes, top)
	name := a.mid
	if !isMid(name) {
		return jingle.Content{}, false, fmt.Errorf("%w: %s has mid %q", ErrBadName, where, truncate(name))
	}
	where = fmt.Sprintf("content %q", name)
	c := jingle.Content{Creator: jingle.CreatorInitiator, Name: name}
	if a.direction != "" {
		c.Senders, _ = senders(a.direction, r.author)
	}
	d := &jingle.Description{Media: media, RTCPMux: a.rtcpMux, ExtmapAllowMixed: a.allowMixed}
	if err := r.payloads(where, md.MediaName.Formats, a, d); err != nil {
		return jingle.Content{}, false, err
	}
	r.extensions(where, a, d)
	r.sources(where, a, d)
	t, err := r.transport(where, a)
	if err != nil {
		return jingle.Content{}, false, err
	}
	c.Description, c.Transport = d, t
	return c, true, nil
}

func (r *reader) drop(where, format string, args ...any) {
	r.dropped = append(r.dropped, where+": "+fmt.Sprintf(format, args...))
}

// payloads reads the payload types of the formats of the m-line, in order.
func (r *reader) payloads(where string, formats []string, a *attrs, d *jingle.Description) error {
	seen := map[uint8]bool{}
	for _, f := range formats {
		id, err := strconv.ParseUint(f, 10, 8)
		if err != nil || id > 127 || seen[uint8(id)] {
			r.drop(where, "format %q: not a payload type, or repeated", truncate(f))
			continue
		}
		if len(d.Payloads) == jingle.MaxPayloadTypes {
			r.drop(where, "payload types past %d dropped", jingle.MaxPayloadTypes)
			break
		}
		p, ok := r.payload(where, uint8(id), a)
		if !ok {
			continue
		}
		seen[p.ID] = true
		d.Payloads = append(d.Payloads, p)
	}
	for _, v := range a.feedback["*"] {
		if fb, ok := r.feedback(where, v); ok && len(d.Feedback) < jingle.MaxItems {
			d.Feedback = append(d.Feedback, fb)
		}
	}
	if len(d.Payloads) == 0 {
		return fmt.Errorf("%w: %s has %d formats, none usable", ErrNoPayloadTypes, where, len(formats))
	}
	return nil
}

// payload reads one payload type from its rtpmap, fmtp and rtcp-fb lines.
func (r *reader) payload(where string, id uint8, a *attrs) (jingle.PayloadType, bool) {
	key := strconv.Itoa(int(id))
	p := jingle.PayloadType{ID: id, PTime: a.ptime, MaxPTime: a.maxptime}
	if rtpmap, ok := a.rtpmap[key]; ok {
		f := strings.Split(rtpmap, "/")
		name, ok := token(f[0])
		var clockrate uint64
		var err error
		if ok && len(f) >= 2 {
			clockrate, err = strconv.ParseUint(trim(f[1]), 10, 32)
		}
		if !ok || len(f) < 2 || len(f) > 3 || err != nil || clockrate == 0 {
			r.drop(where, "payload type %d: rtpmap %q is not name/clockrate[/channels]", id, truncate(rtpmap))
			return p, false
		}
		p.Name, p.Clockrate = name, uint32(clockrate)
		if len(f) == 3 {
			ch, err := strconv.ParseUint(trim(f[2]), 10, 8)
			if err != nil || ch == 0 {
				r.drop(where, "payload type %d: channels %q", id, truncate(f[2]))
				return p, false
			}
			if ch > 1 {
				p.Channels = uint8(ch)
			}
		}
	} else if static, ok := staticPayloads[id]; ok {
		p.Name, p.Clockrate = static.name, static.clockrate
	} else {
		r.drop(where, "payload type %d: no rtpmap", id)
		return p, false
	}
	for _, part := range strings.Split(a.fmtp[key], ";") {
		if trim(part) == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		name, ok1 := tokenWithout(k, "=")
		value, ok2 := token(v)
		if trim(v) == "" {
			value, ok2 = "", true
		}
		if !ok1 || !ok2 || len(p.Parameters) == jingle.MaxItems {
			r.drop(where, "parameter %q of payload type %d: not one word", truncate(part), id)
			continue
		}
		p.Parameters = append(p.Parameters, jingle.Parameter{Name: name, Value: value})
	}
	for _, v := range a.feedback[key] {
		if fb, ok := r.feedback(where, v); ok && len(p.Feedback) < jingle.MaxItems {
			p.Feedback = append(p.Feedback, fb)
		}
	}
	return p, true
}

// feedback reads the value of an rtcp-fb line after its payload type:
// "nack pli" is type nack, subtype pli.
func (r *reader) feedback(where, v string) (jingle.RTCPFeedback, bool) {
	text, ok := words(v)
	if !ok {
		r.drop(where, "rtcp-fb %q: not text", truncate(v))
		return jingle.RTCPFeedback{}, false
	}
	typ, sub, _ := strings.Cut(text, " ")
	return jingle.RTCPFeedback{Type: typ, Subtype: sub}, true
}

// extensions reads the a=extmap lines: "id[/direction] uri [attributes]".
func (r *reader) extensions(where string, a *attrs, d *jingle.Description) {
	seen := map[uint16]bool{}
	for _, v := range a.extmaps {
		f := strings.Fields(v)
		ok := len(f) >= 2
		var id uint64
		var err error
		h := jingle.HeaderExtension{}
		if ok {
			idText, dir, hasDir := strings.Cut(f[0], "/")
			id, err = strconv.ParseUint(idText, 10, 16)
			ok = err == nil && id >= 1 && id <= 246 && !seen[uint16(id)] && isURI(f[1])
			if hasDir {
				var known bool
				h.Senders, known = senders(dir, r.author)
				ok = ok && known
			}
		}
		if !ok || len(d.HeaderExtensions) == jingle.MaxItems {
			r.drop(where, "a=extmap:%s: not id[/direction] uri, or repeated", truncate(v))
			continue
		}
		if len(f) > 2 {
			r.drop(where, "a=extmap:%s: its attributes dropped", truncate(v))
		}
		seen[uint16(id)] = true
		h.ID, h.URI = uint16(id), f[1]
		d.HeaderExtensions = append(d.HeaderExtensions, h)
	}
}

// sources reads a=ssrc ("ssrc attribute[:value]") and a=ssrc-group
// ("semantics ssrc…") lines.
func (r *reader) sources(where string, a *attrs, d *jingle.Description) {
	index := map[uint32]int{}
	for _, v := range a.ssrcs {
		ssrcText, rest, _ := strings.Cut(v, " ")
		ssrc, err := strconv.ParseUint(ssrcText, 10, 32)
		k, val, _ := strings.Cut(trim(rest), ":")
		name, ok := tokenWithout(k, ":")
		value := ""
		if ok && trim(val) != "" {
			value, ok = words(val)
		}
		if err != nil || !ok {
			r.drop(where, "a=ssrc:%s: not ssrc attribute[:value]", truncate(v))
			continue
		}
		i, known := index[uint32(ssrc)]
		if !known {
			if len(d.Sources) == jingle.MaxItems {
				r.drop(where, "a=ssrc:%s: too many sources", truncate(v))
				continue
			}
			i = len(d.Sources)
			index[uint32(ssrc)] = i
			d.Sources = append(d.Sources, jingle.Source{SSRC: uint32(ssrc)})
		}
		if len(d.Sources[i].Parameters) == jingle.MaxItems {
			r.drop(where, "a=ssrc:%s: too many parameters", truncate(v))
			continue
		}
		d.Sources[i].Parameters = append(d.Sources[i].Parameters, jingle.Parameter{Name: name, Value: value})
	}
	for _, v := range a.ssrcGrps {
		f := strings.Fields(v)
		g := jingle.SourceGroup{}
		ok := len(f) >= 2 && len(f) <= jingle.MaxItems+1 && len(d.SourceGroups) < jingle.MaxItems
		if ok {
			g.Semantics, ok = token(f[0])
		}
		for _, s := range f[1:] {
			ssrc, err := strconv.ParseUint(s, 10, 32)
			ok = ok && err == nil
			g.SSRCs = append(g.SSRCs, uint32(ssrc))
		}
		if !ok {
			r.drop(where, "a=ssrc-group:%s: not semantics ssrc…", truncate(v))
			continue
		}
		d.SourceGroups = append(d.SourceGroups, g)
	}
}

// transport reads the ICE credentials and the DTLS fingerprint and role.
func (r *reader) transport(where string, a *attrs) (*jingle.Transport, error) {
	ufrag, ok1 := token(a.ufrag)
	pwd, ok2 := token(a.pwd)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: %s (ufrag %q, pwd of %d bytes)", ErrNoCredentials, where, truncate(a.ufrag), len(a.pwd))
	}
	t := &jingle.Transport{Ufrag: ufrag, Pwd: pwd}
	for _, opt := range a.iceOptions {
		if opt == "trickle" {
			t.ICEOptions = []string{"trickle"}
			continue
		}
		r.drop(where, "ICE option %q dropped", truncate(opt))
	}
	hash, value, _ := strings.Cut(a.fingerprint, " ")
	hash, ok1 = token(hash)
	value, ok2 = token(value)
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: %s has a=fingerprint:%s", ErrNoFingerprint, where, truncate(a.fingerprint))
	}
	f := &jingle.Fingerprint{Hash: strings.ToLower(hash), Value: strings.ToUpper(value)}
	switch a.setup {
	case "actpass":
		f.Setup = jingle.SetupActpass
	case "active":
		f.Setup = jingle.SetupActive
	case "passive":
		f.Setup = jingle.SetupPassive
	case "holdconn":
		f.Setup = jingle.SetupHoldconn
	case "":
	default:
		r.drop(where, "a=setup:%s dropped: not a DTLS role", truncate(a.setup))
	}
	t.Fingerprint = f
	return t, nil
}
