// Package calllog keeps the call history a person sees ("missed call from
// Romeo") in an embedded SQLite database.
//
// A client calls (*Log).Record with every call.Event before it delivers the
// event to the application; each event is applied in one transaction, so a
// crash or kill loses nothing that was shown. Recording is idempotent and
// monotonic: the same event recorded twice (live and again from archive
// catch-up) changes nothing, and an ended call never goes back to ringing
// (a retract, reject or finish ends the session for good: XEP-0353 §3.3,
// §3.5, §3.7).
package calllog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/jmi-xmpp/jmi/call"
	"mellium.im/xmpp/jid"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver
)

// Outcome is how a call turned out, or where it stands.
type Outcome string

// The outcomes. Ringing and Active are not final.
const (
	Ringing           Outcome = "ringing"
	Active            Outcome = "active"
	Answered          Outcome = "answered"
	AnsweredElsewhere Outcome = "answered elsewhere"
	Declined          Outcome = "declined"
	Missed            Outcome = "missed"
	Withdrawn         Outcome = "withdrawn"
	Failed            Outcome = "failed"
	// Crossed: both parties called at the same moment and the other call
	// went on instead of this one (XEP-0353 §4.1).
	Crossed Outcome = "crossed"
	// Dropped is not one call but the engine's summary of a flood: calls
	// from untrusted senders dropped over its limits (call.Config's
	// MaxUntrustedPerPeer and MaxUntrusted), Dropped of them. Peer is the
	// sender when there was only one.
	Dropped Outcome = "dropped"
)

// rank orders outcomes: an entry only ever moves to a higher rank.
func (o Outcome) rank() int {
	switch o {
	case Ringing:
		return 1
	case Active:
		return 2
	case "":
		return 0
	}
	return 3 // final
}

// Final reports whether the call is over.
func (o Outcome) Final() bool { return o.rank() == 3 }

// Entry is one call of the history.
type Entry struct {
	ID        string
	Start     time.Time
	Direction string // "incoming" or "outgoing"
	Peer      string
	Media     []string
	Outcome   Outcome
	Device    string // the device that answered, if any
	Answered  time.Time
	End       time.Time
	Reason    string
	// Dropped counts the signals an entry of outcome Dropped sums up.
	Dropped int
}

// Duration is how long an answered call lasted, or zero. It is accurate
// to about a second: an end learned from the archive carries the server's
// stamp, which some servers (Prosody) give in whole seconds, so a call
// hung up within the second it was answered may show zero.
func (e Entry) Duration() time.Duration {
	if e.Answered.IsZero() || e.End.IsZero() || e.End.Before(e.Answered) {
		return 0
	}
	return e.End.Sub(e.Answered)
}

// Log is an open call history. It is safe for concurrent use.
type Log struct{ db *sql.DB }

// migrations are the schema steps; step i brings user_version from i to i+1.
var migrations = []string{
	`CREATE TABLE calls (
		id TEXT PRIMARY KEY,
		start INTEGER NOT NULL,
		direction TEXT NOT NULL,
		peer TEXT NOT NULL,
		media TEXT NOT NULL,
		outcome TEXT NOT NULL,
		device TEXT NOT NULL,
		answered INTEGER NOT NULL,
		ended INTEGER NOT NULL
	);
	CREATE INDEX calls_start ON calls(start);`,
	`ALTER TABLE calls ADD COLUMN reason TEXT NOT NULL DEFAULT '';`,
	`ALTER TABLE calls ADD COLUMN dropped INTEGER NOT NULL DEFAULT 0;`,
}

// DefaultDir is the directory of jmi's data: $JMI_DATA_DIR, else
// $XDG_DATA_HOME/jmi, else ~/.local/share/jmi.
func DefaultDir(getenv func(string) string) (string, error) {
	if d := getenv("JMI_DATA_DIR"); d != "" {
		return d, nil
	}
	if d := getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "jmi"), nil
	}
	home := getenv("HOME")
	if home == "" {
		return "", errors.New("calllog: no JMI_DATA_DIR, XDG_DATA_HOME or HOME")
	}
	return filepath.Join(home, ".local", "share", "jmi"), nil
}

// FileName is the name of the history database inside the data directory.
const FileName = "calls.db"

