// Package sim is a deterministic simulator of XMPP delivery for the call
// engine: two accounts with several devices each, a server that fans
// messages to a bare JID out to every online device, copies sent and
// received chat messages to the other devices (XEP-0280 carbons), keeps an
// archive of every message with a <store/> hint (XEP-0313) and offline
// storage for accounts with no device online, and delivers with delay and
// reordering between different senders (FIFO per sender and receiver). It
// drives one call.Machine per device with random user actions under a seeded
// schedule and checks the invariants a person expects after every quiescent
// point. Each device also runs the Jingle session engine (jingle/session)
// for its calls, and the invariants include the Jingle sessions.
package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/jmi-xmpp/jmi"
	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/jingle"
	"github.com/jmi-xmpp/jmi/jingle/session"
	"mellium.im/xmpp/jid"
)

// Epoch is the simulated clock's start.
var Epoch = time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)

// Device is one client of an account.
type Device struct {
	JID     jid.JID
	Account *Account
	Machine *call.Machine
	// Session is the device's Jingle session engine.
	Session *session.Machine
	Online  bool
	// media is what the device's media layer holds, by call id.
	media map[string]*media
	// hangsUpLikeDino: its user hangs up an answered call with Jingle's
	// session-terminate only, as Dino 0.4.2 does, which sends no <finish/>;
	// the peer's JMI learns of it only through its session engine.
	hangsUpLikeDino bool
	// dropFinish is the call whose <finish/> the device is not to send.
	dropFinish string
	// caughtUp is how much of the account's archive the device read in its
	// last catch-up: the next one reads on from there, as the client reads
	// on from the last archive id of its last catch-up. Messages lost in
	// flight when a connection drops are found again that way.
	caughtUp int
	// events it has seen, for the checks.
	Events []call.Event
}

// Account is a user with devices, an archive and offline storage.
type Account struct {
	Bare    jid.JID
	Devices []*Device
	archive []stored
	offline []stored
}

type stored struct {
	at       time.Time
	from, to jid.JID
	el       jmi.Element
}

// delivery is a message or an IQ in flight to one device.
type delivery struct {
	to   *Device
	sig  call.Signal
	iq   *jingle.IQ // an IQ instead of a message: not FIFO
	from string     // sender device, for the FIFO per pair
}

// World is one simulated schedule.
type World struct {
	Now      time.Time
	Accounts []*Account
	rng      *rand.Rand
	queue    []delivery
	nextID   int
	log      *strings.Builder
	// violation is the first broken rule seen while effects were carried
	// out (media started twice, candidates before the description, …).
	violation string
	// dinoHungUp are the calls hung up with a session-terminate only.
	dinoHungUp map[string]bool
	// strict: every time-out has come; the checks make no exception.
	strict bool
}

// NewWorld makes Romeo with two devices and Juliet with three, who trust
// each other. log, when not nil, receives a readable transcript.
func NewWorld(seed uint64, log *strings.Builder) *World {
	w := &World{Now: Epoch, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), log: log}
	w.addAccount("romeo@montague.example", "orchard", "pda")
	w.addAccount("juliet@capulet.example", "phone", "tablet", "laptop")
	return w
}

func (w *World) addAccount(bare string, resources ...string) {
	a := &Account{Bare: jid.MustParse(bare)}
	for _, r := range resources {
		j, _ := a.Bare.WithResource(r)
		a.Devices = append(a.Devices, &Device{JID: j, Account: a, Online: true, Machine: call.New(call.Config{Account: j}), Session: session.New(session.Config{Account: j}), media: map[string]*media{}, hangsUpLikeDino: r == "laptop"})
	}
	w.Accounts = append(w.Accounts, a)
}

func (w *World) logf(format string, args ...any) {
	if w.log != nil {
		fmt.Fprintf(w.log, "%8.3fs ", w.Now.Sub(Epoch).Seconds())
		fmt.Fprintf(w.log, format, args...)
		w.log.WriteByte('\n')
	}
}

func (w *World) account(j jid.JID) *Account {
	for _, a := range w.Accounts {
		if a.Bare.Equal(j.Bare()) {
			return a
		}
	}
	return nil
}

