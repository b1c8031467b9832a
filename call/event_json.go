package call

import (
	"encoding/json"
	"fmt"
	"time"

	"mellium.im/xmpp/jid"
)

// eventJSON is the JSON schema of an event, shared by "jmi replay" and the
// --json output of the jmi command.
type eventJSON struct {
	Event      string   `json:"event"`
	Ignored    string   `json:"ignored,omitempty"`
	ID         string   `json:"id,omitempty"`
	Peer       string   `json:"peer,omitempty"`
	Direction  string   `json:"direction,omitempty"`
	Device     string   `json:"device,omitempty"`
	Reason     string   `json:"reason,omitempty"`
	Text       string   `json:"text,omitempty"`
	TieBreak   bool     `json:"tie_break,omitempty"`
	MigratedTo string   `json:"migrated_to,omitempty"`
	Elsewhere  bool     `json:"elsewhere,omitempty"`
	Failed     bool     `json:"failed,omitempty"`
	Media      []string `json:"media,omitempty"`
	At         string   `json:"at,omitempty"`
	Count      int      `json:"count,omitempty"`
}

// MarshalJSON writes the event as one JSON object: event (the type's name),
// for an ignored event its class (ignored: IgnoreReason's name, such as
// "wrong-party"), id, peer, and where they apply direction, device, reason
// (for an ignored event the words), text, tie_break, migrated_to, elsewhere,
// failed, media, at (RFC 3339, UTC) and count.
func (e Event) MarshalJSON() ([]byte, error) {
	v := eventJSON{
		Event: e.Type.String(), ID: e.ID, Reason: e.Reason, Text: e.Text,
		TieBreak: e.TieBreak, MigratedTo: e.MigratedTo, Elsewhere: e.Elsewhere, Failed: e.Failed, Media: e.Media, Count: e.Count,
	}
	if e.Ignored != IgnoreNone {
		v.Ignored = e.Ignored.String()
	}
	if !e.Peer.Equal(jid.JID{}) {
		v.Peer = e.Peer.String()
	}
	if !e.Device.Equal(jid.JID{}) {
		v.Device = e.Device.String()
	}
	switch e.Direction {
	case Incoming:
		v.Direction = "incoming"
	case Outgoing:
		v.Direction = "outgoing"
	}
	if !e.At.IsZero() {
		v.At = e.At.UTC().Format(time.RFC3339Nano)
	}
	return json.Marshal(v)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (e *Event) UnmarshalJSON(b []byte) error {
	var v eventJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	var ev Event
	for t := EventUnknown; int(t) < len(eventNames); t++ {
		if t.String() == v.Event {
			ev.Type = t
		}
	}
	if ev.Type == EventUnknown {
		return fmt.Errorf("call: unknown event %q", v.Event)
	}
	if v.Ignored != "" {
		var ok bool
		if ev.Ignored, ok = ParseIgnoreReason(v.Ignored); !ok {
			return fmt.Errorf("call: unknown ignored class %q", v.Ignored)
		}
	}
	var err error
	if v.Peer != "" {
		if ev.Peer, err = jid.Parse(v.Peer); err != nil {
			return fmt.Errorf("call: peer: %w", err)
		}
	}
	if v.Device != "" {
		if ev.Device, err = jid.Parse(v.Device); err != nil {
			return fmt.Errorf("call: device: %w", err)
		}
	}
	switch v.Direction {
	case "incoming":
		ev.Direction = Incoming
	case "outgoing":
		ev.Direction = Outgoing
	}
	if v.At != "" {
		if ev.At, err = time.Parse(time.RFC3339Nano, v.At); err != nil {
			return fmt.Errorf("call: at: %w", err)
		}
	}
	ev.ID, ev.Reason, ev.Text, ev.TieBreak, ev.MigratedTo, ev.Elsewhere, ev.Media, ev.Count = v.ID, v.Reason, v.Text, v.TieBreak, v.MigratedTo, v.Elsewhere, v.Media, v.Count
	ev.Failed = v.Failed
	*e = ev
	return nil
}
