package jmi_test

import (
	"fmt"

	"github.com/jmi-xmpp/jmi"
	"mellium.im/xmpp/jid"
)

// Build a propose for an audio and video call and wrap it in a message as
// XEP-0353 asks: type chat, with a <store/> hint, to the callee's bare JID.
func ExampleMarshalMessage() {
	propose := &jmi.Propose{
		ID:           "ca3cf894-5325-482f-a412-a6e9f832298d", // jmi.NewID() in real code
		Descriptions: []jmi.Description{jmi.RTP("audio"), jmi.RTP("video")},
	}
	out, err := jmi.MarshalMessage(propose, jid.JID{}, jid.MustParse("juliet@capulet.example"), "")
	if err != nil {
		panic(err)
	}
	fmt.Println(string(out))
	// Output:
	// <message to="juliet@capulet.example" type="chat"><propose xmlns="urn:xmpp:jingle-message:0" id="ca3cf894-5325-482f-a412-a6e9f832298d"><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio"></description><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="video"></description></propose><store xmlns="urn:xmpp:hints"></store></message>
}

// Read what a peer sent: here Dino's legacy <accept/>, without type or
// <store/>, which tells Juliet's other devices that she answered.
func ExampleParse() {
	m, err := jmi.Parse([]byte(`<message from='juliet@capulet.example/laptop' to='juliet@capulet.example'>
  <accept xmlns='urn:xmpp:jingle-message:0' id='5b1c0b8e'/>
</message>`))
	if err != nil {
		panic(err)
	}
	fmt.Println(m.Element.Kind(), m.Element.SessionID(), "from", m.From, "type", m.Type, "store", m.Store)
	// Output:
	// accept 5b1c0b8e from juliet@capulet.example/laptop type normal store false
}

// A reject that ends a crossed call carries <tie-break/> and the reason
// expired (XEP-0353 §4.1).
func ExampleReject() {
	r := &jmi.Reject{ID: "fecbea35", Reason: &jmi.Reason{Condition: jmi.Expired}, TieBreak: true}
	out, _ := jmi.Marshal(r)
	fmt.Println(string(out))
	// Output:
	// <reject xmlns="urn:xmpp:jingle-message:0" id="fecbea35"><reason xmlns="urn:xmpp:jingle:1"><expired></expired></reason><tie-break></tie-break></reject>
}

// Errors name the problem and match with errors.Is.
func ExampleParse_errors() {
	_, err := jmi.Parse([]byte(`<message to='romeo@montague.example'><proceed xmlns='urn:xmpp:jingle-message:0'/></message>`))
	fmt.Println(err)
	// Output:
	// jmi: missing or empty id in <proceed>
}
