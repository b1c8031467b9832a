package client

import (
	"context"
	"encoding/xml"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/internal/prosodytest"
	"mellium.im/xmpp"
	"mellium.im/xmpp/carbons"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/history"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/roster"
	"mellium.im/xmpp/stanza"
)

// embeddedApp is an application with its own mellium session and mux, in
// which jmi is one part beside mellium's carbons, history and roster
// handlers.
type embeddedApp struct {
	jmi     *Client
	session *xmpp.Session
	mux     *mux.ServeMux
	carbons atomic.Int64 // carbons the application's own handler saw
	pushes  chan roster.Item
	served  chan error // what Serve returned
	ran     chan error // what Run returned
}

// newEmbeddedApp logs user/resource in with a session of its own, builds
// the application's mux and runs jmi on it until the test ends, trusting
// every caller.
func newEmbeddedApp(t *testing.T, w *world, user, resource string) *embeddedApp {
	t.Helper()
	return newEmbeddedAppWith(t, w, user, resource, Config{Trust: trustAll})
}

// newEmbeddedAppWith is newEmbeddedApp with cfg (its JID filled in).
func newEmbeddedAppWith(t *testing.T, w *world, user, resource string, cfg Config) *embeddedApp {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	addr := jid.MustParse(user + "@" + w.srv.Domain() + "/" + resource)
	s, err := dialSession(ctx, addr, prosodytest.Password(user), w.srv.Addr(), StartTLS, w.srv.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	cfg.JID = s.LocalAddr()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	app := &embeddedApp{jmi: c, session: s, pushes: make(chan roster.Item, 16), served: make(chan error, 1), ran: make(chan error, 1)}
	app.mux = mux.New(stanza.NSClient,
		// The application's own carbons handler, which passes each carbon
		// on to jmi after its own work.
		carbons.Handle(carbons.Handler{F: func(m stanza.Message, sent bool, inner xml.TokenReader) error {
			app.carbons.Add(1)
			return c.HandleCarbon(m, sent, inner)
		}}),
		history.Handle(history.NewHandler(c)),
		// The application's own roster, whose pushes jmi sees first.
		HandleRoster(c, func(ver string, item roster.Item) error {
			app.pushes <- item
			return nil
		}),
		Handle(c),
	)
	go func() { app.served <- c.Serve(s, app.mux) }()
	runCtx, stop := context.WithCancel(context.Background())
	go func() { app.ran <- c.Run(runCtx, s) }()
	t.Cleanup(func() {
		stop()
		<-app.ran
		s.Close()
		s.Conn().Close()
		<-app.served
		for range c.Events() {
		}
	})
	select {
	case <-c.Ready():
	case <-time.After(20 * time.Second):
		t.Fatal("the embedded client's catch-up did not end")
	}
	return app
}

// TestE2EEmbedded: jmi inside an application's own session, its Handle in
// one mux with mellium's carbons.Handle and history handler. The archive
// catch-up finds a call missed before it came online (through history's
// handler), a call rings (through the mux), the answer on the account's
// other device arrives as a carbon through the application's carbons
// handler, a forged carbon is refused, and the mux lists JMI for disco.
func TestE2EEmbedded(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w.addUsers(t, "tybalt")
	romeo := w.device(t, "romeo", "orchard")
	tablet := w.device(t, "juliet", "tablet")
	juliet := jid.MustParse("juliet@" + w.srv.Domain())

	// A call withdrawn before the application comes online: only the
	// archive tells it.
	missed, err := callID(romeo.Call(ctx, juliet))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, tablet, "the first call", is(call.EventIncoming, missed), 5*time.Second)
	if err := romeo.CallByID(missed).Withdraw(ctx, nil); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, tablet, "the first call withdrawn", is(call.EventMissed, missed), 5*time.Second)

	app := newEmbeddedApp(t, w, "juliet", "app")
	waitEvent(t, app.jmi, "the call missed, from the archive", is(call.EventMissed, missed), 5*time.Second)

	var features []string
	app.mux.ForFeatures("", func(f info.Feature) error { features = append(features, f.Var); return nil })
	found := false
	for _, f := range features {
		found = found || f == jmi.NS
	}
	if !found {
		t.Errorf("the application's mux lists %v, without %s", features, jmi.NS)
	}

	id, err := callID(romeo.Call(ctx, juliet))
	if err != nil {
		t.Fatal(err)
	}
	waitEvent(t, app.jmi, "incoming", is(call.EventIncoming, id), 5*time.Second)
	waitEvent(t, tablet, "incoming on the tablet", is(call.EventIncoming, id), 5*time.Second)

	tybalt := w.device(t, "tybalt", "sword")
	forged := `<message to='juliet@` + w.srv.Domain() + `/app' type='chat'><sent xmlns='urn:xmpp:carbons:2'><forwarded xmlns='urn:xmpp:forward:0'>` +
		`<message from='juliet@` + w.srv.Domain() + `/tablet' to='romeo@` + w.srv.Domain() + `/orchard' type='chat'><proceed xmlns='urn:xmpp:jingle-message:0' id='` + id + `'/></message>` +
		`</forwarded></sent></message>`
	if err := tybalt.sendRaw(ctx, forged); err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, app.jmi, "the forged carbon refused", is(call.EventIgnored, ""), 5*time.Second)
	if ev.Device.Bare().String() != "tybalt@"+w.srv.Domain() {
		t.Errorf("ignored input attributed to %s", ev.Device)
	}

	if err := tablet.CallByID(id).Answer(ctx); err != nil {
		t.Fatal(err)
	}
	ev = waitEvent(t, app.jmi, "answered on the tablet", is(call.EventProceeded, id), 5*time.Second)
	if !ev.Elsewhere {
		t.Errorf("the answer on the tablet is not elsewhere: %+v", ev)
	}
	if app.carbons.Load() == 0 {
		t.Error("the application's carbons handler saw no carbon")
	}

	if err := tablet.CallByID(id).HangUp(ctx, nil); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, app.jmi, "hung up on the tablet", is(call.EventFinished, id), 5*time.Second)

	// jmi sends on the application's session: the application's device
	// answers the next call itself.
	id2, err := callID(romeo.Call(ctx, juliet))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-app.served:
		t.Fatalf("the application's Serve returned: %v", err)
	default:
	}
	waitEvent(t, app.jmi, "the next call", is(call.EventIncoming, id2), 5*time.Second)
	if err := app.jmi.CallByID(id2).Answer(ctx); err != nil {
		t.Fatal(err)
	}
	ev = waitEvent(t, romeo, "answered by the application", is(call.EventProceeded, id2), 5*time.Second)
	if ev.Device.Resourcepart() != "app" {
		t.Errorf("answered by %s, want the application's device", ev.Device)
	}
}

