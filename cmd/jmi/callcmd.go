package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/jmi-xmpp/jmi/call"
	"github.com/jmi-xmpp/jmi/calllog"
	"github.com/jmi-xmpp/jmi/client"
	"github.com/jmi-xmpp/jmi/media"
	"mellium.im/xmpp/jid"
)

const accountHelp = `Account:
  --jid JID        the account and this device's resource (default $JMI_JID)
  --server H:P     connect to host:port instead of looking the domain up
                   (default $JMI_SERVER)
  --tls MODE       starttls (default), direct, or none (loopback only)
  --ca-file FILE   trust only this CA for the server's certificate
  --resource R     the resource, when --jid has none (default "jmi")
  --data-dir DIR   call history and state (default $JMI_DATA_DIR, else
                   $XDG_DATA_HOME/jmi); one jmi call or jmi listen at a
                   time: a second one on the same directory fails at once
  --json           one JSON object per event on standard output
  -v               debug logs on standard error
The password comes from $JMI_PASSWORD or, on a terminal, a prompt; there is
no flag for it, so that it never shows in ps.
`

const callUsage = `Usage: jmi call [flags] PEER

Proposes a call to PEER (every device of PEER rings), shows the devices that
ring, and waits for the answer. Answered: the call is up until Ctrl-C,
--hangup-after, or the other side hangs up; then finish is sent. Not
answered within --ring-timeout: the call is withdrawn. Ctrl-C while ringing
withdraws it. If PEER calls at the same moment (or is already calling) and
that call wins the tie-break, it is answered here instead; if PEER moves the
call to another device, it goes on there; either way jmi call follows it.

  --media M            audio, video or audio,video (default audio)
  --ring-timeout D     how long to wait for an answer (default 45s)
  --hangup-after D     hang up after D in the call (default: wait)

Exit status: 0 answered and finished, 1 error (also a call that failed: the
server or the peer bounced it; and when the call history could not be
written, once the call has ended), 2 usage, 3 declined, 4 not answered
(withdrawn or timed out).

`

// accountFlags are the flags every networked subcommand shares.
type accountFlags struct {
	jid, server, tls, caFile, resource, dataDir string
	json, verbose                               bool
	trust                                       multiFlag
	ringTimeout                                 time.Duration
	// media is the audio of the calls; nil with --no-media.
	media *mediaSetup
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

func (a *accountFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.jid, "jid", "", "")
	fs.StringVar(&a.server, "server", "", "")
	fs.StringVar(&a.tls, "tls", "starttls", "")
	fs.StringVar(&a.caFile, "ca-file", "", "")
	fs.StringVar(&a.resource, "resource", "", "")
	fs.StringVar(&a.dataDir, "data-dir", "", "")
	fs.BoolVar(&a.json, "json", false, "")
	fs.BoolVar(&a.verbose, "v", false, "")
}

// session is a logged-in device with its history and output.
type session struct {
	c   *client.Client
	log *calllog.Log
	// unlock releases the data directory's lock.
	unlock func()
	// account is the full JID asked for.
	account jid.JID
	out     io.Writer
	json    bool
	// since is when the session began: events of calls before it come from
	// the archive's catch-up and are history, not news.
	since time.Time
	// historyFailed: the user was told that the history lacks events.
	historyFailed bool
	// media is the audio of the calls (nil with --no-media), shown
	// through view.
	media  *mediaSetup
	view   *mediaView
	stderr io.Writer
}

func (a *accountFlags) connect(ctx context.Context, e env) (*session, error) {
	if a.jid == "" {
		a.jid = e.getenv("JMI_JID")
	}
	if a.server == "" {
		a.server = e.getenv("JMI_SERVER")
	}
	if a.jid == "" {
		return nil, usageError("no account: give --jid or set JMI_JID")
	}
	j, err := jid.Parse(a.jid)
	if err != nil {
		return nil, usageError("--jid %q: %v", a.jid, err)
	}
	if a.resource != "" && j.Resourcepart() == "" {
		if j, err = j.WithResource(a.resource); err != nil {
			return nil, usageError("--resource %q: %v", a.resource, err)
		}
	}
	mode, err := client.ParseTLSMode(a.tls)
	if err != nil {
		return nil, usageError("%v", err)
	}
	password, err := a.password(e, j)
	if err != nil {
		return nil, err
	}
	if a.dataDir == "" {
		if a.dataDir, err = calllog.DefaultDir(e.getenv); err != nil {
			return nil, err
		}
	}
	unlock, err := lockDataDir(a.dataDir)
	if err != nil {
		return nil, err
	}
	history, err := calllog.Open(filepath.Join(a.dataDir, calllog.FileName))
	if err != nil {
		unlock()
		return nil, err
	}
	level := slog.LevelWarn
	if a.verbose {
		level = slog.LevelDebug
	}
	cfg := client.Config{
		JID: j, Password: password, Server: a.server, TLS: mode, CAFile: a.caFile,
		Recorder:  history,
		Engine:    call.Config{RingTimeout: a.ringTimeout},
		StateFile: filepath.Join(a.dataDir, strings.NewReplacer("@", "_", "/", "_").Replace(j.String())+".state.json"),
		Logger:    slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level})),
		Media:     a.media.config(),
	}
	if len(a.trust) > 0 {
		trusted := map[string]bool{}
		for _, t := range a.trust {
			tj, err := jid.Parse(t)
			if err != nil {
				history.Close()
				unlock()
				return nil, usageError("--trust %q: %v", t, err)
			}
			trusted[tj.Bare().String()] = true
		}
		cfg.Trust = func(p jid.JID) bool { return trusted[p.Bare().String()] }
	}
	since := time.Now()
	c, err := client.Dial(ctx, cfg)
	if err != nil {
		history.Close()
		unlock()
		return nil, err
	}
	select {
	case <-c.Ready():
	case <-ctx.Done():
	}
	s := &session{c: c, log: history, unlock: unlock, account: j, out: e.stdout, json: a.json, since: since, media: a.media, stderr: e.stderr}
	if a.media != nil {
		s.view = &mediaView{out: e.stdout, log: e.stderr, json: a.json, detail: a.media.flags.log,
			stats: func(id string) (media.Stats, bool) { return c.CallByID(id).MediaStats() }}
	}
	return s, nil
}

