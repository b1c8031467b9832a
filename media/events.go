package media

import (
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/jmi-xmpp/jmi/jingle"
)

// State is the state of a Session as a whole.
type State uint8

const (
	// StateNew is a Session before its offer or answer.
	StateNew State = iota
	// StateConnecting is a Session negotiating: ICE checks, DTLS handshake.
	StateConnecting
	// StateConnected is a Session whose ICE found a pair and whose DTLS
	// handshake is done: SRTP keys are set and audio flows.
	StateConnected
	// StateFailed is a Session whose ICE or DTLS failed; only Close is
	// left to do.
	StateFailed
	// StateClosed is a closed Session.
	StateClosed
)

var stateNames = [...]string{"new", "connecting", "connected", "failed", "closed"}

// String returns the state's name, "connected".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "unknown"
}

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EventUnknown is the zero EventKind, never sent.
	EventUnknown EventKind = iota
	// EventCandidate is a local ICE candidate for a transport-info of its
	// own: Content and Candidate are set.
	EventCandidate
	// EventICE is a change of pion's ICE connection state: ICE is set.
	EventICE
	// EventDTLS is a change of the DTLS transport's state: DTLS is set.
	EventDTLS
	// EventState is a change of the Session's State: State is set. The
	// last event of every Session is EventState with StateClosed.
	EventState
	// EventAudio is the first frame heard (decoded from the network).
	EventAudio
)

var eventNames = [...]string{"unknown", "candidate", "ice", "dtls", "state", "audio"}

// String returns the kind's name.
func (k EventKind) String() string {
	if int(k) < len(eventNames) {
		return eventNames[k]
	}
	return "unknown"
}

// Event is something that happened to a Session, given to Config.OnEvent
// in the order it happened.
type Event struct {
	Kind EventKind
	// Content and Candidate are the local candidate of an EventCandidate
	// and the name of its content.
	Content   string
	Candidate jingle.Candidate
	// ICE is the state of an EventICE.
	ICE webrtc.ICEConnectionState
	// DTLS is the state of an EventDTLS.
	DTLS webrtc.DTLSTransportState
	// State is the state of an EventState.
	State State
}

// eventQueue hands events to a callback from one goroutine, in order,
// without ever blocking the pion callbacks that push them.
type eventQueue struct {
	fn   func(Event)
	mu   sync.Mutex
	list []Event
	wake chan struct{}
	shut bool
	done chan struct{}
}

func newEventQueue(fn func(Event)) *eventQueue {
	q := &eventQueue{fn: fn, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go q.run()
	return q
}

func (q *eventQueue) push(e Event) {
	if q.fn == nil {
		return
	}
	q.mu.Lock()
	if !q.shut {
		q.list = append(q.list, e)
	}
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// close delivers the events pushed so far and waits for the goroutine.
func (q *eventQueue) close() {
	q.mu.Lock()
	q.shut = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	<-q.done
}

func (q *eventQueue) run() {
	defer close(q.done)
	for {
		q.mu.Lock()
		list, shut := q.list, q.shut
		q.list = nil
		q.mu.Unlock()
		for _, e := range list {
			q.fn(e)
		}
		if shut && len(list) == 0 {
			return
		}
		if len(list) == 0 {
			<-q.wake
		}
	}
}
