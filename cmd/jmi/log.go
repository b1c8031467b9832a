package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jmi-xmpp/jmi/calllog"
)

const logUsage = `Usage: jmi log [--limit N] [--json] [--data-dir DIR]

Prints the call history, newest first: time, direction, peer, media,
outcome (answered, answered elsewhere, declined, missed, withdrawn, failed,
crossed: both called at once and the other call went on; or still
ringing/active), the device that answered and the duration.

  --limit N       at most N calls (default 20)
  --json          one JSON object per line instead of a table
  --data-dir DIR  where the history lives (default $JMI_DATA_DIR, else
                  $XDG_DATA_HOME/jmi, else ~/.local/share/jmi)
`

// logLine is the JSON form of one call.
type logLine struct {
	ID        string   `json:"id"`
	Start     string   `json:"start"`
	Direction string   `json:"direction"`
	Peer      string   `json:"peer"`
	Media     []string `json:"media,omitempty"`
	Outcome   string   `json:"outcome"`
	Device    string   `json:"device,omitempty"`
	Answered  string   `json:"answered,omitempty"`
	End       string   `json:"end,omitempty"`
	Seconds   float64  `json:"duration_seconds,omitempty"`
	Reason    string   `json:"reason,omitempty"`
	Dropped   int      `json:"dropped,omitempty"`
}

func runLog(ctx context.Context, e env) error {
	fl := newFlags("log", logUsage, e)
	limit := fl.Int("limit", 20, "")
	asJSON := fl.Bool("json", false, "")
	dir := fl.String("data-dir", "", "")
	if err := parseFlags(fl, e.args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return usageError("takes no arguments")
	}
	if *limit < 1 {
		return usageError("--limit must be at least 1")
	}
	if *dir == "" {
		d, err := calllog.DefaultDir(e.getenv)
		if err != nil {
			return err
		}
		*dir = d
	}
	path := filepath.Join(*dir, calllog.FileName)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintln(e.stdout, "No calls yet.")
		return nil
	}
	l, err := calllog.Open(path)
	if err != nil {
		return err
	}
	defer l.Close()
	entries, err := l.List(ctx, *limit)
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		fmt.Fprintln(e.stdout, "No calls yet.")
		return nil
	}
	if *asJSON {
		enc := json.NewEncoder(e.stdout)
		for _, x := range entries {
			if err := enc.Encode(toLogLine(x)); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tDIRECTION\tPEER\tMEDIA\tOUTCOME\tANSWERED BY\tDURATION")
	for _, x := range entries {
		dur := "-"
		if x.Outcome == calllog.Answered && !x.Answered.IsZero() && !x.End.IsZero() {
			dur = x.Duration().Round(time.Second).String()
		}
		outcome := string(x.Outcome)
		if x.Outcome == calllog.Dropped {
			// One row for a whole flood from untrusted senders.
			outcome = fmt.Sprintf("%s %d", outcome, x.Dropped)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.Start.Local().Format("2006-01-02 15:04:05"),
			orDash(x.Direction), orDash(clean(x.Peer)), orDash(clean(strings.Join(x.Media, ","))), outcome, orDash(clean(x.Device)), dur)
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func toLogLine(x calllog.Entry) logLine {
	l := logLine{ID: x.ID, Start: x.Start.Format(time.RFC3339Nano), Direction: x.Direction, Peer: x.Peer,
		Media: x.Media, Outcome: string(x.Outcome), Device: x.Device, Reason: x.Reason,
		Seconds: x.Duration().Seconds(), Dropped: x.Dropped}
	if !x.Answered.IsZero() {
		l.Answered = x.Answered.Format(time.RFC3339Nano)
	}
	if !x.End.IsZero() {
		l.End = x.End.Format(time.RFC3339Nano)
	}
	return l
}
