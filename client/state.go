package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// state is what a device keeps between runs.
type state struct {
	// LastArchiveID is the id of the last archive result read.
	LastArchiveID string `json:"last_archive_id,omitempty"`
	// CaughtUpAt is when the last catch-up began: the next one, if no
	// archive id is known, reads from then.
	CaughtUpAt time.Time `json:"caught_up_at,omitzero"`
}

func loadState(path string) (state, error) {
	var st state
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("client: reading the state file: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("client: the state file %s is damaged: %w", path, err)
	}
	return st, nil
}

// saveState writes the state atomically: a crash leaves the old file or the
// new one, never half of one.
func saveState(path string, st state) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