// password comes from $JMI_PASSWORD or, on a terminal, a prompt that does
// not echo; never from a flag, which would show in ps.
func (a *accountFlags) password(e env, j jid.JID) (string, error) {
	if p := e.getenv("JMI_PASSWORD"); p != "" {
		return p, nil
	}
	if e.readPassword == nil {
		return "", usageError("no password: set JMI_PASSWORD (or run on a terminal to be asked)")
	}
	fmt.Fprintf(e.stderr, "Password for %s: ", j.Bare())
	p, err := e.readPassword()
	fmt.Fprintln(e.stderr)
	if err != nil {
		return "", fmt.Errorf("reading the password: %w", err)
	}
	if len(p) == 0 {
		return "", usageError("no password given")
	}
	return string(p), nil
}

func (s *session) close() {
	s.c.Close()
	for range s.c.Events() {
	}
	// The client has closed the calls' media: show their ends, and
	// complete every recording's header, whatever the client closed.
	s.showMedia()
	if s.media != nil {
		if err := s.media.rec.closeAll(); err != nil {
			fmt.Fprintf(s.stderr, "jmi: %v\n", err)
		}
	}
	s.log.Close()
	s.unlock()
}

// showMedia shows what the client reported of the calls' media since the
// last time.
func (s *session) showMedia() {
	if s.media == nil {
		return
	}
	for _, it := range s.media.queue.take() {
		s.view.handle(it)
	}
}

// closedErr says why the client's events ended without our Close.
func (s *session) closedErr() error {
	err := s.c.Err()
	if errors.Is(err, client.ErrConflict) {
		// What the server said, without the client's own words for it.
		said := strings.TrimPrefix(err.Error(), client.ErrConflict.Error()+": ")
		return fmt.Errorf("stopped: another session logged in as %s, and the server closed this one (%s); run one jmi per device, or give each its own --resource", s.account, clean(said))
	}
	if err != nil {
		return fmt.Errorf("stopped: %s", clean(err.Error()))
	}
	return errors.New("the connection closed")
}

// historyTold reports a failed history write the first time it sees one:
// what the user was shown may be missing from "jmi log", and the user must
// know. It returns the failure (nil while every event was recorded).
func (s *session) historyTold(stderr io.Writer, cmd, consequence string) error {
	n, err := s.c.RecordErr()
	if err != nil && !s.historyFailed {
		s.historyFailed = true
		if consequence != "" {
			consequence = "; " + consequence
		}
		// The error names a call id, which comes from the network.
		fmt.Fprintf(stderr, "jmi %s: THE CALL HISTORY COULD NOT BE WRITTEN: %s.\njmi %s: what is shown here may be missing from \"jmi log\"%s\n", cmd, clean(err.Error()), cmd, consequence)
	}
	if err != nil {
		return fmt.Errorf("the call history could not be written: %d event(s) not recorded, the first: %s", n, clean(err.Error()))
	}
	return nil
}

// show prints one event: a JSON line, or a line for a person.
func (s *session) show(ev call.Event) {
	if s.json {
		b, _ := json.Marshal(ev)
		fmt.Fprintf(s.out, "%s\n", b)
		return
	}
	when, line := ev.At.Local(), describe(ev)
	layout := "15:04:05"
	if y, m, d := when.Date(); y != s.since.Year() || m != s.since.Month() || d != s.since.Day() {
		layout = "Jan 02 15:04:05"
	}
	if ev.At.Before(s.since) && ev.Type != call.EventIncoming {
		// A ring is news even when its propose is older than the session.
		line = "earlier: " + line
	}
	fmt.Fprintf(s.out, "%s  %s\n", when.Format(layout), line)
}