func (w *World) other(a *Account) *Account {
	if w.Accounts[0] == a {
		return w.Accounts[1]
	}
	return w.Accounts[0]
}

// apply runs the effects of one device's input: sends go to the server.
func (w *World) apply(d *Device, effs []call.Effect) {
	for _, e := range effs {
		switch e := e.(type) {
		case call.Send:
			if _, ok := e.Element.(*jmi.Finish); ok && d.dropFinish == e.Element.SessionID() {
				w.logf("%s sends no finish %s (Dino sends none)", d.JID.Resourcepart(), e.Element.SessionID())
				continue
			}
			w.logf("%s sends %s %s to %s", d.JID.Resourcepart(), e.Element.Kind(), e.Element.SessionID(), e.To)
			w.route(d, e.To, e.Element)
		case call.Notify:
			d.Events = append(d.Events, e.Event)
			w.logf("%s: %s %s%s", d.JID, e.Event.Type, e.Event.ID, eventDetail(e.Event))
			w.callToSession(d, e.Event)
		}
	}
}

func eventDetail(ev call.Event) string {
	var b strings.Builder
	if ev.Elsewhere {
		b.WriteString(" elsewhere")
	}
	if ev.TieBreak {
		b.WriteString(" tie-break")
	}
	if ev.Reason != "" {
		b.WriteString(" reason=" + ev.Reason)
	}
	if ev.MigratedTo != "" {
		b.WriteString(" migrated=" + ev.MigratedTo)
	}
	return b.String()
}

// route models the server: archive, delivery to the recipient's devices,
// carbons, offline storage.
func (w *World) route(from *Device, to jid.JID, el jmi.Element) {
	src := from.Account
	dst := w.account(to)
	msg := stored{at: w.Now, from: from.JID, to: to, el: el}
	// XEP-0313: one copy in each account's archive (both, when they differ).
	src.archive = append(src.archive, msg)
	if dst != nil && dst != src {
		dst.archive = append(dst.archive, msg)
	}
	if dst == nil {
		return
	}
	enqueue := func(d *Device, via call.Via) {
		w.queue = append(w.queue, delivery{to: d, from: from.JID.String(), sig: call.Signal{From: from.JID, To: to, Via: via, Element: el, Trusted: true, PresenceShared: true}})
	}
	// Which devices of dst get it directly.
	var direct []*Device
	if to.Resourcepart() != "" {
		for _, d := range dst.Devices {
			if d.JID.Equal(to) && d.Online {
				direct = append(direct, d)
			}
		}
	}
	if len(direct) == 0 {
		// To the bare JID, or to a full JID that is offline (RFC 6121
		// §8.5.3.2.1): every online device.
		for _, d := range dst.Devices {
			if d.Online {
				direct = append(direct, d)
			}
		}
		if len(direct) == 0 && dst != src {
			dst.offline = append(dst.offline, msg)
		}
	}
	for _, d := range direct {
		enqueue(d, call.ViaLive)
	}
	if dst == src {
		return
	}
	// XEP-0280: received carbons to the recipient's other online devices
	// when it went to one full JID, sent carbons to the sender's others.
	if len(direct) == 1 && to.Resourcepart() != "" {
		for _, d := range dst.Devices {
			if d.Online && d != direct[0] {
				enqueue(d, call.ViaReceivedCarbon)
			}
		}
	}
	for _, d := range src.Devices {
		if d.Online && d != from {
			enqueue(d, call.ViaSentCarbon)
		}
	}
}

// deliverOne hands one in-flight message to its device: a random pair of
// sender and receiver, the oldest message of that pair (FIFO per pair).
func (w *World) deliverOne() {
	i := w.rng.IntN(len(w.queue))
	pick := w.queue[i]
	for j := 0; j < i && pick.iq == nil; j++ {
		if w.queue[j].iq == nil && w.queue[j].to == pick.to && w.queue[j].from == pick.from {
			i, pick = j, w.queue[j]
			break
		}
	}
	w.queue = slices.Delete(w.queue, i, i+1)
	if !pick.to.Online {
		return // the connection is gone; the archive has a message, an IQ is lost
	}
	if pick.iq != nil {
		w.deliverIQ(pick.to, *pick.iq)
		return
	}
	w.input(pick.to, pick.sig)
}

