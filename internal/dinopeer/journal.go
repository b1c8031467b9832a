package dinopeer

import (
	"context"
	"fmt"
	"sync"
)

// journal is an append-only record of what a peer did, that tests wait on:
// every entry stays, and a wait reads from a cursor, so that nothing is lost
// between two waits and an entry that came before the wait is found too.
type journal[T any] struct {
	mu      sync.Mutex
	entries []T
	changed chan struct{} // closed and replaced at each append
}

func newJournal[T any]() *journal[T] {
	return &journal[T]{changed: make(chan struct{})}
}

func (j *journal[T]) add(e T) {
	j.mu.Lock()
	j.entries = append(j.entries, e)
	close(j.changed)
	j.changed = make(chan struct{})
	j.mu.Unlock()
}

// mark is the cursor after the last entry so far.
func (j *journal[T]) mark() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.entries)
}

// all returns a copy of the entries from the cursor on.
func (j *journal[T]) all(from int) []T {
	j.mu.Lock()
	defer j.mu.Unlock()
	if from > len(j.entries) {
		return nil
	}
	return append([]T(nil), j.entries[from:]...)
}

// wait returns the first entry from the cursor on that matches, and the
// cursor after it; it gives up when ctx ends, naming what it waited for.
func (j *journal[T]) wait(ctx context.Context, from int, what string, match func(T) bool) (T, int, error) {
	for {
		j.mu.Lock()
		for i := from; i < len(j.entries); i++ {
			if match(j.entries[i]) {
				e := j.entries[i]
				j.mu.Unlock()
				return e, i + 1, nil
			}
		}
		from = max(from, len(j.entries))
		changed := j.changed
		j.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			var zero T
			return zero, from, fmt.Errorf("dinopeer: no %s: %w", what, ctx.Err())
		}
	}
}
