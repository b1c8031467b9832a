package slixpeer_test

import (
	"context"
	"fmt"
	"time"

	"github.com/jmi-xmpp/jmi/internal/slixpeer"
)

// A slixmpp device of Juliet that answers the first call and reports it.
// It needs a server, so it only compiles here.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := slixpeer.Start(ctx, slixpeer.Options{
		JID: "juliet@localhost/phone", Password: "pw", Server: "127.0.0.1:5222",
		CAFile: "localhost.crt", Role: "answer", Events: 3,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Stop()
	for l := range p.Lines {
		fmt.Printf("%+v\n", l)
	}
}
