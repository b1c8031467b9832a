// Package client binds one XMPP account to the XEP-0353 call engine (package
// call) through mellium.im/xmpp: it logs in (STARTTLS, direct TLS, or
// plaintext to a loopback address only), binds the requested resource,
// enables carbons (XEP-0280), advertises urn:xmpp:jingle-message:0 in disco,
// catches up with the archive (XEP-0313) on connect and after every
// reconnect, refuses forged input, and sends what the engine asks for.
//
// # Using it
//
//	c, err := client.Dial(ctx, client.Config{
//		JID:      jid.MustParse("juliet@capulet.example/phone"),
//		Password: password,
//	})
//	...
//	for ev := range c.Events() {
//		switch ev.Type {
//		case call.EventIncoming:
//			c.CallByID(ev.ID).Answer(ctx)
//		case call.EventProceeded:
//			sid, peer, ok, _ := c.CallByID(ev.ID).Jingle(ctx) // start the media session
//		}
//	}
//
// Client.Call places a call and returns its *Call; CallByID gives the Call
// of any session id an event names. A Call answers, declines, withdraws or
// hangs up, and tells what a Jingle session needs. Every method that blocks takes
// a context, and all are safe for concurrent use.
//
// # Delivery of events
//
// Events arrive on the channel returned by Events in the order the engine
// produced them, one goroutine feeding them: none is dropped and none is
// reordered. They queue up while nobody reads, so the client never blocks on
// a slow reader. When the client stops on its own (Err), the channel closes
// after the events queued before it stopped; Close returns only when every
// goroutine of the client has returned, the one that delivers events
// included, dropping the events nobody read and closing the channel. When
// Config.Recorder is set, each event is recorded before it is queued, so a
// call history holds everything the user was shown.
//
// # Actions
//
// An action (Call, Answer, Decline, Withdraw, HangUp) returns nil if and
// only if it happened: one whose context ends, or whose client closes,
// while it waits for the loop does not happen and returns the context's
// error or ErrClosed; once the loop has begun it, the caller waits for it to
// end whatever its context says.
//
// # Connection status
//
// Status tells whether the client is online, reconnecting (and why), failed
// or closed, with a channel closed at the next change. A password the
// server refuses at a reconnect (ErrAuth) or a <conflict/> (ErrConflict)
// stops the client: the status is ConnFailed, Err says why, Events closes.
//
// # Inside an application's own session
//
// An application that runs its own mellium.im/xmpp session, with its own
// mux, roster, carbons and history handlers, makes its client with New
// instead of Dial and plugs it in as mellium's own packages plug in:
// Handle(c) registers it in the mux for the JMI messages of both
// namespaces (chat and normal) and the error bounces of what it sent, its
// carbons.Handler passes carbons on to c.HandleCarbon, its
// history.NewHandler(c) passes archive results on, HandleRoster(c, push)
// takes the place of its roster.Handle (so that trust follows the roster
// pushes), and c implements info.FeatureIter, so the mux's disco lists
// JMI. c.Serve(s, mux) serves the session; Run sets the device up and
// sends on it until its context ends or the session ends (then it returns
// ErrSessionEnded with the reason). The sender checks are those of Dial's
// stream: the same Device reads every stanza (see Example_bot).
//
// Dial's own session is open to a media stack on the same resource:
// Config.MuxOptions for its handlers (an IQ goes to the one registered for
// it before the client's own answers), Config.Features for disco#info and
// the capabilities (XEP-0115) of every presence, Session and SendIQ to send.
//
// # Media
//
// With Config.Media the client carries the audio of its calls itself: the
// device that received <proceed/> sends session-initiate with the propose
// id as sid to the device that proceeded (XEP-0353 §3.6), which acknowledges
// it and sends session-accept; candidates trickle one per transport-info;
// a media.Session per call sends and hears G.711 over DTLS-SRTP. The Jingle
// session engine (jingle/session) decides every answer, and runs on the
// loop beside the call engine; media.Session does the network I/O of the
// audio. HangUp sends session-terminate and then <finish/>; either alone
// from the peer ends the call and its media; Close closes every media
// session. Call.MediaStats shows what ICE, DTLS and RTP did. The Jingle
// features are in disco#info and the capabilities only with media: Dino
// and Conversations offer a call button for them. In an application's own
// session (New), Handle(c) then also registers c for Jingle IQ sets.
//
// # How it works
//
// One goroutine reads the stream; its handler only copies the tokens of
// each <message/>, which mellium already decoded, and hands them to the
// loop (a mellium handler must not send), so each stanza is parsed once. One
// goroutine, the loop, owns the Device (the client's logic without the
// network, which "jmi replay" runs too) and with it the engine: it feeds it,
// sends what it asks in order, and runs its deadlines with one timer. When
// the stream drops, the client reconnects with backoff, sends what the user
// did while it was offline, and catches up from the last archive id it read
// (kept across restarts with Config.StateFile).
//
// # Trust
//
// By default a caller may make the device ring (and learn that it does)
// only with a presence subscription in the roster ("from" or "both"), as
// XEP-0353 §6 requires; Config.Trust replaces that rule. Calls from others
// are recorded silently. The roster is fetched at login and follows the
// server's roster pushes while the client runs; a push from anyone but our
// own account is refused (RFC 6121 §2.1.6).
//
// # IQs
//
// The client answers every IQ get and set addressed to it, from the raw
// attributes (a resource mellium cannot parse must not end the stream):
// disco#info, ping, roster pushes, and Jingle (XEP-0166) for calls answered
// here. Without Config.Media, a session-initiate for such a call is
// acknowledged and terminated with <unsupported-applications/>, and the
// call finished; a session-terminate ends the call as a <finish/> would
// (Dino hangs up only that way). Everything else gets
// <service-unavailable/>.
//
// # When the client stops on its own
//
// After a refused password at a reconnect (ErrAuth), or a <conflict/> stream error (another session logged in with the
// same full JID) the client does not log in again, which would start a
// fight between the two: it stops, Events closes and Err tells why. A
// Config.Recorder that fails does not stop it: the event is delivered and
// RecordErr tells the application, which must tell the user.
package client