// setFlags is the set of the flags given on the command line.
func setFlags(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

func runCall(ctx context.Context, e env) error {
	fs := newFlags("call", callUsage+fmt.Sprintf(mediaHelp, recordCallHelp)+accountHelp, e)
	var a accountFlags
	a.register(fs)
	media := fs.String("media", "audio", "")
	fs.DurationVar(&a.ringTimeout, "ring-timeout", call.DefaultRingTimeout, "")
	hangupAfter := fs.Duration("hangup-after", 0, "")
	var mf mediaFlags
	mf.register(fs)
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError("give one peer to call")
	}
	peer, err := jid.Parse(fs.Arg(0))
	if err != nil {
		return usageError("peer %q: %v", fs.Arg(0), err)
	}
	if err := mf.check(true, setFlags(fs)); err != nil {
		return err
	}
	a.media = newMediaSetup(mf, true)
	s, err := a.connect(ctx, e)
	if err != nil {
		return err
	}
	defer s.close()
	err = s.call(ctx, e, peer, *media, *hangupAfter)
	if herr := s.historyTold(e.stderr, "call", "jmi call exits with status 1"); herr != nil {
		// The call has ended: now say it failed, whatever its outcome.
		return herr
	}
	return err
}

// call places the call and follows it until it ends.
func (s *session) call(ctx context.Context, e env, peer jid.JID, media string, hangupAfter time.Duration) error {
	// The user's Ctrl-C ends what is under way, politely: a fresh context
	// for the last messages.
	bg := context.WithoutCancel(ctx)
	h, err := s.c.Call(bg, peer, strings.Split(media, ",")...)
	if err != nil {
		return err
	}
	// The engine withdraws the call after --ring-timeout with no answer.
	var hangup <-chan time.Time
	audioTick, stopTick := s.media.ticker()
	defer stopTick()
	// hungUp: the user hung up; a call that goes on as another session
	// (the event of our hang-up may follow the peer's move) is hung up too.
	answered, hungUp := false, false
	for {
		select {
		case ev, ok := <-s.c.Events():
			if !ok {
				return s.closedErr()
			}
			if ev.ID != h.ID() {
				continue
			}
			s.show(ev)
			_ = s.historyTold(e.stderr, "call", "jmi call exits with status 1 when the call has ended")
			if ev.MigratedTo != "" {
				// The call goes on as another session, answered here: the
				// peer moved it (§4.2), or both called at once and theirs
				// survived (§4.1). Follow it. A tie-break met during the
				// catch-up names the peer's call while the catch-up still
				// holds it: it is answered here when the catch-up ends.
				next := s.c.CallByID(ev.MigratedTo)
				if info, ok, err := next.Info(bg); err == nil && ok && !info.Elsewhere && (info.State == call.StateActive || info.State == call.StatePending && info.Direction == call.Incoming) {
					h = next
					if hungUp {
						if err := h.HangUp(bg, nil); err != nil {
							return err
						}
					}
					continue
				}
			}
			switch ev.Type {
			case call.EventProceeded:
				answered = true
				if hungUp {
					// Interrupted while the call we follow waited for the
					// catch-up's end: hang it up now that it is answered
					// (already ended: nothing to do).
					if err := h.HangUp(bg, nil); err != nil && !errors.Is(err, call.ErrInvalidState) {
						return err
					}
				}
				if hangupAfter > 0 && hangup == nil {
					hangup = time.After(hangupAfter)
				}
			case call.EventRejected:
				return &statusError{status: exitDeclined, err: errors.New("declined")}
			case call.EventRetracted:
				return &statusError{status: exitNotAnswered, err: errors.New("not answered")}
			case call.EventFinished:
				if ev.Failed {
					// A message of the call bounced (call.Bounced).
					return fmt.Errorf("the call failed: %s", ev.Reason)
				}
				return nil
			}
		case <-s.media.ready():
			s.showMedia()
		case now := <-audioTick:
			s.view.tick(now, []string{h.ID()})
		case <-hangup:
			// Success too when the peer hung up at the same moment: the
			// engine then has nothing more to send, and the peer's finish
			// is the next event.
			hungUp = true
			if err := h.HangUp(bg, nil); err != nil {
				return err
			}
		case <-ctx.Done():
			hungUp = true
			if answered {
				if err := h.HangUp(bg, nil); err != nil {
					return err
				}
			} else if err := h.Withdraw(bg, nil); errors.Is(err, call.ErrInvalidState) {
				// Answered at the same moment, before we saw it: hang up.
				if err := h.HangUp(bg, nil); err != nil && !errors.Is(err, call.ErrInvalidState) {
					return err
				}
			} else if err != nil {
				return err
			}
			ctx = context.Background() // now wait for the event of our own action
		}
	}
}