// TestE2EEmbeddedRoster: with Config.Trust nil, the trust of an embedded
// client follows the roster pushes the application's own roster handler
// gets (HandleRoster), as Dial's does: Romeo, approved on Juliet's desk,
// rings; removed, he rings no more. The application's handler sees each
// push; a stranger's forged push is refused before it, and trusts nobody.
func TestE2EEmbeddedRoster(t *testing.T) {
	w := newWorld(t)
	d := w.srv.Domain()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	app := newEmbeddedAppWith(t, w, "juliet", "app", Config{})
	desk := w.raw(t, "juliet", "desk") // Juliet's other device
	if _, err := desk.IQ(ctx, "roster", `<iq type='get' id='roster'><query xmlns='jabber:iq:roster'/></iq>`); err != nil {
		t.Fatal(err) // now it gets the roster pushes too
	}
	romeo := w.device(t, "romeo", "orchard")
	juliet := jid.MustParse("juliet@" + d)

	tybalt := w.raw(t, "tybalt", "sword")
	got, err := tybalt.IQ(ctx, "push", `<iq type='set' id='push' to='juliet@`+d+`/app'><query xmlns='jabber:iq:roster'><item jid='tybalt@`+d+`' subscription='both'/></query></iq>`)
	if err != nil {
		t.Fatal(err)
	}
	if got.Type() != "error" || !strings.Contains(got.Raw, "service-unavailable") {
		t.Errorf("a forged roster push was answered %s", got.Raw)
	}
	if app.jmi.rosterTrust(jid.MustParse("tybalt@" + d)) {
		t.Error("the forged push made tybalt trusted")
	}
	select {
	case item := <-app.pushes:
		t.Errorf("the application's roster handler got the forged push: %+v", item)
	default:
	}
	if rang, _ := rangOrMissed(t, ctx, romeo, app.jmi, juliet); rang {
		t.Fatal("Romeo rang before he was a contact")
	}

	// Juliet approves Romeo's subscription on her desk: the server pushes
	// the item to every device.
	if err := romeo.sendRaw(ctx, `<presence type='subscribe' to='juliet@`+d+`'/>`); err != nil {
		t.Fatal(err)
	}
	if err := desk.Send(`<presence type='subscribed' to='romeo@` + d + `'/>`); err != nil {
		t.Fatal(err)
	}
	waitPush(t, app, "romeo@"+d, "from")
	if rang, heard := rangOrMissed(t, ctx, romeo, app.jmi, juliet); !rang || !heard {
		t.Errorf("approved Romeo: rang %v, heard ringing %v; want both", rang, heard)
	}

	// Juliet removes Romeo on her desk: he rings no more.
	if _, err := desk.IQ(ctx, "remove", `<iq type='set' id='remove'><query xmlns='jabber:iq:roster'><item jid='romeo@`+d+`' subscription='remove'/></query></iq>`); err != nil {
		t.Fatal(err)
	}
	waitPush(t, app, "romeo@"+d, "remove")
	if rang, heard := rangOrMissed(t, ctx, romeo, app.jmi, juliet); rang || heard {
		t.Errorf("removed Romeo: rang %v, heard ringing %v; want neither", rang, heard)
	}
}

