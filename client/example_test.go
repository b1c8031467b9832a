package client_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/client"
	"mellium.im/xmpp/jid"
)

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
