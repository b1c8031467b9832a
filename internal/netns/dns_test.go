package netns

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
	"time"
)

// TestDNS asks the server as Go's own DNS client does: a known name has its
// address, an unknown one does not exist, and a known name has no SRV
// records.
func TestDNS(t *testing.T) {
	d, err := StartDNS("127.0.0.1:0", map[string]string{"a.test": "127.0.0.2", "B.test.": "127.0.0.3"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dialer net.Dialer
		return dialer.DialContext(ctx, "udp", d.conn.LocalAddr().String())
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for name, want := range map[string]string{"a.test": "127.0.0.2", "b.test": "127.0.0.3", "A.TEST.": "127.0.0.2"} {
		addrs, err := r.LookupIPAddr(ctx, name)
		if err != nil || len(addrs) != 1 || addrs[0].IP.String() != want {
			t.Errorf("%s: %v %v, want %s", name, addrs, err, want)
		}
	}
	var dnsErr *net.DNSError
	if _, err := r.LookupIPAddr(ctx, "c.test"); !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("c.test: %v, want not found", err)
	}
	if _, srvs, err := r.LookupSRV(ctx, "xmpp-server", "tcp", "a.test"); err == nil || len(srvs) != 0 {
		t.Errorf("SRV of a.test: %v %v, want none", srvs, err)
	}
}

// FuzzDNSAnswer: no input makes the server panic, and every reply is at
// least a header with the query's id and the response bit.
func FuzzDNSAnswer(f *testing.F) {
	f.Add([]byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01a\x04test\x00\x00\x01\x00\x01"))
	f.Add([]byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x0c_xmpp-server\x04_tcp\x01a\x04test\x00\x00\x21\x00\x01"))
	f.Add([]byte("\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0\x0c\x00\x01\x00\x01"))
	d := &DNS{hosts: map[string]netip.Addr{"a.test": netip.MustParseAddr("127.0.0.2")}}
	f.Fuzz(func(t *testing.T, query []byte) {
		reply, err := d.answer(query)
		if err != nil {
			return
		}
		if len(reply) < headerLen || reply[0] != query[0] || reply[1] != query[1] || reply[2]&0x80 == 0 {
			t.Fatalf("reply %x to %x", reply, query)
		}
	})
}