func (w *World) input(d *Device, in call.Input) {
	if s, ok := in.(call.Signal); ok {
		w.logf("%s <- %s %s %s from %s", d.JID.Resourcepart(), s.Via, s.Element.Kind(), s.Element.SessionID(), s.From)
	}
	effs, err := d.Machine.Handle(w.Now, in)
	if err != nil {
		panic(fmt.Sprintf("sim: %s: %T: %v", d.JID, in, err))
	}
	w.apply(d, effs)
}

// advance moves the clock by dt, firing every deadline due on the way.
func (w *World) advance(dt time.Duration) {
	end := w.Now.Add(dt)
	for {
		var next time.Time
		var dev *Device
		for _, a := range w.Accounts {
			for _, d := range a.Devices {
				if !d.Online {
					continue
				}
				if dl := d.Machine.NextDeadline(); !dl.IsZero() && !dl.After(end) && (next.IsZero() || dl.Before(next)) {
					next, dev = dl, d
				}
			}
		}
		sNext, sDev := w.nextSessionDeadline(end)
		if dev == nil && sDev == nil {
			break
		}
		if sDev != nil && (dev == nil || sNext.Before(next)) {
			if sNext.After(w.Now) {
				w.Now = sNext
			}
			w.sessionInput(sDev, session.Tick{})
			if dl := sDev.Session.NextDeadline(); !dl.IsZero() && !dl.After(w.Now) {
				// A deadline a Tick does not clear would loop forever.
				w.violate("%s: session deadline %s still due after a Tick", sDev.JID, dl.Sub(Epoch))
				break
			}
			continue
		}
		if next.After(w.Now) {
			w.Now = next
		}
		w.input(dev, call.Tick{})
	}
	w.Now = end
}

func (w *World) newID() string {
	w.nextID++
	// Ids of varying shapes, so that tie-breaks compare bytes of every
	// kind: some UUID-like, some base64-like as Conversations makes.
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_"
	b := make([]byte, 6)
	for i := range b {
		b[i] = alphabet[w.rng.IntN(len(alphabet))]
	}
	return fmt.Sprintf("%s%d", b, w.nextID)
}

func (w *World) propose(d *Device) string {
	id := w.newID()
	peer := w.other(d.Account).Bare
	w.logf("%s: user calls %s (%s)", d.JID, peer, id)
	w.input(d, call.UserPropose{To: peer, ID: id, Descriptions: []jmi.Description{jmi.RTP("audio")}, PresenceShared: true})
	return id
}

// goOffline disconnects d: messages in flight to it are lost (the archive
// keeps them).
func (w *World) goOffline(d *Device) {
	w.logf("%s goes offline", d.JID)
	d.Online = false
}

// goOnline reconnects d: offline storage first (with its stamps), then the
// archive catch-up from when it left.
func (w *World) goOnline(d *Device) {
	w.logf("%s comes online", d.JID)
	d.Online = true
	a := d.Account
	for _, m := range a.offline {
		w.input(d, call.Signal{From: m.from, To: m.to, Via: call.ViaOffline, Stamp: m.at, Element: m.el, Trusted: true, PresenceShared: true})
	}
	a.offline = nil
	w.input(d, call.CatchUpStarted{})
	for _, m := range a.archive[d.caughtUp:] {
		w.input(d, call.Signal{From: m.from, To: m.to, Via: call.ViaArchive, Stamp: m.at, Element: m.el, Trusted: true, PresenceShared: true})
	}
	d.caughtUp = len(a.archive)
	w.input(d, call.CatchUpEnded{})
	// The client's timers fire at once for deadlines that passed offline.
	w.input(d, call.Tick{})
	w.sessionInput(d, session.Tick{})
	// What was in flight may be lost: the sessions ask their peers.
	w.sessionInput(d, session.Resumed{})
}

