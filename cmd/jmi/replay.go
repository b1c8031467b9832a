package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/client"
	"mellium.im/xmpp/jid"
)

const replayUsage = `Usage: jmi replay [TRANSCRIPT.xml]

Runs a transcript of what one device saw through exactly the code path of
jmi's client, minus the network: unwrapping carbons and archive results,
refusing forged input, the call engine, and the stanzas it would send. Use it
to answer "why did my phone ring?" from a log. The transcript comes from the
file named, or from standard input.

The transcript is one XML document:

  <transcript account='juliet@capulet.example/phone'>
    <trust jid='romeo@montague.example'/>       zero or more trusted bare JIDs
    <at t='2026-01-01T10:00:00Z'/>               the clock moves to t; deadlines due fire
    <recv><message .../></recv>                  one stanza as it arrived on the stream:
                                                 plain, carbon or archive result
    <catchup-start queryid='q1'/>                archive catch-up begins; results for
                                                 another queryid are refused
    <catchup-end/>
    <do action='propose' to='romeo@montague.example' id='c1' media='audio,video'/>
    <do action='proceed|reject|retract|finish' id='c1' [reason='busy']/>
  </transcript>

Before the first <at/> the clock stands at 2026-01-01T00:00:00Z. The output
is JSON lines, in order: each event ({"event": "incoming", "id": ..., "peer":
..., "device": ..., "reason": ..., "tie_break": ..., "migrated_to": ...,
"elsewhere": ..., "media": [...], "at": ...}) and each stanza the device would
send ({"send": "<message .../>"}, {"presence": "<presence .../>"}). Message ids
are counted (jmi-1, jmi-2, ...), so the output is the same every time.

Events: proposed, incoming (this device rings), ringing (a remote device
rings), proceeded, rejected, retracted, finished, missed, ignored (input
refused, with the reason).

An invalid transcript exits with status 1 and one line naming the problem.
`

// replayStart is the clock before the first <at/>.
var replayStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func runReplay(ctx context.Context, e env) error {
	fs := newFlags("replay", replayUsage, e)
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	var in io.Reader = e.stdin
	switch fs.NArg() {
	case 0:
	case 1:
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	default:
		return usageError("takes at most one transcript file")
	}
	b, err := io.ReadAll(io.LimitReader(in, 64<<20))
	if err != nil {
		return err
	}
	return replay(b, e.stdout)
}

// replayer runs one transcript.
type replayer struct {
	dev   *client.Device
	now   time.Time
	out   *json.Encoder
	trust map[string]bool
}

func replay(b []byte, w io.Writer) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	r := &replayer{now: replayStart, out: json.NewEncoder(w), trust: map[string]bool{}}
	r.out.SetEscapeHTML(false)
	line := func() int { l, _ := d.InputPos(); return l }
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if r.dev == nil {
				return errors.New("no <transcript> element")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("transcript: %w", err)
		}
		switch t := tok.(type) {
		case xml.EndElement:
			depth--
		case xml.StartElement:
			depth++
			if depth == 1 {
				if t.Name.Local != "transcript" {
					return fmt.Errorf("line %d: the root element is <%s>, want <transcript>", line(), t.Name.Local)
				}
				acct, err := jid.Parse(attrOf(t, "account"))
				if err != nil || acct.Resourcepart() == "" {
					return fmt.Errorf("line %d: <transcript account='…'> must be a full JID (account/resource)", line())
				}
				n := 0
				r.dev = client.NewDevice(client.DeviceConfig{
					Account:      acct,
					Trust:        func(p jid.JID) bool { return r.trust[p.Bare().String()] },
					NewMessageID: func() string { n++; return fmt.Sprintf("jmi-%d", n) },
				})
				continue
			}
			if depth != 2 {
				return fmt.Errorf("line %d: <%s> must be a child of <transcript>", line(), t.Name.Local)
			}
			if err := r.step(d, t, b, line()); err != nil {
				return fmt.Errorf("line %d: %w", line(), err)
			}
			depth-- // step consumed the element
		}
	}
}

