package client

import (
	"context"
	"encoding/xml"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/internal/prosodytest"
	"mellium.im/xmpp/carbons"
	"mellium.im/xmpp/disco/info"
	"mellium.im/xmpp/history"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/stanza"
)

// embeddedApp is an application with its own mellium session and mux, in
// which jmi is one part beside mellium's carbons and history handlers.
type embeddedApp struct {
	jmi     *Client
	mux     *mux.ServeMux
	carbons atomic.Int64 // carbons the application's own handler saw
	served  chan error
}

// newEmbeddedApp logs user/resource in with a session of its own, builds
// the application's mux and runs jmi on it until the test ends.
func newEmbeddedApp(t *testing.T, w *world, user, resource string) *embeddedApp {
	t.Helper()
	return newEmbeddedAppWith(t, w, user, resource, Config{Trust: trustAll})
}

// newEmbeddedAppWith is newEmbeddedApp with cfg (its JID is the session's).
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
	app := &embeddedApp{jmi: c, served: make(chan error, 1)}
	app.mux = mux.New(stanza.NSClient,
		// The application's own carbons handler, which passes each carbon
		// on to jmi after its own work.
		carbons.Handle(carbons.Handler{F: func(m stanza.Message, sent bool, inner xml.TokenReader) error {
			app.carbons.Add(1)
			return c.HandleCarbon(m, sent, inner)
		}}),
		history.Handle(history.NewHandler(c)),
		Handle(c),
	)
	go func() { app.served <- s.Serve(app.mux) }()
	runCtx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- c.Run(runCtx, s) }()
	t.Cleanup(func() {
		stop()
		<-ran
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

var _ info.FeatureIter = (*Client)(nil)
var _ mux.MessageHandler = (*Client)(nil)
