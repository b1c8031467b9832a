package netns

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// DNS is a small DNS server of the namespace: it answers A queries for the
// names it was given, "no such name" for every other name, and "no record
// of that type" for other types of a name it knows (such as the SRV records
// a server looks up first). Some servers resolve only through DNS, never
// through /etc/hosts: ejabberd 23.01 (its s2s looks names up with Erlang's
// own DNS client) reports "DNS lookup failed" and refuses to try the
// domain again for minutes.
type DNS struct {
	conn  net.PacketConn
	hosts map[string]netip.Addr
	done  chan struct{}
}

// StartDNS serves hosts (name → IPv4 address) on UDP at addr (e.g.
// "127.0.0.1:53") until Close.
func StartDNS(addr string, hosts map[string]string) (*DNS, error) {
	d := &DNS{hosts: map[string]netip.Addr{}, done: make(chan struct{})}
	for name, a := range hosts {
		ip, err := netip.ParseAddr(a)
		if err != nil || !ip.Is4() {
			return nil, fmt.Errorf("netns: %s: not an IPv4 address: %q", name, a)
		}
		d.hosts[canonicalName(name)] = ip
	}
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("netns: DNS server: %w", err)
	}
	d.conn = conn
	go d.serve()
	return d, nil
}

// Close stops the server.
func (d *DNS) Close() error {
	err := d.conn.Close()
	<-d.done
	return err
}

func (d *DNS) serve() {
	defer close(d.done)
	buf := make([]byte, 1500)
	for {
		n, from, err := d.conn.ReadFrom(buf)
		if err != nil {
			return
		}
		if reply, err := d.answer(buf[:n]); err == nil {
			_, _ = d.conn.WriteTo(reply, from)
		}
	}
}

func canonicalName(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// DNS types and codes this server knows (RFC 1035).
const (
	typeA       = 1
	classIN     = 1
	rcodeNXName = 3
	headerLen   = 12
)

// answer builds the reply to one query message: the header, the question
// as it came, and an A record when the name is known and A was asked.
// A message that is not one well-formed query gets no reply.
func (d *DNS) answer(query []byte) ([]byte, error) {
	if len(query) < headerLen {
		return nil, errors.New("short message")
	}
	flags := binary.BigEndian.Uint16(query[2:])
	if flags&0x8000 != 0 || binary.BigEndian.Uint16(query[4:]) != 1 {
		return nil, errors.New("not a query with one question")
	}
	name, end, err := readName(query, headerLen)
	if err != nil {
		return nil, err
	}
	if end+4 > len(query) {
		return nil, errors.New("short question")
	}
	qtype := binary.BigEndian.Uint16(query[end:])
	qclass := binary.BigEndian.Uint16(query[end+2:])
	question := query[headerLen : end+4]

	reply := make([]byte, headerLen, headerLen+len(question)+16)
	copy(reply, query[:2])                                    // id
	replyFlags := uint16(0x8000|0x0400) | flags&0x0100 | 0x80 // response, authoritative, RD copied, RA
	ip, known := d.hosts[canonicalName(name)]
	if !known {
		replyFlags |= rcodeNXName
	}
	binary.BigEndian.PutUint16(reply[2:], replyFlags)
	binary.BigEndian.PutUint16(reply[4:], 1) // one question
	reply = append(reply, question...)
	if known && qtype == typeA && qclass == classIN {
		binary.BigEndian.PutUint16(reply[6:], 1) // one answer
		reply = append(reply, 0xc0, headerLen)   // the name: a pointer to the question's
		reply = binary.BigEndian.AppendUint16(reply, typeA)
		reply = binary.BigEndian.AppendUint16(reply, classIN)
		reply = binary.BigEndian.AppendUint32(reply, 60) // TTL
		reply = binary.BigEndian.AppendUint16(reply, 4)
		a := ip.As4()
		reply = append(reply, a[:]...)
	}
	return reply, nil
}

// readName reads the uncompressed name at off (a query's question has no
// pointers) and returns it with the offset after it.
func readName(msg []byte, off int) (string, int, error) {
	var labels []string
	for {
		if off >= len(msg) {
			return "", 0, errors.New("name runs past the message")
		}
		n := int(msg[off])
		off++
		if n == 0 {
			break
		}
		if n > 63 || off+n > len(msg) {
			return "", 0, errors.New("bad label")
		}
		labels = append(labels, string(msg[off:off+n]))
		off += n
		if len(labels) > 127 {
			return "", 0, errors.New("name too long")
		}
	}
	return strings.Join(labels, "."), off, nil
}
