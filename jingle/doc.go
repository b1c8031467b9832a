// Package jingle implements the wire format of the Jingle elements that an
// XMPP audio or video call carries once XEP-0353 (package jmi) has started
// it: the caller's device that received <proceed/> sends session-initiate to
// the full JID that proceeded, with the propose id as sid (XEP-0353 §3.6).
//
// It covers, in the subset that deployed clients (Conversations, Dino, Monal)
// put on the wire:
//
//   - XEP-0166 Jingle: <jingle/> with action, sid, initiator and responder,
//     <content/> with creator, name and senders, <reason/> (jmi.Reason, with
//     the 17 conditions of package jmi);
//   - XEP-0167 Jingle RTP Sessions: <description/>, <payload-type/> with its
//     parameters, <rtcp-mux/>, <encryption/> (kept whole);
//   - XEP-0176 Jingle ICE-UDP Transport Method: ufrag, pwd, <candidate/> with
//     every attribute;
//   - XEP-0320 Use of DTLS-SRTP in Jingle Sessions: <fingerprint/> with hash
//     and setup;
//   - XEP-0338 Jingle Grouping Framework: <group semantics='BUNDLE'/>;
//   - XEP-0339 Source-Specific Media Attributes in Jingle: <source/> and
//     <ssrc-group/>;
//   - XEP-0293 Jingle RTP Feedback Negotiation and XEP-0294 Jingle RTP
//     Header Extensions Negotiation: <rtcp-fb/> and <rtp-hdrext/>.
//
// The package does no I/O and knows nothing of sessions. Parse, ReadIQ,
// DecodeIQ and Decode read; Marshal, MarshalIQ and the TokenReader,
// WriteXML and MarshalXML methods write. IQ is the <iq/> envelope with its
// Result and ErrorReply answers.
//
// # Reading leniently, writing strictly
//
// Reading accepts what deployed clients send: no initiator (Conversations
// and Monal never write it), no senders (both), no creator (initiator),
// Conversations' ICE options in its own namespace (NSICEOption), candidates
// for component 2 (Dino) and over TCP (Monal), which are kept for the
// receiver to drop, a fingerprint without setup, prefixed namespaces, and
// unknown children, kept whole in the Extra fields. Writing always puts the
// creator and senders, every attribute of a candidate that XEP-0176
// requires, and refuses what Validate refuses.
//
// A session-initiate as Dino 0.4.2 sends it, shortened:
//
//	<iq from='juliet@capulet.example/dino' to='romeo@montague.example/orchard' type='set' id='…'>
//	  <jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' sid='PROPOSE-ID' initiator='juliet@capulet.example/dino'>
//	    <content senders='both' name='audio' creator='initiator'>
//	      <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>
//	        <payload-type id='111' name='opus' clockrate='48000' channels='2'>
//	          <parameter name='useinbandfec' value='1'/>
//	        </payload-type>
//	        <payload-type id='0' name='PCMU' clockrate='8000'/>
//	        <rtcp-mux/>
//	      </description>
//	      <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='218L' pwd='…'>
//	        <fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>FD:72:…:85</fingerprint>
//	      </transport>
//	    </content>
//	  </jingle>
//	</iq>
//
// # Limits
//
// One hostile stanza can take only so much: MaxStanzaSize bytes, MaxTokens
// tokens, MaxDepth levels, MaxContents contents, MaxPayloadTypes payload
// types per description, MaxCandidates candidates per transport, MaxItems
// of any other repeated child, MaxSIDLength bytes per sid, id or content
// name. Each bad input has its exported error (ErrMissingSID, ErrBadPort,
// ErrBadSetup, ErrTooManyCandidates, …); match them with errors.Is.
package jingle