func attrOf(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// step runs one instruction of the transcript.
func (r *replayer) step(d *xml.Decoder, t xml.StartElement, b []byte, line int) error {
	switch t.Name.Local {
	case "trust":
		j, err := jid.Parse(attrOf(t, "jid"))
		if err != nil {
			return fmt.Errorf("<trust jid='%s'>: %v", attrOf(t, "jid"), err)
		}
		r.trust[j.Bare().String()] = true
		return d.Skip()
	case "at":
		at, err := time.Parse(time.RFC3339Nano, attrOf(t, "t"))
		if err != nil {
			return fmt.Errorf("<at t='%s'>: not an RFC 3339 time", attrOf(t, "t"))
		}
		if at.Before(r.now) {
			return fmt.Errorf("<at t='%s'> goes back in time", attrOf(t, "t"))
		}
		for i := 0; i < 100000; i++ {
			dl := r.dev.NextDeadline()
			if dl.IsZero() || dl.After(at) {
				break
			}
			if dl.After(r.now) {
				r.now = dl
			}
			effs, _ := r.dev.Do(r.now, call.Tick{})
			r.print(effs)
		}
		r.now = at
		return d.Skip()
	case "recv":
		start := d.InputOffset()
		end := start
		for depth := 1; depth > 0; {
			end = d.InputOffset()
			tok, err := d.Token()
			if err != nil {
				return fmt.Errorf("<recv>: %v", err)
			}
			switch tok.(type) {
			case xml.StartElement:
				depth++
			case xml.EndElement:
				depth--
			}
		}
		stanza := bytes.TrimSpace(b[start:end])
		r.print(r.dev.Receive(r.now, stanza))
		return nil
	case "catchup-start":
		r.print(r.dev.StartCatchUp(r.now, attrOf(t, "queryid")))
		return d.Skip()
	case "catchup-end":
		r.print(r.dev.EndCatchUp(r.now))
		return d.Skip()
	case "do":
		in, err := action(t)
		if err != nil {
			return err
		}
		effs, err := r.dev.Do(r.now, in)
		if err != nil {
			return err
		}
		r.print(effs)
		return d.Skip()
	}
	return fmt.Errorf("unknown instruction <%s>", t.Name.Local)
}

// action reads a <do/>.
func action(t xml.StartElement) (call.Input, error) {
	id := attrOf(t, "id")
	var reason *jmi.Reason
	if c := attrOf(t, "reason"); c != "" {
		reason = &jmi.Reason{Condition: jmi.Condition(c)}
	}
	switch a := attrOf(t, "action"); a {
	case "propose":
		to, err := jid.Parse(attrOf(t, "to"))
		if err != nil {
			return nil, fmt.Errorf("<do action='propose' to='%s'>: %v", attrOf(t, "to"), err)
		}
		media := attrOf(t, "media")
		if media == "" {
			media = "audio"
		}
		var descs []jmi.Description
		for _, m := range strings.Split(media, ",") {
			descs = append(descs, jmi.RTP(strings.TrimSpace(m)))
		}
		return call.UserPropose{To: to, ID: id, Descriptions: descs}, nil
	case "proceed":
		return call.UserProceed{ID: id}, nil
	case "reject":
		return call.UserReject{ID: id, Reason: reason}, nil
	case "retract":
		return call.UserRetract{ID: id, Reason: reason}, nil
	case "finish":
		return call.UserFinish{ID: id, Reason: reason}, nil
	default:
		return nil, fmt.Errorf("<do action='%s'>: want propose, proceed, reject, retract or finish", a)
	}
}

func (r *replayer) print(effs []call.Effect) {
	for _, e := range effs {
		switch e := e.(type) {
		case call.Notify:
			_ = r.out.Encode(e.Event)
		case call.Send:
			b, err := r.dev.Stanza(e)
			if err != nil {
				b = []byte("error: " + err.Error())
			}
			_ = r.out.Encode(map[string]string{"send": string(b)})
		case call.SendPresence:
			b, _ := r.dev.Presence(e)
			_ = r.out.Encode(map[string]string{"presence": string(b)})
		}
	}
}
