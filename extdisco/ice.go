package extdisco

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"
)

// Reasons ICEServers skips a service.
var (
	// ErrNotICE skips a service that is not STUN or TURN (an ftp
	// service), or whose transport the ICE agent cannot use (STUN over
	// TCP, which pion does not gather, or a transport other than udp and
	// tcp).
	ErrNotICE = errors.New("extdisco: not a STUN or TURN service the ICE agent can use")
	// ErrExpired skips a service whose expires is not after now: its
	// credentials no longer work (Dino's calls failed after a day for
	// TURN credentials not refreshed), fetch again.
	ErrExpired = errors.New("extdisco: service expired")
	// ErrNoCredentials skips a TURN service without a username or
	// password: pion refuses a TURN server without them, which would
	// fail the whole PeerConnection.
	ErrNoCredentials = errors.New("extdisco: TURN service without credentials")
)

// ICEServers returns the STUN and TURN servers of services for a pion
// PeerConnection (media.Config.ICEServers), in the order of services, and
// the services it skipped with the reason: those of other types, STUN over
// TCP, those expired at now, TURN without credentials, and repeats of a
// server already listed. A STUN service becomes stun:HOST:PORT, a TURN
// one turn:HOST:PORT?transport=T (turns: for TURNS), with its username and
// password; a port not given is left to the scheme's default. Every URI it
// returns parses as pion parses it, so the servers never make
// NewPeerConnection fail.
func ICEServers(services []Service, now time.Time) ([]webrtc.ICEServer, []Skipped) {
	var out []webrtc.ICEServer
	var skipped []Skipped
	seen := map[string]bool{}
	for i, s := range services {
		uri, err := iceURI(s)
		if exp := s.ExpiresAt(); err == nil && !exp.IsZero() && !exp.After(now) {
			err = fmt.Errorf("%w: at %s", ErrExpired, exp.UTC().Format(time.RFC3339))
		}
		if err == nil && s.Type != TypeSTUN && (s.Username == "" || s.Password == "") {
			err = ErrNoCredentials
		}
		if err == nil {
			if _, perr := stun.ParseURI(uri); perr != nil {
				err = fmt.Errorf("%w: %s: %v", ErrBadHost, uri, perr)
			}
		}
		key := uri + "\x00" + s.Username + "\x00" + s.Password
		if err == nil && seen[key] {
			err = fmt.Errorf("%w: %s listed twice", ErrNotICE, uri)
		}
		if err != nil {
			skipped = append(skipped, Skipped{Index: i, Service: s, Err: err})
			continue
		}
		seen[key] = true
		srv := webrtc.ICEServer{URLs: []string{uri}}
		if s.Type != TypeSTUN {
			srv.Username, srv.Credential, srv.CredentialType = s.Username, s.Password, webrtc.ICECredentialTypePassword
		}
		out = append(out, srv)
	}
	return out, skipped
}

// iceURI returns the STUN or TURN URI of s (RFC 7064, RFC 7065).
func iceURI(s Service) (string, error) {
	hostport := s.Host
	if s.Port != 0 {
		hostport = net.JoinHostPort(s.Host, strconv.Itoa(int(s.Port)))
	} else if isIPv6(s.Host) {
		hostport = "[" + s.Host + "]"
	}
	switch s.Type {
	case TypeSTUN:
		if s.Transport != "" && s.Transport != TransportUDP {
			return "", fmt.Errorf("%w: STUN over %s", ErrNotICE, s.Transport)
		}
		return "stun:" + hostport, nil
	case TypeTURN, TypeTURNS:
		t := s.Transport
		switch {
		case t == "" && s.Type == TypeTURN:
			t = TransportUDP
		case t == "":
			t = TransportTCP
		case t != TransportUDP && t != TransportTCP:
			return "", fmt.Errorf("%w: %s over %s", ErrNotICE, s.Type, t)
		}
		return s.Type + ":" + hostport + "?transport=" + t, nil
	}
	return "", fmt.Errorf("%w: type %q", ErrNotICE, s.Type)
}

func isIPv6(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.To4() == nil
}

// ExpiresAt returns when the service's credentials expire: Expires, or
// for a TURN service without it, the expiry its TURN REST username begins
// with ("EXPIRES" or "EXPIRES:USER", in Unix seconds of at least ten
// digits): Prosody 0.12 writes no expires attribute for a service
// configured with a secret but no ttl, and its credentials still expire a
// day later. The zero time when neither says.
func (s Service) ExpiresAt() time.Time {
	if !s.Expires.IsZero() || (s.Type != TypeTURN && s.Type != TypeTURNS) {
		return s.Expires
	}
	stamp, _, _ := strings.Cut(s.Username, ":")
	if len(stamp) < 10 || len(stamp) > 12 {
		return time.Time{}
	}
	secs, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.Unix(secs, 0).UTC()
}

// Refresh returns when services should be fetched again: half-way to the
// earliest expiry (ExpiresAt) after now, as Dino refreshes, or the zero
// time when no service expires.
func Refresh(services []Service, now time.Time) time.Time {
	var first time.Time
	for _, s := range services {
		if exp := s.ExpiresAt(); !exp.IsZero() && exp.After(now) && (first.IsZero() || exp.Before(first)) {
			first = exp
		}
	}
	if first.IsZero() {
		return first
	}
	return now.Add(first.Sub(now) / 2)
}
