package media

import (
	"net"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"
)

// frameCounter is a Sink that signals each frame heard.
type frameCounter struct{ frames chan struct{} }

func newFrameCounter() *frameCounter { return &frameCounter{frames: make(chan struct{}, 4096)} }

func (f *frameCounter) WriteFrame([]int16, int) error {
	select {
	case f.frames <- struct{}{}:
	default:
	}
	return nil
}

// cpuTime is the CPU time (user and system) this process used so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSetup is the time from the "proceed" (the caller makes its
// session and its offer) to the first audio frame decoded on both sides:
// two Sessions, offer, answer and accept through the Jingle XML,
// candidates trickled through transport-info XML, in one process over
// loopback. Compare BenchmarkSetupFloor; a real call adds the XMPP round
// trips of session-initiate, session-accept and the first transport-info.
func BenchmarkSetup(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		c := newCall(b, Config{Source: &Tone{Frequency: 440}}, Config{Source: &Tone{Frequency: 660}})
		c.start(b)
		c.callerEv.waitFor(b, "caller audio", isAudio)
		c.calleeEv.waitFor(b, "callee audio", isAudio)
		b.StopTimer()
		_ = c.caller.Close()
		_ = c.callee.Close()
		b.StartTimer()
	}
}

// BenchmarkSetupFloor is the same setup with two bare pion PeerConnections
// (the same loopback settings and PCMU) exchanging the SDP and each
// candidate directly, with no Jingle translation: the floor of
// BenchmarkSetup.
func BenchmarkSetupFloor(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		floorCall(b)
	}
}

func floorCall(b *testing.B) {
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	newPeer := func() (*webrtc.PeerConnection, *webrtc.TrackLocalStaticSample) {
		var m webrtc.MediaEngine
		if err := m.RegisterCodec(PCMU.parameters(), webrtc.RTPCodecTypeAudio); err != nil {
			b.Fatal(err)
		}
		pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(&m), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			b.Fatal(err)
		}
		track, err := webrtc.NewTrackLocalStaticSample(PCMU.parameters().RTPCodecCapability, "audio", "floor")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := pc.AddTrack(track); err != nil {
			b.Fatal(err)
		}
		return pc, track
	}
	a, ta := newPeer()
	z, tz := newPeer()
	heard := make(chan struct{}, 2)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, p := range []struct {
		pc    *webrtc.PeerConnection
		track *webrtc.TrackLocalStaticSample
	}{{a, ta}, {z, tz}} {
		var once sync.Once
		p.pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
			if s != webrtc.PeerConnectionStateConnected {
				return
			}
			once.Do(func() {
				wg.Add(1)
				go func() {
					defer wg.Done()
					frame := make([]byte, 160)
					tick := time.NewTicker(FrameDuration)
					defer tick.Stop()
					for {
						_ = p.track.WriteSample(pmedia.Sample{Data: frame, Duration: FrameDuration})
						select {
						case <-stop:
							return
						case <-tick.C:
						}
					}
				}()
			})
		})
		p.pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			if _, _, err := t.ReadRTP(); err == nil {
				heard <- struct{}{}
			}
			for {
				if _, _, err := t.ReadRTP(); err != nil {
					return
				}
			}
		})
	}
	// Candidates go straight across, held until the other side has its
	// remote description, as Session does.
	var mu sync.Mutex
	ready := map[*webrtc.PeerConnection]bool{}
	held := map[*webrtc.PeerConnection][]webrtc.ICECandidateInit{}
	trickle := func(from, to *webrtc.PeerConnection) {
		from.OnICECandidate(func(c *webrtc.ICECandidate) {
			if c == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if !ready[to] {
				held[to] = append(held[to], c.ToJSON())
				return
			}
			_ = to.AddICECandidate(c.ToJSON())
		})
	}
	setReady := func(pc *webrtc.PeerConnection) {
		mu.Lock()
		defer mu.Unlock()
		ready[pc] = true
		for _, c := range held[pc] {
			_ = pc.AddICECandidate(c)
		}
	}
	trickle(a, z)
	trickle(z, a)
	offer, err := a.CreateOffer(nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := a.SetLocalDescription(offer); err != nil {
		b.Fatal(err)
	}
	if err := z.SetRemoteDescription(*a.LocalDescription()); err != nil {
		b.Fatal(err)
	}
	setReady(z)
	answer, err := z.CreateAnswer(nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := z.SetLocalDescription(answer); err != nil {
		b.Fatal(err)
	}
	if err := a.SetRemoteDescription(*z.LocalDescription()); err != nil {
		b.Fatal(err)
	}
	setReady(a)
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	for range 2 {
		select {
		case <-heard:
		case <-timer.C:
			b.Fatal("the floor's peers heard nothing")
		}
	}
	b.StopTimer()
	close(stop)
	_ = a.Close()
	_ = z.Close()
	wg.Wait()
	b.StartTimer()
}

// BenchmarkCallCPU measures the CPU time of one active PCMU call, both of
// its Sessions in this process, sending and receiving 50 packets a second
// each way; one op is one frame heard. cpu-%/endpoint is the share of
// one core one side of a call costs.
func BenchmarkCallCPU(b *testing.B) {
	heard := newFrameCounter()
	c := newCall(b, Config{Source: &Tone{Frequency: 440}}, Config{Source: &Tone{Frequency: 660}, Sink: heard})
	c.connect(b)
	c.calleeEv.waitFor(b, "callee audio", isAudio)
	for len(heard.frames) > 0 {
		<-heard.frames
	}
	runtime.GC()
	start, cpu0 := time.Now(), cpuTime(b)
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	b.ResetTimer()
	for b.Loop() {
		select {
		case <-heard.frames:
			timer.Reset(deadline)
		case <-timer.C:
			b.Fatal("no frame heard")
		}
	}
	wall, cpu := time.Since(start), cpuTime(b)-cpu0
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds()/2, "cpu-%/endpoint")
	_ = c.caller.Close()
	_ = c.callee.Close()
}

