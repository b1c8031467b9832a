package client

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"time"

	"mellium.im/xmlstream"
)

// ConnState is where a Client's connection to its server stands.
type ConnState uint8

// The connection states. The zero ConnState is ConnUnknown: a client that
// has not finished logging in.
const (
	// ConnUnknown: not logged in yet.
	ConnUnknown ConnState = iota
	// ConnOnline: logged in and set up (roster, carbons, presence).
	ConnOnline
	// ConnReconnecting: the stream dropped, and the client is logging in
	// again with backoff; Status.Err says why the stream ended or why the
	// last try failed. Actions still work: what they send is queued until
	// the stream is back.
	ConnReconnecting
	// ConnFailed: the client stopped on its own and will not log in again;
	// Status.Err (and Client.Err) say why: ErrAuth (the server refused the
	// password after a reconnect), ErrConflict, or for a client made by
	// New ErrSessionEnded (the application's session ended).
	ConnFailed
	// ConnClosed: Close was called.
	ConnClosed
)

// String returns the state's name: "unknown", "online", "reconnecting",
// "failed" or "closed".
func (s ConnState) String() string {
	switch s {
	case ConnUnknown:
		return "unknown"
	case ConnOnline:
		return "online"
	case ConnReconnecting:
		return "reconnecting"
	case ConnFailed:
		return "failed"
	case ConnClosed:
		return "closed"
	}
	return fmt.Sprintf("ConnState(%d)", uint8(s))
}

// Status is a snapshot of a Client's connection.
type Status struct {
	State ConnState
	// Err is why the client is reconnecting or failed; nil otherwise.
	Err error
	// Since is when the client entered State.
	Since time.Time
}

// ErrAuth is why a login fails when the server refuses the account's
// credentials (SASL not-authorized, RFC 6120 §6.5.10): a wrong password, or
// an account that does not exist. A Client that meets it on a reconnect
// stops (ConnFailed) instead of trying again with the same password.
var ErrAuth = errors.New("client: the server refused the account's credentials")

// Status returns the connection's status and a channel that is closed at
// its next change. It is safe for concurrent use. To follow the status:
//
//	for {
//		st, changed := c.Status()
//		... // show st
//		if st.State == client.ConnFailed || st.State == client.ConnClosed {
//			break
//		}
//		<-changed
//	}
func (c *Client) Status() (Status, <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status, c.statusChanged
}

// setStatus records a change of the connection's state. ConnFailed and
// ConnClosed are final: nothing replaces them, so that Close after a
// failure keeps its reason.
func (c *Client) setStatus(state ConnState, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.status.State; cur == ConnFailed || cur == ConnClosed {
		return
	}
	if c.status.State == state && c.status.Err == err {
		return
	}
	c.status = Status{State: state, Err: err, Since: time.Now()}
	close(c.statusChanged)
	c.statusChanged = make(chan struct{})
}

// classifyLoginError wraps ErrAuth around a login error that is the
// server's SASL <not-authorized/>. mellium's SASL failure type is internal;
// it writes itself as XML, which is what we read.
func classifyLoginError(err error) error {
	var failure interface {
		error
		TokenReader() xml.TokenReader
	}
	if !errors.As(err, &failure) || !isSASLFailure(failure.TokenReader(), "not-authorized") {
		return err
	}
	return fmt.Errorf("%w: %w", ErrAuth, err)
}

// isSASLFailure reports whether r is a SASL <failure/> with the condition.
func isSASLFailure(r xml.TokenReader, condition string) bool {
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	if _, err := xmlstream.Copy(enc, r); err != nil || enc.Flush() != nil {
		return false
	}
	dec := xml.NewDecoder(&b)
	var f struct {
		XMLName    xml.Name
		Conditions []struct{ XMLName xml.Name } `xml:",any"`
	}
	if err := dec.Decode(&f); err != nil || f.XMLName.Space != nsSASL || f.XMLName.Local != "failure" {
		return false
	}
	for _, c := range f.Conditions {
		if c.XMLName.Local == condition {
			return true
		}
	}
	return false
}

const nsSASL = `urn:ietf:params:xml:ns:xmpp-sasl`
