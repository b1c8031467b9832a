// Package dinopeer runs Dino (Debian's dino-im 0.4.2), a deployed XMPP
// client we did not write, headless, as a peer for jmi's interoperability
// tests: on a private X server (Xvfb), with a private session bus, a
// private PulseAudio with a null sink and source, and a desktop
// notification service of ours through which the tests see Dino ring and
// stop ringing, and answer or decline as a user clicking the notification.
// What Dino sends and receives is read from its stanza log
// (--print-xmpp=all).
//
// Dino has no server setting and trusts only the system's CA bundle, so
// the tests run inside the private network and mount namespaces that Main
// sets up (root is needed), with the server on 127.0.0.1:5222 for the
// domain localhost.
package dinopeer

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/jmi-xmpp/jmi/internal/dinopeer/stanzalog"
	_ "modernc.org/sqlite"
)

// SystemBundle is the CA bundle Dino (GnuTLS through GIO) trusts.
const SystemBundle = "/etc/ssl/certs/ca-certificates.crt"

// Programs are the executables a Dino peer needs, with the Debian package
// of each.
var Programs = map[string]string{
	"dino-im":     "dino-im",
	"Xvfb":        "xvfb",
	"dbus-daemon": "dbus-daemon",
	"pulseaudio":  "pulseaudio",
	"xdotool":     "xdotool",
}

// gstPackages are GStreamer plugins without which Dino thinks it cannot
// call, and then a propose does not even ring (rtpbin is in -good,
// nicesrc in gstreamer1.0-nice).
var gstPackages = []string{
	"gstreamer1.0-plugins-base", "gstreamer1.0-plugins-good", "gstreamer1.0-plugins-bad", "gstreamer1.0-nice",
}

// Available returns nil when Dino can run here, or what is missing.
func Available() error {
	var missing []string
	for prog, pkg := range Programs {
		if _, err := exec.LookPath(prog); err != nil {
			missing = append(missing, pkg)
		}
	}
	for _, pkg := range gstPackages {
		out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", pkg).Output()
		if err != nil || !strings.Contains(string(out), "install ok installed") {
			missing = append(missing, pkg)
		}
	}
	if _, err := os.Stat(SystemBundle); err != nil {
		missing = append(missing, "ca-certificates")
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("dinopeer: missing Debian packages: %s (./dev deps installs them)", strings.Join(missing, " "))
	}
	return nil
}

// Require ends a test that needs Dino when it cannot run here: it fails,
// loudly, or skips when the environment variable JMI_SKIP_DINO is 1.
func Require(t testing.TB) {
	t.Helper()
	err := Available()
	if err == nil {
		err = inPrivateNamespaces()
	}
	if err == nil {
		return
	}
	if os.Getenv(SkipEnv) == "1" {
		reportSkip(fmt.Sprintf("%s: Dino cannot run here: %v (%s=1)", t.Name(), err, SkipEnv))
		t.Skipf("SKIPPED, Dino cannot run here: %v (%s=1)", err, SkipEnv)
	}
	t.Fatalf("%v (set %s=1 to skip the Dino tests)", err, SkipEnv)
}

// SkippedFileEnv names a file to which a skipped test appends why, one
// line each: ./dev test shows them, since go test shows nothing of a
// package that passed.
const SkippedFileEnv = "JMI_SKIPPED_FILE"

func reportSkip(line string) {
	name := os.Getenv(SkippedFileEnv)
	if name == "" {
		return
	}
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintln(f, line)
}

// Options say which account Dino logs in to.
type Options struct {
	// Account is the bare JID (user@localhost: Dino finds the server at
	// localhost:5222); Resource its device (default "dino").
	Account, Resource, Password string
	// CAFile is the PEM certificate to trust beside the system's bundle:
	// the test server's.
	CAFile string
	// Contacts get an open conversation in Dino.
	Contacts []string
	// Dir holds Dino's home, the logs and the sockets; default a new
	// temporary directory that Close removes.
	Dir string
}

// Dino is a running Dino with everything around it.
type Dino struct {
	// JID is Dino's full JID (Account/Resource).
	JID string

	dir, ownDir string
	env         []string
	procs       []*proc // stopped in reverse order
	notifier    *notifier
	stanzas     *journal[Stanza]
	mounted     bool
	dino        *proc
	logFile     string
}