// Open opens or creates the history database at path and brings its schema
// up to date.
func Open(path string) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("calllog: %w", err)
	}
	// WAL lets jmi log read while the client writes. synchronous=FULL: a
	// commit is on disk before the event reaches the user, so even a power
	// loss keeps what was shown; the cost is one fsync per event, a few per
	// call.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(5000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("calllog: %w", err)
	}
	db.SetMaxOpenConns(1) // one writer; serialises Record calls
	if err := migrate(db, len(migrations)); err != nil {
		db.Close()
		// Name the file: "file is not a database" alone does not say
		// which one to move away.
		return nil, fmt.Errorf("calllog: the call history %s: %w", path, unprefixed{err})
	}
	return &Log{db: db}, nil
}

// migrate applies the steps up to version to.
func migrate(db *sql.DB, to int) error {
	var v int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("calllog: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("calllog: database version %d is newer than this jmi (%d)", v, len(migrations))
	}
	for ; v < to; v++ {
		tx, err := db.Begin()
		if err != nil {
			return fmt.Errorf("calllog: %w", err)
		}
		if _, err := tx.Exec(migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("calllog: migration %d: %w", v+1, err)
		}
		if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, v+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("calllog: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("calllog: %w", err)
		}
	}
	return nil
}

// Close closes the database.
func (l *Log) Close() error { return l.db.Close() }

// Apply folds one event into an entry and reports whether it changed. It
// is the outcome derivation, without the database. Ignored events are not
// calls and change nothing, but for the summary of a flood (an EventIgnored
// with a Count), which is one entry of outcome Dropped: what the user was
// told of, once, rather than one row per message.
func Apply(e *Entry, ev call.Event) bool {
	if isOverflow(ev) {
		old := *e
		e.ID, e.Start, e.End, e.Direction, e.Outcome = entryID(ev), ev.At, ev.At, "incoming", Dropped
		e.Peer, e.Reason, e.Dropped = ev.Peer.Bare().String(), ev.Reason, ev.Count
		if ev.Peer.Equal(jid.JID{}) {
			e.Peer = ""
		}
		return !reflect.DeepEqual(old, *e)
	}
	if ev.Type == call.EventIgnored || ev.Type == call.EventUnknown || ev.ID == "" {
		return false
	}
	old := *e
	oldMedia := strings.Join(e.Media, ",")
	if e.ID == "" {
		e.ID = ev.ID
	}
	// The call starts at its earliest event, whatever order they come in.
	if !ev.At.IsZero() && (e.Start.IsZero() || ev.At.Before(e.Start)) {
		e.Start = ev.At
	}
	if e.Direction == "" {
		switch ev.Direction {
		case call.Incoming:
			e.Direction = "incoming"
		case call.Outgoing:
			e.Direction = "outgoing"
		}
	}
	if e.Peer == "" {
		e.Peer = ev.Peer.Bare().String()
	}
	if len(e.Media) == 0 && len(ev.Media) > 0 {
		e.Media = append([]string(nil), ev.Media...)
	}
	to := Outcome("")
	switch ev.Type {
	case call.EventProposed, call.EventIncoming, call.EventRinging:
		to = Ringing
	case call.EventProceeded:
		to = Active
		if e.Answered.IsZero() && e.Outcome != Crossed {
			e.Answered = ev.At
			e.Device = ev.Device.String()
		}
	case call.EventRejected: // XEP-0353 §3.5
		to = Declined
	case call.EventRetracted: // XEP-0353 §3.3
		to = Withdrawn
	case call.EventMissed:
		to = Missed
	case call.EventFinished: // XEP-0353 §3.7: ends a proceeded call
		to = Failed
		if ev.Failed {
			// A bounce: the answer never reached the caller, if there
			// was one (call.Bounced).
			e.Answered, e.Device = time.Time{}, ""
		} else if !e.Answered.IsZero() || e.Outcome == Active {
			to = Answered
		}
	}
	if ev.TieBreak && (to == Declined || to == Withdrawn) {
		// The tie-break is the protocol's resolution of crossed calls: it
		// ends this one even after an answer that crossed it (§4.1).
		to = Crossed
		e.Outcome, e.Answered, e.Device, e.End, e.Reason = Crossed, time.Time{}, "", ev.At, ev.Reason
	}
	if to.Final() {
		if e.End.IsZero() {
			e.End = ev.At
		}
		if e.Reason == "" {
			e.Reason = ev.Reason
		}
	}
	if to.rank() > e.Outcome.rank() {
		e.Outcome = to
	}
	// A proceed arriving after the finish (out of order) still names the
	// answered call.
	if e.Outcome == Failed && !e.Answered.IsZero() {
		e.Outcome = Answered
	}
	if e.Outcome == Answered && ev.Type == call.EventProceeded && ev.Elsewhere {
		e.Outcome = AnsweredElsewhere
	}
	if ev.Type == call.EventProceeded && ev.Elsewhere && e.Outcome == Active {
		// The call goes on at another device of ours: nothing more here.
		e.Outcome = AnsweredElsewhere
		if e.End.IsZero() {
			e.End = ev.At
		}
	}
	return e.ID != old.ID || !e.Start.Equal(old.Start) || e.Direction != old.Direction ||
		e.Peer != old.Peer || strings.Join(e.Media, ",") != oldMedia || e.Outcome != old.Outcome ||
		e.Device != old.Device || !e.Answered.Equal(old.Answered) || !e.End.Equal(old.End) || e.Reason != old.Reason
}

