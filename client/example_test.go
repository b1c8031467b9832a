package client_test

import (
	"context"
	"crypto/tls"
	"encoding/xml"
	"fmt"
	"log"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/client"
	"mellium.im/sasl"
	"mellium.im/xmpp"
	"mellium.im/xmpp/carbons"
	"mellium.im/xmpp/history"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/mux"
	"mellium.im/xmpp/roster"
	"mellium.im/xmpp/stanza"
)

// The Go API section of the README, kept equal to it by
// TestReadmeGoAPI. (It needs a server, so it only compiles here.)
func Example_readme() {
	run := func(ctx context.Context, password, dataDir string, history client.Recorder, startMedia func(sid string, device jid.JID)) error {
		// README begin
		c, err := client.Dial(ctx, client.Config{
			JID:       jid.MustParse("juliet@capulet.example/phone"),
			Password:  password,
			StateFile: filepath.Join(dataDir, "phone.json"), // where the archive catch-up reads on from
			Recorder:  history,                              // e.g. a *calllog.Log: every event recorded before it is shown
			Logger:    slog.Default(),                       // ignored input is logged with its reason
		})
		if err != nil {
			return err // errors.Is(err, client.ErrAuth): the password was refused
		}
		defer c.Close() // waits for every goroutine; events not read by then are dropped

		if _, err := c.Call(ctx, jid.MustParse("romeo@montague.example"), "audio"); err != nil { // every device of Romeo
			return err
		}
		for ev := range c.Events() { // in order, none dropped while the client runs
			switch ev.Type {
			case call.EventIncoming: // this device rings (only for contacts, unless Config.Trust says otherwise)
				if err := c.CallByID(ev.ID).Answer(ctx); err != nil { // nil if and only if it answered
					log.Print(err)
				}
			case call.EventProceeded: // answered: start the Jingle session (Config.MuxOptions, SendIQ)
				if sid, device, ok, _ := c.CallByID(ev.ID).Jingle(ctx); ok {
					startMedia(sid, device)
				}
			case call.EventMissed, call.EventRejected, call.EventRetracted, call.EventFinished:
				log.Print("call ", ev.ID, " ended: ", ev.Type) // ev.MigratedTo: it goes on under that id
			}
		}
		return c.Err() // the client stopped on its own: ErrAuth after a reconnect, or ErrConflict
		// README end
	}
	_ = run
}

// A bot on its own mellium session, with its own mux in which jmi is one
// part beside mellium's carbons and history handlers, that answers every
// call from a contact and hangs up after a minute. It reads the events until
// the channel closes. (It needs a server, so it only compiles here.)
func Example_bot() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := jid.MustParse("bot@capulet.example/jmi")
	s, err := xmpp.DialClientSession(ctx, addr,
		xmpp.BindResource(),
		xmpp.StartTLS(&tls.Config{ServerName: addr.Domainpart()}),
		xmpp.SASL("", "secret", sasl.ScramSha256Plus, sasl.ScramSha256),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Conn().Close()
	defer s.Close()
	// The session binds its own resource: jmi takes the address it got.
	c, err := client.New(client.Config{JID: s.LocalAddr()})
	if err != nil {
		log.Fatal(err)
	}
	m := mux.New(stanza.NSClient,
		carbons.Handle(carbons.Handler{F: func(msg stanza.Message, sent bool, inner xml.TokenReader) error {
			// The bot's own use of carbons would go here.
			return c.HandleCarbon(msg, sent, inner)
		}}),
		history.Handle(history.NewHandler(c)),
		// The bot's roster: jmi's trust follows its pushes.
		client.HandleRoster(c, func(ver string, item roster.Item) error { return nil }),
		client.Handle(c),
	)
	go c.Serve(s, m) // s.Serve(m), and when it returns Run does too
	go func() {
		// Run returns when ctx ends or the session ends (client.ErrSessionEnded
		// and why), and closes c, which closes Events.
		if err := c.Run(ctx, s); err != nil && ctx.Err() == nil {
			log.Print(err)
		}
	}()
	for ev := range c.Events() {
		switch ev.Type {
		case call.EventIncoming:
			if err := c.CallByID(ev.ID).Answer(ctx); err != nil {
				log.Print(err)
			}
		case call.EventProceeded:
			if !ev.Elsewhere {
				id := ev.ID
				time.AfterFunc(time.Minute, func() { c.CallByID(id).HangUp(ctx, nil) })
			}
		case call.EventFinished:
			fmt.Println("call", ev.ID, "ended:", ev.Reason)
		}
	}
}

// Answer every call from a contact, and hang up after a minute. (It needs a
// server, so it only compiles here.)
func Example_answeringMachine() {
	ctx := context.Background()
	c, err := client.Dial(ctx, client.Config{
		JID:      jid.MustParse("juliet@capulet.example/phone"),
		Password: "secret",
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	for ev := range c.Events() {
		switch ev.Type {
		case call.EventIncoming:
			if err := c.CallByID(ev.ID).Answer(ctx); err != nil {
				log.Print(err)
			}
		case call.EventProceeded:
			if sid, device, ok, _ := c.CallByID(ev.ID).Jingle(ctx); ok {
				fmt.Println("start Jingle session", sid, "with", device)
				time.AfterFunc(time.Minute, func() { c.CallByID(ev.ID).HangUp(ctx, nil) })
			}
		case call.EventFinished:
			fmt.Println("call", ev.ID, "ended:", ev.Reason)
		}
	}
}

// Place a call and wait for the answer.
func ExampleClient_Call() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := client.Dial(ctx, client.Config{JID: jid.MustParse("romeo@montague.example/orchard"), Password: "secret"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	h, err := c.Call(ctx, jid.MustParse("juliet@capulet.example"), "audio", "video")
	if err != nil {
		log.Fatal(err)
	}
	for ev := range c.Events() {
		if ev.ID != h.ID() {
			continue
		}
		switch ev.Type {
		case call.EventRinging:
			fmt.Println("ringing on", ev.Device)
		case call.EventProceeded:
			fmt.Println("answered on", ev.Device)
			return
		case call.EventRejected, call.EventRetracted:
			fmt.Println("not answered:", ev.Type, ev.Reason)
			return
		}
	}
}