// Start starts Dino for opts.Account, returning once it is online: its
// own presence came back from the server, so that a message to the
// account reaches it. ctx bounds the start.
func Start(ctx context.Context, opts Options) (_ *Dino, err error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if err := inPrivateNamespaces(); err != nil {
		return nil, err
	}
	if opts.Resource == "" {
		opts.Resource = "dino"
	}
	d := &Dino{JID: opts.Account + "/" + opts.Resource, dir: opts.Dir, stanzas: newJournal[Stanza]()}
	if d.dir == "" {
		if d.dir, err = os.MkdirTemp("", "jmi-dino-"); err != nil {
			return nil, err
		}
		d.ownDir = d.dir
	}
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	for _, sub := range []string{"home", "run", "data", "config", "cache"} {
		if err := os.MkdirAll(filepath.Join(d.dir, sub), 0o700); err != nil {
			return nil, err
		}
	}
	if err := d.trust(opts.CAFile); err != nil {
		return nil, err
	}
	display, err := d.startX(ctx)
	if err != nil {
		return nil, err
	}
	bus, err := d.startBus(ctx)
	if err != nil {
		return nil, err
	}
	pulse, err := d.startPulse(ctx)
	if err != nil {
		return nil, err
	}
	if d.notifier, err = startNotifier(bus); err != nil {
		return nil, err
	}
	d.env = append(os.Environ(),
		"HOME="+filepath.Join(d.dir, "home"),
		"XDG_RUNTIME_DIR="+filepath.Join(d.dir, "run"),
		"XDG_DATA_HOME="+filepath.Join(d.dir, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(d.dir, "config"),
		"XDG_CACHE_HOME="+filepath.Join(d.dir, "cache"),
		"DISPLAY="+display,
		"DBUS_SESSION_BUS_ADDRESS="+bus,
		"PULSE_SERVER="+pulse,
		// GTK 4 on X11 drawn by cairo: Xvfb has no GL.
		"GDK_BACKEND=x11", "GSK_RENDERER=cairo",
		// No dconf, no accessibility bus: nothing else gets started.
		"GSETTINGS_BACKEND=memory", "NO_AT_BRIDGE=1", "GTK_A11Y=none",
		// The notification's texts in English.
		"LANG=C.UTF-8", "LANGUAGE=en", "LC_ALL=C.UTF-8",
	)
	// The first run creates the database; the account goes in while Dino
	// is stopped, and the second run logs in with it.
	if err := d.firstRun(ctx, bus); err != nil {
		return nil, err
	}
	if err := d.addAccount(opts); err != nil {
		return nil, err
	}
	if err := d.startDino(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// trust bind-mounts the system bundle plus caFile over the system bundle,
// in this mount namespace only.
func (d *Dino) trust(caFile string) error {
	if caFile == "" {
		return nil
	}
	system, err := os.ReadFile(SystemBundle)
	if err != nil {
		return err
	}
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	bundle := filepath.Join(d.dir, "ca-certificates.crt")
	if err := os.WriteFile(bundle, append(append(system, '\n'), ca...), 0o644); err != nil {
		return err
	}
	if err := syscall.Mount(bundle, SystemBundle, "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("dinopeer: bind-mounting the CA bundle: %w", err)
	}
	d.mounted = true
	return nil
}

// startX starts Xvfb on a display it picks itself (-displayfd), and
// returns the display once Xvfb has written it, which it does when ready.
func (d *Dino) startX(ctx context.Context) (string, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return "", err
	}
	defer r.Close()
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-nolisten", "tcp", "-screen", "0", "1280x800x24")
	cmd.ExtraFiles = []*os.File{w}
	p, err := d.start("Xvfb", cmd)
	w.Close()
	if err != nil {
		return "", err
	}
	line, err := readLine(ctx, r)
	if err != nil {
		return "", fmt.Errorf("dinopeer: Xvfb gave no display: %w\n%s", err, p.output())
	}
	return ":" + line, nil
}

// busConfig is a session bus that starts no services: only what we run
// is on it.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// startBus starts a private session bus and returns its address once the
// daemon has printed it, which it does when it listens.
func (d *Dino) startBus(ctx context.Context) (string, error) {
	conf := filepath.Join(d.dir, "bus.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConfig, filepath.Join(d.dir, "bus")), 0o644); err != nil {
		return "", err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return "", err
	}
	defer r.Close()
	cmd := exec.Command("dbus-daemon", "--config-file="+conf, "--nofork", "--nopidfile", "--print-address=3")
	cmd.ExtraFiles = []*os.File{w}
	p, err := d.start("dbus-daemon", cmd)
	w.Close()
	if err != nil {
		return "", err
	}
	addr, err := readLine(ctx, r)
	if err != nil {
		return "", fmt.Errorf("dinopeer: the session bus gave no address: %w\n%s", err, p.output())
	}
	return addr, nil
}

// startPulse starts PulseAudio with a null sink and a null source, the
// audio devices Dino needs to send media, and returns its server string
// once its socket accepts connections.
func (d *Dino) startPulse(ctx context.Context) (string, error) {
	sock := filepath.Join(d.dir, "pulse")
	cmd := exec.Command("pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=no",
		"-L", "module-native-protocol-unix socket="+sock+" auth-anonymous=1",
		"-L", "module-null-sink sink_name=jmi_speaker",
		"-L", "module-null-source source_name=jmi_mic")
	cmd.Env = append(os.Environ(), "HOME="+filepath.Join(d.dir, "home"), "XDG_RUNTIME_DIR="+filepath.Join(d.dir, "run"))
	p, err := d.start("pulseaudio", cmd)
	if err != nil {
		return "", err
	}
	// The one poll: PulseAudio says nowhere that it is ready but by
	// accepting on its socket.
	for {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
			return "unix:" + sock, nil
		}
		select {
		case <-p.done:
			return "", fmt.Errorf("dinopeer: pulseaudio exited: %s", p.output())
		case <-ctx.Done():
			return "", fmt.Errorf("dinopeer: pulseaudio did not listen: %w\n%s", ctx.Err(), p.output())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// dinoName is Dino's application id, its name on the session bus.
const dinoName = "im.dino.Dino"

// firstRun starts Dino without an account until it owns its name on the
// bus (it has created its database by then), and stops it.
func (d *Dino) firstRun(ctx context.Context, bus string) error {
	conn, err := dbus.Connect(bus)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.AddMatchSignal(dbus.WithMatchInterface("org.freedesktop.DBus"), dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, dinoName)); err != nil {
		return err
	}
	signals := make(chan *dbus.Signal, 8)
	conn.Signal(signals)
	cmd := exec.Command("dino-im")
	cmd.Env = d.env
	p, err := d.start("dino-im (first run)", cmd)
	if err != nil {
		return err
	}
	for owned := false; !owned; {
		select {
		case s := <-signals:
			owned = len(s.Body) == 3 && s.Body[2] != ""
		case <-p.done:
			return fmt.Errorf("dinopeer: Dino exited on its first run: %s", p.output())
		case <-ctx.Done():
			return fmt.Errorf("dinopeer: Dino did not come up on its first run: %w\n%s", ctx.Err(), p.output())
		}
	}
	p.stop(syscall.SIGTERM)
	return nil
}

// addAccount writes the account, and a conversation with each contact,
// into Dino's database.
func (d *Dino) addAccount(opts Options) error {
	db, err := sql.Open("sqlite", filepath.Join(d.dir, "data", "dino", "dino.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	res, err := db.Exec(`INSERT INTO account (bare_jid, resourcepart, password, alias, enabled) VALUES (?, ?, ?, ?, 1)`,
		opts.Account, opts.Resource, opts.Password, opts.Account)
	if err != nil {
		return fmt.Errorf("dinopeer: adding the account to Dino's database: %w", err)
	}
	account, _ := res.LastInsertId()
	for _, c := range opts.Contacts {
		res, err := db.Exec(`INSERT INTO jid (bare_jid) VALUES (?)`, c)
		if err != nil {
			return err
		}
		jidID, _ := res.LastInsertId()
		// type 0 is a one-to-one chat; active shows it in the list.
		if _, err := db.Exec(`INSERT INTO conversation (account_id, jid_id, active, active_last_changed, last_active, type, encryption, read_up_to_item, notification, send_typing, send_marker)
			VALUES (?, ?, 1, ?, ?, 0, 0, -1, 0, 0, 0)`, account, jidID, time.Now().Unix(), time.Now().Unix()); err != nil {
			return err
		}
	}
	return nil
}

// startDino runs Dino with its stanza log and waits until it is online.
func (d *Dino) startDino(ctx context.Context) error {
	from := d.stanzas.mark()
	cmd := exec.Command("dino-im", "--print-xmpp=all")
	cmd.Env = d.env
	// Dino writes the stanza log on standard error, unbuffered.
	out, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	p, err := d.start("dino-im", cmd)
	if err != nil {
		return err
	}
	d.dino = p
	d.logFile = filepath.Join(d.dir, "stanzas.log")
	raw, err := os.OpenFile(d.logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	go func() {
		defer raw.Close()
		stanzalog.Read(io.TeeReader(out, raw), d.stanzas.add)
	}()
	// Online: the server reflected Dino's presence to Dino itself.
	_, _, err = d.stanzas.wait(ctx, from, "presence of "+d.JID+" reflected to it", func(s Stanza) bool {
		return s.In && s.Name == "presence" && s.Attr("from") == d.JID && s.Attr("type") == ""
	})
	if err != nil {
		return fmt.Errorf("%w\n%s", err, d.Output())
	}
	return nil
}

// Close stops everything Start started, undoes the bind mount and removes
// the directory Start made. It is safe to call more than once.
func (d *Dino) Close() {
	if d.notifier != nil {
		d.notifier.close()
		d.notifier = nil
	}
	for i := len(d.procs) - 1; i >= 0; i-- {
		d.procs[i].stop(syscall.SIGKILL)
	}
	d.procs = nil
	if d.mounted {
		_ = syscall.Unmount(SystemBundle, 0)
		d.mounted = false
	}
	if d.ownDir != "" {
		_ = os.RemoveAll(d.ownDir)
		d.ownDir = ""
	}
}

// Output is what each program wrote, and the last of Dino's stanza
// log, for a failed test's report.
func (d *Dino) Output() string {
	var b strings.Builder
	for _, p := range d.procs {
		if out := p.output(); out != "" {
			fmt.Fprintf(&b, "--- %s:\n%s\n", p.name, out)
		}
	}
	if d.logFile != "" {
		log, _ := os.ReadFile(d.logFile)
		const tail = 16 << 10
		if len(log) > tail {
			log = log[len(log)-tail:]
		}
		fmt.Fprintf(&b, "--- the end of Dino's stanza log:\n%s\n", log)
	}
	return b.String()
}

// proc is a started program in its own process group, killed with this
// process (Pdeathsig) if not before.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
	mu   sync.Mutex
	out  bytes.Buffer
}

func (d *Dino) start(name string, cmd *exec.Cmd) (*proc, error) {
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if cmd.Stdout == nil {
		cmd.Stdout = (*lockedWriter)(p)
	}
	if cmd.Stderr == nil {
		cmd.Stderr = (*lockedWriter)(p)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("dinopeer: starting %s: %w", name, err)
	}
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	d.procs = append(d.procs, p)
	return p, nil
}

// stop signals the process group and waits for the process; SIGKILL
// follows after 5 s.
func (p *proc) stop(sig syscall.Signal) {
	p.once.Do(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, sig)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
	})
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

type lockedWriter proc

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Write(b)
}

// readLine reads one line from r, giving up when ctx ends; it reads
// nothing when the writer exits first.
func readLine(ctx context.Context, r *os.File) (string, error) {
	got := make(chan string, 1)
	go func() {
		var b []byte
		buf := make([]byte, 1)
		for {
			n, err := r.Read(buf)
			if n == 1 && buf[0] != '\n' {
				b = append(b, buf[0])
				continue
			}
			if n == 1 || err != nil {
				got <- strings.TrimSpace(string(b))
				return
			}
		}
	}()
	select {
	case s := <-got:
		if s == "" {
			return "", errors.New("nothing written")
		}
		return s, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Stanza is one top-level element Dino sent (In false) or received.
type Stanza = stanzalog.Stanza

// Element is an element of a Stanza.
type Element = stanzalog.Element

// Notices returns the cursor of the notification journal: a wait from it
// sees only what comes after.
func (d *Dino) Notices() int { return d.notifier.journal.mark() }

// WaitNotice waits for a notification event from the cursor on that
// matches, and returns it with the cursor after it.
func (d *Dino) WaitNotice(ctx context.Context, from int, what string, match func(Notice) bool) (Notice, int, error) {
	return d.notifier.waitNotice(ctx, from, what, match)
}

// NoticesSince returns the notification events from the cursor on.
func (d *Dino) NoticesSince(from int) []Notice { return d.notifier.journal.all(from) }

// Click invokes an action of a shown notification ("accept" or "reject"
// for a call), as a user clicking its button on a desktop.
func (d *Dino) Click(id uint32, action string) error { return d.notifier.invoke(id, action) }

// Stanzas returns the cursor of the stanza log.
func (d *Dino) Stanzas() int { return d.stanzas.mark() }

// WaitStanza waits for a stanza from the cursor on that matches, and
// returns it with the cursor after it.
func (d *Dino) WaitStanza(ctx context.Context, from int, what string, match func(Stanza) bool) (Stanza, int, error) {
	s, next, err := d.stanzas.wait(ctx, from, what, match)
	if err != nil {
		err = fmt.Errorf("%w; Dino's stanzas since:\n%s", err, d.describeStanzas(from))
	}
	return s, next, err
}

// StanzasSince returns the stanzas from the cursor on.
func (d *Dino) StanzasSince(from int) []Stanza { return d.stanzas.all(from) }

// describeStanzas lists the message and IQ stanzas from the cursor on,
// one a line (presence, acks and the rest left out).
func (d *Dino) describeStanzas(from int) string {
	var b strings.Builder
	for _, s := range d.stanzas.all(from) {
		if s.Name == "message" || s.Name == "iq" {
			b.WriteString("  " + s.String() + "\n")
		}
	}
	return b.String()
}

// Restart quits Dino and starts it again with the same account and data,
// returning once it is online again: the way to end a call that Dino
// keeps waiting in (after a JMI answer, it waits for Jingle for ever).
func (d *Dino) Restart(ctx context.Context) error {
	if err := d.quit(ctx); err != nil {
		return err
	}
	return d.startDino(ctx)
}

// quit asks Dino to quit, as its menu does (the application action
// "quit" on the session bus), so that it closes its stream and the server
// does not keep its session waiting for a resumption. Dino does not quit
// while it is in a call that never got its Jingle session: after 2 s
// (or when ctx ends) it is killed.
func (d *Dino) quit(ctx context.Context) error {
	p := d.dino
	if p == nil {
		return nil
	}
	d.dino = nil
	app := d.notifier.conn.Object(dinoName, "/im/dino/Dino")
	call := app.CallWithContext(ctx, "org.gtk.Actions.Activate", 0, "quit", []dbus.Variant{}, map[string]dbus.Variant{})
	grace := time.NewTimer(2 * time.Second)
	defer grace.Stop()
	select {
	case <-p.done:
	case <-grace.C:
	case <-ctx.Done():
	}
	p.stop(syscall.SIGKILL)
	if call.Err != nil {
		return fmt.Errorf("dinopeer: asking Dino to quit: %w", call.Err)
	}
	return nil
}

// OpenConversation shows the conversation with the contact, given as its
// place in Options.Contacts (0 the first), in Dino's window (the
// application action "open-conversation" with the conversation's id).
func (d *Dino) OpenConversation(ctx context.Context, contact int) error {
	app := d.notifier.conn.Object(dinoName, "/im/dino/Dino")
	// addAccount made the conversations in order, with ids from 1.
	id := dbus.MakeVariant(int32(contact + 1))
	call := app.CallWithContext(ctx, "org.gtk.Actions.Activate", 0, "open-conversation", []dbus.Variant{id}, map[string]dbus.Variant{})
	if call.Err != nil {
		return fmt.Errorf("dinopeer: opening the conversation: %w", call.Err)
	}
	return nil
}

// Where Dino 0.4.2 draws what StartAudioCall clicks, measured in its
// window (1200×700 at 0,0 on the Xvfb screen without a window manager)
// with a conversation open: the call button of the conversation's header
// bar, shown only when a device of the contact advertises Jingle, RTP and
// ICE-UDP, and the "Audio call" item of the menu it opens.
var (
	callButton    = [2]int{978, 28}
	audioCallItem = [2]int{977, 81}
)

// StartAudioCall clicks the open conversation's call button and then
// "Audio call", as a user does, and returns once Dino sent its propose
// (from the stanza cursor on), with the propose. Dino shows the button a
// moment after it learnt that the contact can be called, so a click that
// brought no propose within a second is tried again (after Escape closes
// a menu it may have opened), until ctx ends.
func (d *Dino) StartAudioCall(ctx context.Context, from int) (Stanza, error) {
	for {
		if err := d.xdotool("key", "Escape", "mousemove", fmt.Sprint(callButton[0]), fmt.Sprint(callButton[1]), "click", "1"); err != nil {
			return Stanza{}, err
		}
		// The menu opens on the click; the second click waits for nothing
		// but X's order: xdotool's events reach Dino after the first.
		if err := d.xdotool("mousemove", fmt.Sprint(audioCallItem[0]), fmt.Sprint(audioCallItem[1]), "click", "1"); err != nil {
			return Stanza{}, err
		}
		try, cancel := context.WithTimeout(ctx, time.Second)
		s, _, err := d.stanzas.wait(try, from, "propose", func(s Stanza) bool {
			return !s.In && s.Name == "message" && s.Child(nsJMI, "propose") != nil
		})
		cancel()
		if err == nil {
			return s, nil
		}
		if ctx.Err() != nil {
			return Stanza{}, fmt.Errorf("dinopeer: no propose after clicking Dino's call button: %w\n%s", ctx.Err(), d.describeStanzas(from))
		}
	}
}

const nsJMI = "urn:xmpp:jingle-message:0"

// hangUpButton is where Dino 0.4.2 draws the red hang-up button in its
// call window (704x528 on the Xvfb screen, the microphone and camera
// buttons to its left), relative to that window.
var hangUpButton = [2]int{421, 475}

// HangUp presses the hang-up button of Dino's call window, as a person
// would, until Dino sends session-terminate for call sid (its hang-up:
// Dino 0.4.2 sends no <finish/>), or ctx ends. The call window is the
// visible window named Dino other than the main one, and may lie under
// it: it is raised first.
func (d *Dino) HangUp(ctx context.Context, from int, sid string) (Stanza, error) {
	for {
		find := exec.Command("sh", "-c", `for w in $(xdotool search --onlyvisible --name '^Dino$'); do eval $(xdotool getwindowgeometry --shell $w); [ "$WIDTH" != 1200 ] && [ "$WIDTH" -gt 1 ] && echo $w; done`)
		find.Env = d.env
		out, err := find.Output()
		if err != nil {
			return Stanza{}, fmt.Errorf("dinopeer: finding the call window: %w", err)
		}
		for _, w := range strings.Fields(string(out)) {
			if err := d.xdotool("windowraise", w, "mousemove", "--window", w, fmt.Sprint(hangUpButton[0]), fmt.Sprint(hangUpButton[1]), "click", "1"); err != nil {
				return Stanza{}, err
			}
		}
		try, cancel := context.WithTimeout(ctx, time.Second)
		s, _, err := d.stanzas.wait(try, from, "session-terminate", func(s Stanza) bool {
			j := s.Find("urn:xmpp:jingle:1", "jingle")
			return !s.In && j != nil && j.Attr("action") == "session-terminate" && j.Attr("sid") == sid
		})
		cancel()
		if err == nil {
			return s, nil
		}
		if ctx.Err() != nil {
			return Stanza{}, fmt.Errorf("dinopeer: no session-terminate after pressing Dino's hang-up button: %w\n%s", ctx.Err(), d.describeStanzas(from))
		}
	}
}

// xdotool runs xdotool on Dino's display.
func (d *Dino) xdotool(args ...string) error {
	cmd := exec.Command("xdotool", args...)
	cmd.Env = d.env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("dinopeer: xdotool %q: %v: %s", args, err, out)
	}
	return nil
}