// isOverflow reports whether ev is the engine's summary of dropped
// signals.
func isOverflow(ev call.Event) bool { return ev.Type == call.EventIgnored && ev.Count > 0 }

// entryID is the key of ev's entry: the call's id, or for a flood's
// summary (which has none) one made of its time, so that recording the
// same summary twice changes nothing. The engine makes at most one summary
// a ring window.
func entryID(ev call.Event) string {
	if isOverflow(ev) {
		return fmt.Sprintf("dropped-%d", ev.At.UnixMilli())
	}
	return ev.ID
}

// Record applies one event to the history in one transaction.
func (l *Log) Record(ev call.Event) error {
	if (ev.Type == call.EventIgnored && !isOverflow(ev)) || entryID(ev) == "" {
		return nil
	}
	tx, err := l.db.Begin()
	if err != nil {
		return fmt.Errorf("calllog: %w", err)
	}
	defer tx.Rollback()
	var e Entry
	row := tx.QueryRow(`SELECT `+columns+` FROM calls WHERE id = ?`, entryID(ev))
	if err := scan(row, &e); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("calllog: %w", err)
	}
	if !Apply(&e, ev) {
		return nil
	}
	_, err = tx.Exec(`INSERT INTO calls (`+columns+`) VALUES (?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET start=excluded.start, direction=excluded.direction,
		peer=excluded.peer, media=excluded.media, outcome=excluded.outcome, device=excluded.device,
		answered=excluded.answered, ended=excluded.ended, reason=excluded.reason, dropped=excluded.dropped`,
		e.ID, unix(e.Start), e.Direction, e.Peer, strings.Join(e.Media, ","), string(e.Outcome),
		e.Device, unix(e.Answered), unix(e.End), e.Reason, e.Dropped)
	if err != nil {
		return fmt.Errorf("calllog: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("calllog: %w", err)
	}
	return nil
}

const columns = `id, start, direction, peer, media, outcome, device, answered, ended, reason, dropped`

// List returns up to limit entries, newest first.
func (l *Log) List(ctx context.Context, limit int) ([]Entry, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := l.db.QueryContext(ctx, `SELECT `+columns+` FROM calls ORDER BY start DESC, id LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("calllog: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		if err := scan(rows, &e); err != nil {
			return nil, fmt.Errorf("calllog: %w", err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func scan(r interface{ Scan(...any) error }, e *Entry) error {
	var start, answered, ended int64
	var media, outcome string
	if err := r.Scan(&e.ID, &start, &e.Direction, &e.Peer, &media, &outcome, &e.Device, &answered, &ended, &e.Reason, &e.Dropped); err != nil {
		return err
	}
	e.Start, e.Answered, e.End = fromUnix(start), fromUnix(answered), fromUnix(ended)
	e.Outcome = Outcome(outcome)
	if media != "" {
		e.Media = strings.Split(media, ",")
	}
	return nil
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromUnix(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Log is what a client's Recorder takes.
var _ interface{ Record(call.Event) error } = (*Log)(nil)

// unprefixed is an error of this package without its "calllog: ", for
// wrapping in another that has it.
type unprefixed struct{ err error }

func (u unprefixed) Error() string { return strings.TrimPrefix(u.err.Error(), "calllog: ") }
func (u unprefixed) Unwrap() error { return u.err }