// waitPush waits until the application's roster handler got the push of
// who with subscription sub.
func waitPush(t *testing.T, app *embeddedApp, who, sub string) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case item := <-app.pushes:
			if item.JID.String() == who && item.Subscription == sub {
				return
			}
		case <-deadline:
			t.Fatalf("no roster push of %s with subscription %s", who, sub)
		}
	}
}

// TestE2EEmbeddedBounce: the server's bounce of a propose the embedded
// client sent on the application's session (a call to an account that does
// not exist) ends the call as failed, as on Dial's own stream.
func TestE2EEmbeddedBounce(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	app := newEmbeddedApp(t, w, "juliet", "app")
	id, err := callID(app.jmi.Call(ctx, jid.MustParse("nobody@"+w.srv.Domain())))
	if err != nil {
		t.Fatal(err)
	}
	ev := waitEvent(t, app.jmi, "the bounced call ended", is(call.EventFinished, id), 10*time.Second)
	if !ev.Failed || ev.Reason == "" {
		t.Errorf("the bounced call ended %+v, want failed with the error's condition", ev)
	}
	if info, ok, err := app.jmi.CallByID(id).Info(ctx); err != nil || !ok || info.State != call.StateEnded {
		t.Errorf("the call after its bounce: %+v, %v, %v", info, ok, err)
	}
}

// TestE2EEmbeddedSessionEnds: when the application's session ends under
// the embedded client (another session takes its resource, and the server
// ends the stream with <conflict/>), Run returns with ErrSessionEnded and
// the reason, the status is failed with it, Events closes, and every
// goroutine of the client has ended (Run closed it).
func TestE2EEmbeddedSessionEnds(t *testing.T) {
	w := newWorld(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	app := newEmbeddedApp(t, w, "juliet", "app")
	other, err := dialSession(ctx, app.session.LocalAddr(), prosodytest.Password("juliet"), w.srv.Addr(), StartTLS, w.srv.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close(); other.Conn().Close() })
	go other.Serve(nil)
	select {
	case err := <-app.ran:
		if !errors.Is(err, ErrSessionEnded) || !strings.Contains(err.Error(), "conflict") {
			t.Errorf("Run returned %v, want ErrSessionEnded with the conflict", err)
		}
		app.ran <- err // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return when the session ended")
	}
	if st, _ := app.jmi.Status(); st.State != ConnFailed || !errors.Is(st.Err, ErrSessionEnded) {
		t.Errorf("status %v (%v), want failed with ErrSessionEnded", st.State, st.Err)
	}
	if !errors.Is(app.jmi.Err(), ErrSessionEnded) {
		t.Errorf("Err() = %v", app.jmi.Err())
	}
	// Run has closed the client: its goroutines are gone, and Events is
	// closed (after what was queued).
	for range app.jmi.Events() {
	}
	select {
	case <-app.jmi.loopDone:
	default:
		t.Error("the client's loop still runs after Run returned")
	}
	if err := app.jmi.CallByID("x").Answer(ctx); !errors.Is(err, ErrClosed) {
		t.Errorf("an action after the end: %v, want ErrClosed", err)
	}
}

var _ info.FeatureIter = (*Client)(nil)
var _ mux.MessageHandler = (*Client)(nil)
