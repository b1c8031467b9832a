package calllog_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"mellium.im/xmpp/jid"

	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/calllog"
)

func Example() {
	dir, _ := os.MkdirTemp("", "calllog")
	defer os.RemoveAll(dir)
	l, err := calllog.Open(filepath.Join(dir, calllog.FileName))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer l.Close()
	at := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	romeo := jid.MustParse("romeo@example.net")
	l.Record(call.Event{Type: call.EventIncoming, ID: "a1", Direction: call.Incoming, Peer: romeo, Media: []string{"audio"}, At: at})
	l.Record(call.Event{Type: call.EventMissed, ID: "a1", Direction: call.Incoming, Peer: romeo, At: at.Add(30 * time.Second)})
	entries, _ := l.List(context.Background(), 10)
	for _, e := range entries {
		fmt.Println(e.Direction, e.Peer, e.Media, e.Outcome)
	}
	// Output: incoming romeo@example.net [audio] missed
}
