package media_test

import (
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/jmi-xmpp/jmi/media"
)

// heard is a Sink that keeps the first second of audio.
type heard struct {
	mu      sync.Mutex
	samples []int16
	full    chan struct{}
}

func (h *heard) WriteFrame(samples []int16, rate int) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.samples) < rate {
		h.samples = append(h.samples, samples...)
		if len(h.samples) >= rate {
			close(h.full)
		}
	}
	return nil
}

// A caller and a callee in one process: the contents of Offer and Answer
// are what the session-initiate and session-accept carry, each
// EventCandidate is one transport-info, handed to the other side's
// AddRemoteCandidate. The callee hears the caller's 440 Hz tone.
func Example() {
	var caller, callee *media.Session
	var ready sync.WaitGroup // both sessions exist before a candidate crosses
	ready.Add(1)
	trickleTo := func(other **media.Session) func(media.Event) {
		return func(ev media.Event) {
			if ev.Kind == media.EventCandidate {
				ready.Wait()
				// In a client: send a transport-info with this one candidate.
				_ = (*other).AddRemoteCandidate(ev.Content, ev.Candidate)
			}
		}
	}
	ear := &heard{full: make(chan struct{})}
	caller, err := media.NewSession(media.Config{Role: media.Initiator, LoopbackOnly: true,
		Source: &media.Tone{Frequency: 440}, OnEvent: trickleTo(&callee)})
	if err != nil {
		panic(err)
	}
	callee, err = media.NewSession(media.Config{Role: media.Responder, LoopbackOnly: true,
		Sink: ear, OnEvent: trickleTo(&caller)})
	if err != nil {
		panic(err)
	}
	ready.Done()

	offer, err := caller.Offer() // the contents of the session-initiate
	if err != nil {
		panic(err)
	}
	caller.Started() // the session-initiate went out: candidates may follow
	answer, err := callee.Answer(offer)
	if err != nil {
		panic(err)
	}
	callee.Started() // the session-accept went out
	if err := caller.Accept(answer); err != nil {
		panic(err)
	}
	fmt.Println("offered", offer[0].Description.Payloads[0].Name, "then", offer[0].Description.Payloads[1].Name)
	fmt.Println("answered", answer[0].Description.Payloads[0].Name)

	select {
	case <-ear.full:
	case <-time.After(10 * time.Second):
		panic("nothing heard")
	}
	ear.mu.Lock()
	hz := media.Frequency(ear.samples, 8000)
	ear.mu.Unlock()
	fmt.Printf("the callee hears %.0f Hz\n", math.Round(hz))
	fmt.Println(callee.Stats().Codec)
	_ = caller.Close()
	_ = callee.Close()
	// Output:
	// offered PCMU then PCMA
	// answered PCMU
	// the callee hears 440 Hz
	// PCMU/8000
}
