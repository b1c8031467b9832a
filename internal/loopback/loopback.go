// Package loopback finds free ports for the private servers the tests
// start (internal/prosodytest, internal/ejabberdtest).
package loopback

import (
	"fmt"
	"net"
)

// FreePorts asks the kernel for n distinct free TCP ports on the loopback
// address host. The ports are free when it returns; a server started right
// after takes them (another process could, in the short window between).
func FreePorts(host string, n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return nil, fmt.Errorf("loopback: finding a free port on %s: %w", host, err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
