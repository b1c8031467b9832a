package extdisco_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"mellium.im/xmpp"

	"github.com/jmi-xmpp/jmi/extdisco"
	"github.com/jmi-xmpp/jmi/media"
)

// The STUN and TURN servers of a Prosody answer, for a media session.
func Example() {
	answer := []byte(`<services xmlns='urn:xmpp:extdisco:2'>
  <service type='stun' transport='udp' host='turn.example' port='3478'/>
  <service type='turn' transport='udp' host='turn.example' port='3478'
           username='1796180608:jmi' password='q8cLKWGcR8HYTI8qCvp34pHN7Ts='
           expires='2026-12-02T03:03:28Z' restricted='1'/>
  <service type='ftp' transport='tcp' host='ftp.example' port='21'/>
</services>`)
	el, err := extdisco.Parse(answer)
	if err != nil {
		log.Fatal(err)
	}
	now := time.Date(2026, 12, 2, 2, 0, 0, 0, time.UTC)
	servers, skipped := extdisco.ICEServers(el.Services, now)
	for _, s := range servers {
		if s.Username != "" {
			fmt.Println(s.URLs[0], "as", s.Username)
		} else {
			fmt.Println(s.URLs[0])
		}
	}
	for _, s := range skipped {
		fmt.Println("skipped", s.Service, "-", s.Err)
	}
	fmt.Println("fetch again at", extdisco.Refresh(el.Services, now).Format(time.TimeOnly))
	_ = media.Config{ICEServers: servers} // the session's STUN and TURN servers
	// Output:
	// stun:turn.example:3478
	// turn:turn.example:3478?transport=udp as 1796180608:jmi
	// skipped ftp tcp ftp.example:21 - extdisco: not a STUN or TURN service the ICE agent can use: type "ftp"
	// fetch again at 02:31:44
}

// Fetch on a session whose Serve runs, for the ICE servers of a call. (It
// needs a server, so it only compiles here.)
func ExampleFetch() {
	var s *xmpp.Session // logged in, Serve running
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	el, err := extdisco.Fetch(ctx, s, s.LocalAddr().Domain())
	if err != nil {
		log.Print(err) // errors.Is(err, extdisco.ErrNotSupported): no STUN or TURN from this server
		return
	}
	servers, skipped := extdisco.ICEServers(el.Services, time.Now())
	for _, sk := range append(el.Skipped, skipped...) {
		log.Print("service ignored: ", sk.Service, ": ", sk.Err)
	}
	_ = media.Config{ICEServers: servers}
}