// BenchmarkConcurrentCalls sets up 100 calls in one process (their
// offers, answers and accepts made one after the other, the ICE and DTLS
// of all of them at once), waits until every side of every call heard
// audio, keeps them up for a second, and reports the setup time of them
// all, the CPU share while they are up, and the heap and goroutines a
// call costs. Run with -benchtime 1x; setup-ms/100calls is the wall
// time from the first offer until every side heard audio.
func BenchmarkConcurrentCalls(b *testing.B) {
	const calls = 100
	for b.Loop() {
		runtime.GC()
		var m0 runtime.MemStats
		runtime.ReadMemStats(&m0)
		g0 := runtime.NumGoroutine()
		start := time.Now()
		all := make([]*call, calls)
		for i := range all {
			all[i] = newCall(b, Config{Source: &Tone{Frequency: 440}}, Config{Source: &Tone{Frequency: 660}})
			all[i].start(b)
		}
		for _, c := range all {
			// 200 sessions starting on two cores take far longer than
			// one call: wait as long as the benchmark's own limit.
			c.callerEv.timeout, c.calleeEv.timeout = 5*time.Minute, 5*time.Minute
			c.callerEv.waitFor(b, "caller audio", isAudio)
			c.calleeEv.waitFor(b, "callee audio", isAudio)
		}
		setup := time.Since(start)
		up, cpu0 := time.Now(), cpuTime(b)
		<-time.After(time.Second)
		cpu, wall := cpuTime(b)-cpu0, time.Since(up)
		runtime.GC()
		var m1 runtime.MemStats
		runtime.ReadMemStats(&m1)
		g1 := runtime.NumGoroutine()
		for _, c := range all {
			if st := c.caller.Stats(); st.State != StateConnected {
				b.Fatalf("a call is %s", st.State)
			}
		}
		b.StopTimer()
		for _, c := range all {
			_ = c.caller.Close()
			_ = c.callee.Close()
		}
		b.StartTimer()
		b.ReportMetric(float64(setup.Milliseconds()), "setup-ms/100calls")
		b.ReportMetric(100*cpu.Seconds()/wall.Seconds(), "cpu-%/100calls")
		b.ReportMetric(float64(int64(m1.HeapInuse)-int64(m0.HeapInuse))/calls/1024, "heap-KiB/call")
		b.ReportMetric(float64(g1-g0)/calls, "goroutines/call")
	}
}

// BenchmarkG711Frame encodes and decodes one 20 ms frame of µ-law (160
// samples), to set beside the CPU of a whole call and of Opus.
func BenchmarkG711Frame(b *testing.B) {
	pcm := make([]int16, FrameSamples(8000))
	if err := (&Tone{Frequency: 440}).ReadFrame(pcm, 8000); err != nil {
		b.Fatal(err)
	}
	payload := make([]byte, 0, len(pcm))
	out := make([]int16, 0, len(pcm))
	b.ReportAllocs()
	for b.Loop() {
		payload = ulaw{}.encode(payload[:0], pcm)
		out = ulaw{}.decode(out[:0], payload)
	}
}

// BenchmarkCallCPUFloor is the CPU floor under BenchmarkCallCPU: two UDP
// sockets on loopback, each sending a 172-byte datagram (a PCMU packet's
// size) every FrameDuration from its own goroutine and reading the
// other's in another, with no ICE, SRTP or RTP. What a side of
// BenchmarkCallCPU costs above it is pion's and the Session's; one op is
// one datagram read by the second socket.
func BenchmarkCallCPUFloor(b *testing.B) {
	listen := func() *net.UDPConn {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	x, y := listen(), listen()
	stop := make(chan struct{})
	heard := make(chan struct{}, 4096)
	var wg sync.WaitGroup
	for _, p := range []struct {
		from, to *net.UDPConn
		heard    chan struct{}
	}{{x, y, nil}, {y, x, heard}} {
		wg.Add(2)
		go func() {
			defer wg.Done()
			datagram := make([]byte, 172)
			tick := time.NewTicker(FrameDuration)
			defer tick.Stop()
			to := p.to.LocalAddr().(*net.UDPAddr)
			for {
				_, _ = p.from.WriteToUDP(datagram, to)
				select {
				case <-stop:
					return
				case <-tick.C:
				}
			}
		}()
		go func() {
			defer wg.Done()
			buf := make([]byte, receiveBuffer)
			for {
				if _, _, err := p.from.ReadFromUDP(buf); err != nil {
					return
				}
				if p.heard != nil {
					select {
					case p.heard <- struct{}{}:
					default:
					}
				}
			}
		}()
	}
	runtime.GC()
	start, cpu0 := time.Now(), cpuTime(b)
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	b.ResetTimer()
	for b.Loop() {
		select {
		case <-heard:
			timer.Reset(deadline)
		case <-timer.C:
			b.Fatal("no datagram heard")
		}
	}
	wall, cpu := time.Since(start), cpuTime(b)-cpu0
	b.ReportMetric(100*cpu.Seconds()/wall.Seconds()/2, "cpu-%/endpoint")
	close(stop)
	_ = x.Close()
	_ = y.Close()
	wg.Wait()
}
