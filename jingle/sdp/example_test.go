package sdp_test

import (
	"fmt"
	"strings"

	"github.com/jmi-xmpp/jmi/jingle"
	"github.com/jmi-xmpp/jmi/jingle/sdp"
)

// A session-initiate as Dino sends it, shortened, becomes the offer that a
// pion PeerConnection takes with SetRemoteDescription: a BUNDLE group is
// added (Dino sends none), the SRTP-SDES key is dropped, and of the three
// candidates only the UDP one of component 1 stays.
func ExampleFromJingle() {
	iq, err := jingle.Parse([]byte(`<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='a73sjjvkla37jfea'>
  <content creator='initiator' name='audio' senders='both'>
    <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>
      <payload-type id='111' name='opus' clockrate='48000' channels='2'><parameter name='useinbandfec' value='1'/></payload-type>
      <payload-type id='0' name='PCMU' clockrate='8000'/>
      <encryption><crypto tag='1' crypto-suite='AES_CM_128_HMAC_SHA1_80' key-params='inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz'/></encryption>
      <rtcp-mux/>
    </description>
    <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='218L' pwd='asd88fgpdd777uzjYhagZg'>
      <fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>FD:72:1E:9A:40:5B</fingerprint>
      <candidate component='1' foundation='1' generation='0' id='c1' ip='192.0.2.1' port='4000' priority='2130706431' protocol='udp' type='host'/>
      <candidate component='2' foundation='1' generation='0' id='c2' ip='192.0.2.1' port='4001' priority='2130706430' protocol='udp' type='host'/>
      <candidate component='1' foundation='2' generation='0' id='c3' ip='192.0.2.1' port='9' priority='1518280447' protocol='tcp' type='host'/>
    </transport>
  </content>
</jingle>`))
	if err != nil {
		fmt.Println(err)
		return
	}
	offer, err := sdp.FromJingle(iq.Jingle, sdp.Initiator)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(strings.ReplaceAll(offer.SDP, "\r\n", "\n"))
	for _, d := range offer.Dropped {
		fmt.Println("dropped:", d)
	}
	// Output:
	// v=0
	// o=- 3891268239988342870 1 IN IP4 0.0.0.0
	// s=-
	// t=0 0
	// a=group:BUNDLE audio
	// m=audio 9 UDP/TLS/RTP/SAVPF 111 0
	// c=IN IP4 0.0.0.0
	// a=mid:audio
	// a=ice-ufrag:218L
	// a=ice-pwd:asd88fgpdd777uzjYhagZg
	// a=fingerprint:sha-256 FD:72:1E:9A:40:5B
	// a=setup:actpass
	// a=sendrecv
	// a=rtcp-mux
	// a=rtpmap:111 opus/48000/2
	// a=fmtp:111 useinbandfec=1
	// a=rtpmap:0 PCMU/8000
	// a=candidate:1 1 udp 2130706431 192.0.2.1 4000 typ host generation 0
	// dropped: content "audio": SRTP-SDES <encryption/> dropped: pion does DTLS-SRTP only
	// dropped: content "audio": candidate 2: jingle/sdp: candidate not used: component 2 (only component 1 is used, RTCP is multiplexed)
	// dropped: content "audio": candidate 3: jingle/sdp: candidate not used: protocol "tcp" (only udp is used)
}
