package dinopeer

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestJournal: a wait finds an entry added before it as well as one added
// while it waits, returns the cursor after it so the next wait does not
// find it again, and gives up with ctx, naming what it waited for.
func TestJournal(t *testing.T) {
	j := newJournal[int]()
	j.add(1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	even := func(n int) bool { return n%2 == 0 }
	got := make(chan int, 1)
	go func() {
		n, _, err := j.wait(ctx, 0, "an even number", even)
		if err != nil {
			t.Error(err)
		}
		got <- n
	}()
	j.add(3)
	j.add(4)
	if n := <-got; n != 4 {
		t.Fatalf("waited for an even number, got %d", n)
	}
	n, next, err := j.wait(ctx, 0, "an odd number", func(n int) bool { return n%2 == 1 })
	if err != nil || n != 1 || next != 1 {
		t.Fatalf("the entry before the wait: %d %d %v, want 1 1 nil", n, next, err)
	}
	if n, next, _ = j.wait(ctx, next, "an odd number", func(n int) bool { return n%2 == 1 }); n != 3 || next != 2 {
		t.Fatalf("from the cursor: %d %d, want 3 2", n, next)
	}
	if all := j.all(1); len(all) != 2 || all[0] != 3 || j.mark() != 3 {
		t.Fatalf("all(1) = %v, mark %d", all, j.mark())
	}
	short, cancelShort := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancelShort()
	if _, _, err := j.wait(short, j.mark(), "a five", func(n int) bool { return n == 5 }); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("no five: %v, want the deadline", err)
	}
}
