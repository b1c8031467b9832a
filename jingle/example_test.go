package jingle_test

import (
	"fmt"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/jingle"
)

// Read a candidate that Dino trickles in a transport-info: component 2
// (RTCP) is kept as read; a receiver that multiplexes RTP and RTCP drops it.
func ExampleParse() {
	iq, err := jingle.Parse([]byte(`<iq from='juliet@capulet.example/dino' to='romeo@montague.example/orchard' type='set' id='t1'>
  <jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='5b1c0b8e'>
    <content creator='initiator' name='audio'>
      <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='218L' pwd='asd88fgpdd777uzjYhagZg'>
        <candidate component='2' foundation='2' generation='0' id='x1' ip='203.0.113.7' network='0' port='61432'
                   priority='1677721854' protocol='udp' rel-addr='192.168.1.20' rel-port='49153' type='srflx'/>
      </transport>
    </content>
  </jingle>
</iq>`))
	if err != nil {
		panic(err)
	}
	j := iq.Jingle
	c := j.Content("audio").Transport.Candidates[0]
	fmt.Println(j.Action, j.SID, "from", iq.From)
	fmt.Printf("component %d %s %s %s:%d via %s:%d\n", c.Component, c.Protocol, c.Type, c.IP, c.Port, c.RelAddr, c.RelPort)
	// Output:
	// transport-info 5b1c0b8e from juliet@capulet.example/dino
	// component 2 udp srflx 203.0.113.7:61432 via 192.168.1.20:49153
}

// Hang up: a session-terminate with the reason success, in an IQ set to the
// peer's full JID; the peer acknowledges it with Result.
func ExampleMarshalIQ() {
	iq := jingle.IQ{
		ID:   "t2",
		Type: "set",
		To:   "juliet@capulet.example/phone",
		Jingle: &jingle.Jingle{
			Action: jingle.ActionSessionTerminate,
			SID:    "ca3cf894-5325-482f-a412-a6e9f832298d",
			Reason: &jmi.Reason{Condition: jmi.Success},
		},
	}
	out, err := jingle.MarshalIQ(iq)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(out))
	ack, _ := jingle.MarshalIQ(jingle.IQ{ID: "t2", Type: "set", From: "romeo@montague.example/orchard", To: iq.To, Jingle: iq.Jingle}.Result())
	fmt.Println(string(ack))
	// Output:
	// <iq to="juliet@capulet.example/phone" type="set" id="t2"><jingle xmlns="urn:xmpp:jingle:1" action="session-terminate" sid="ca3cf894-5325-482f-a412-a6e9f832298d"><reason><success></success></reason></jingle></iq>
	// <iq from="juliet@capulet.example/phone" to="romeo@montague.example/orchard" type="result" id="t2"></iq>
}

// Errors name the problem and match with errors.Is.
func ExampleParse_errors() {
	_, err := jingle.Parse([]byte(`<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='s'><content name='0'>
  <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'><candidate component='1' foundation='1' ip='192.0.2.1' port='70000' priority='1' protocol='udp' type='host'/></transport>
</content></jingle>`))
	fmt.Println(err)
	// Output:
	// jingle: port out of range: port="70000"
}
