package dinopeer

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/godbus/dbus/v5"
)

// The desktop notification service (freedesktop.org Desktop Notifications
// 1.2) as far as Dino uses it: Dino shows a ringing call with Notify
// (summary the caller, body "Incoming call", actions accept and reject)
// and stops ringing with CloseNotification; a click on an action is the
// signal ActionInvoked.
const (
	notifyName  = "org.freedesktop.Notifications"
	notifyPath  = dbus.ObjectPath("/org/freedesktop/Notifications")
	notifyIface = "org.freedesktop.Notifications"
)

// NoticeKind says what happened to a notification.
type NoticeKind int

const (
	// NoticeUnknown is the zero NoticeKind.
	NoticeUnknown NoticeKind = iota
	// NoticeShown: Dino called Notify.
	NoticeShown
	// NoticeClosed: Dino called CloseNotification.
	NoticeClosed
	// NoticeInvoked: the test clicked an action (ActionInvoked sent).
	NoticeInvoked
)

// String names the kind: "shown", "closed", "invoked".
func (k NoticeKind) String() string {
	switch k {
	case NoticeShown:
		return "shown"
	case NoticeClosed:
		return "closed"
	case NoticeInvoked:
		return "invoked"
	}
	return "unknown"
}

// Notice is one entry of the notification journal.
type Notice struct {
	Kind NoticeKind
	// ID is the notification's id (for NoticeShown, the one we gave it).
	ID uint32
	// Summary, Body and Actions are what Notify carried (NoticeShown);
	// Actions alternate key and label.
	Summary, Body string
	Actions       []string
	// Action is the key invoked (NoticeInvoked).
	Action string
}

// HasAction reports whether the notification offers the action key.
func (n Notice) HasAction(key string) bool {
	for i := 0; i+1 < len(n.Actions); i += 2 {
		if n.Actions[i] == key {
			return true
		}
	}
	return false
}

// String describes the notice for a test's log.
func (n Notice) String() string {
	switch n.Kind {
	case NoticeShown:
		return fmt.Sprintf("notification %d shown: %q %q actions %q", n.ID, n.Summary, n.Body, n.Actions)
	case NoticeInvoked:
		return fmt.Sprintf("notification %d: action %q invoked", n.ID, n.Action)
	}
	return fmt.Sprintf("notification %d %s", n.ID, n.Kind)
}

// notifier owns org.freedesktop.Notifications on the private session bus
// and records every call to it.
type notifier struct {
	conn    *dbus.Conn
	journal *journal[Notice]

	mu   sync.Mutex
	last uint32
	open map[uint32]bool
}

// startNotifier connects to the bus at addr and takes the notification
// service's name, which no other program on a private bus can have.
func startNotifier(addr string) (*notifier, error) {
	conn, err := dbus.Connect(addr)
	if err != nil {
		return nil, fmt.Errorf("dinopeer: connecting to the session bus: %w", err)
	}
	n := &notifier{conn: conn, journal: newJournal[Notice](), open: map[uint32]bool{}}
	if err := conn.Export(notifyMethods{n}, notifyPath, notifyIface); err != nil {
		conn.Close()
		return nil, fmt.Errorf("dinopeer: %w", err)
	}
	reply, err := conn.RequestName(notifyName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		conn.Close()
		return nil, fmt.Errorf("dinopeer: owning %s: reply %v, %v", notifyName, reply, err)
	}
	return n, nil
}

func (n *notifier) close() { n.conn.Close() }

// invoke clicks an action of an open notification, as a desktop does:
// ActionInvoked(id, key).
func (n *notifier) invoke(id uint32, key string) error {
	n.mu.Lock()
	open := n.open[id]
	n.mu.Unlock()
	if !open {
		return fmt.Errorf("dinopeer: notification %d is not shown", id)
	}
	n.journal.add(Notice{Kind: NoticeInvoked, ID: id, Action: key})
	return n.conn.Emit(notifyPath, notifyIface+".ActionInvoked", id, key)
}

// notifyMethods are the service's D-Bus methods; godbus exports every
// exported method of the value it is given, so they live on a type of
// their own.
type notifyMethods struct{ n *notifier }

// GetCapabilities: actions are what a call notification needs.
func (m notifyMethods) GetCapabilities() ([]string, *dbus.Error) {
	return []string{"actions", "body", "persistence"}, nil
}

// GetServerInformation names the service.
func (m notifyMethods) GetServerInformation() (name, vendor, version, specVersion string, _ *dbus.Error) {
	return "jmi-dinopeer", "jmi", "1", "1.2", nil
}

// Notify shows (records) a notification and returns its id.
func (m notifyMethods) Notify(app string, replaces uint32, icon, summary, body string, actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	n := m.n
	n.mu.Lock()
	id := replaces
	if id == 0 || !n.open[id] {
		n.last++
		id = n.last
	}
	n.open[id] = true
	n.mu.Unlock()
	n.journal.add(Notice{Kind: NoticeShown, ID: id, Summary: summary, Body: body, Actions: slices.Clone(actions)})
	return id, nil
}

// CloseNotification closes (records) a notification and says so with
// NotificationClosed, reason 3 ("closed by a call to CloseNotification").
func (m notifyMethods) CloseNotification(id uint32) *dbus.Error {
	n := m.n
	n.mu.Lock()
	delete(n.open, id)
	n.mu.Unlock()
	n.journal.add(Notice{Kind: NoticeClosed, ID: id})
	_ = n.conn.Emit(notifyPath, notifyIface+".NotificationClosed", id, uint32(3))
	return nil
}

// waitNotice waits for a notice from the cursor on that matches.
func (n *notifier) waitNotice(ctx context.Context, from int, what string, match func(Notice) bool) (Notice, int, error) {
	return n.journal.wait(ctx, from, what, match)
}