// Quiesce delivers everything in flight.
func (w *World) Quiesce() {
	for len(w.queue) > 0 {
		w.deliverOne()
	}
}

// Step makes one random thing happen.
func (w *World) Step() {
	var devs []*Device
	for _, a := range w.Accounts {
		devs = append(devs, a.Devices...)
	}
	d := devs[w.rng.IntN(len(devs))]
	switch r := w.rng.IntN(100); {
	case r < 30 && len(w.queue) > 0:
		w.deliverOne()
	case r < 45:
		w.advance(time.Duration(w.rng.IntN(3000)) * time.Millisecond)
	case r < 50:
		if d.Online && d.count(call.StateActive, false)+d.count(call.StateProposing, false) == 0 {
			w.propose(d)
		}
	case r < 53:
		// Both press "call" at the same moment (§4.1).
		a, b := w.Accounts[0].Devices[0], w.Accounts[1].Devices[w.rng.IntN(len(w.Accounts[1].Devices))]
		if a.Online && b.Online && a.idle() && b.idle() {
			w.propose(a)
			w.propose(b)
		}
	case r < 68:
		w.userAct(d)
	case r < 73:
		// Switch devices mid-call (§4.2): another device of a party in an
		// answered call calls the peer again.
		if d.Online && d.idle() {
			for _, o := range d.Account.Devices {
				if o != d && o.Online && o.count(call.StateActive, false) > 0 {
					w.propose(d)
					break
				}
			}
		}
	case r < 78:
		if d.Online {
			w.goOffline(d)
		}
	case r < 88:
		if !d.Online {
			w.goOnline(d)
		}
	default:
		if len(w.queue) > 0 {
			w.deliverOne()
		}
	}
}

// idle reports whether d has no call of its own under way.
func (d *Device) idle() bool {
	for _, c := range d.Machine.Calls() {
		if c.State == call.StateProposing || c.State == call.StateRinging || (c.State == call.StateActive && !c.Elsewhere) {
			return false
		}
	}
	return true
}

func (d *Device) count(st call.State, elsewhere bool) int {
	n := 0
	for _, c := range d.Machine.Calls() {
		if c.State == st && c.Elsewhere == elsewhere {
			n++
		}
	}
	return n
}

// userAct makes the user of d answer, decline, withdraw or hang up.
func (w *World) userAct(d *Device) {
	if !d.Online {
		return
	}
	for _, c := range d.Machine.Calls() {
		switch {
		case c.State == call.StateRinging:
			if w.rng.IntN(3) == 0 {
				w.logf("%s: user declines %s", d.JID, c.ID)
				w.input(d, call.UserReject{ID: c.ID})
			} else {
				w.logf("%s: user answers %s", d.JID, c.ID)
				w.input(d, call.UserProceed{ID: c.ID})
			}
			return
		case c.State == call.StateProposing && !c.Elsewhere:
			w.logf("%s: user withdraws %s", d.JID, c.ID)
			w.input(d, call.UserRetract{ID: c.ID})
			return
		case c.State == call.StateActive && !c.Elsewhere:
			if s, ok := d.Session.Session(c.ID); ok && d.hangsUpLikeDino && (s.State == session.StatePending || s.State == session.StateActive) {
				w.logf("%s: user hangs up %s with session-terminate only", d.JID, c.ID)
				d.dropFinish = c.ID
				if w.dinoHungUp == nil {
					w.dinoHungUp = map[string]bool{}
				}
				w.dinoHungUp[c.ID] = true
				w.sessionInput(d, session.Terminate{SID: c.ID})
				d.dropFinish = ""
				return
			}
			w.logf("%s: user hangs up %s", d.JID, c.ID)
			w.input(d, call.UserFinish{ID: c.ID})
			return
		}
	}
}

// AllOnline brings every device online and delivers everything.
func (w *World) AllOnline() {
	for _, a := range w.Accounts {
		for _, d := range a.Devices {
			if !d.Online {
				w.goOnline(d)
			}
		}
	}
	w.Quiesce()
}
