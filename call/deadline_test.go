package call_test

import (
	"flag"
	"fmt"
	"go/ast"
	"go/token"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jmi-xmpp/jmi/call"
)

var deadlineSeed = flag.Uint64("deadline.seed", 0, "run TestNextDeadlineAgainstScan for this seed only (0: every default seed)")

// TestNextDeadlineAgainstScan plays seeded random input sequences (those of
// FuzzMachine) and checks after every input that NextDeadline is what a
// scan of every call gives, that the deadline queues hold exactly the calls
// with a deadline, and that a Tick leaves nothing due. A short
// SessionTimeout makes calls be forgotten and their ids reused within a
// sequence. A failure prints its seed.
func TestNextDeadlineAgainstScan(t *testing.T) {
	configs := []call.Config{
		{Account: julietPhone},
		{Account: julietPhone, RingTimeout: 20 * time.Second, RingWindow: 30 * time.Second, SessionTimeout: 2 * time.Minute},
	}
	first, n := uint64(1), uint64(3000)
	if testing.Short() {
		n = 300
	}
	if *deadlineSeed != 0 {
		first, n = *deadlineSeed, 1
	}
	for seed := first; seed < first+n; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0x6a6d69))
		data := make([]byte, 3*(20+rng.IntN(200)))
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		for ci, cfg := range configs {
			m := call.New(cfg)
			step := 0
			var failure error
			playBytes(m, data, func(in call.Input, now time.Time, _ []call.Effect, _ error) {
				step++
				if failure != nil {
					return
				}
				if err := m.CheckDeadlines(); err != nil {
					failure = fmt.Errorf("step %d (%T): %w", step, in, err)
					return
				}
				if _, ok := in.(call.Tick); ok {
					if err := m.CheckTicked(now); err != nil {
						failure = fmt.Errorf("step %d: %w", step, err)
					}
				}
			})
			if failure != nil {
				t.Fatalf("seed %d, config %d: %v\nrerun with: go test ./call -run TestNextDeadlineAgainstScan -deadline.seed=%d", seed, ci, failure, seed)
			}
		}
	}
}

// TestDeadlineSetters keeps every change of a call's deadline and deferred
// flag in setDeadline and setDeferred, which keep the deadline queues in
// step: none may be forgotten.
func TestDeadlineSetters(t *testing.T) {
	owners := map[string]string{"deadline": "setDeadline", "deferred": "setDeferred", "slot": ""}
	fset, sources := engineSources(t)
	for _, f := range sources {
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			// The queue's own methods keep slot.
			queue := fn.Recv != nil && len(fn.Recv.List) == 1 && strings.Contains(types(fn.Recv.List[0].Type), "deadlineQueue")
			check := func(field string, pos token.Pos) {
				owner, ok := owners[field]
				if !ok || (owner != "" && fn.Name.Name == owner) || (owner == "" && queue) {
					return
				}
				t.Errorf("%s: %s sets %s outside %s", fset.Position(pos), fn.Name.Name, field, map[bool]string{true: owner, false: "the queue's methods"}[owner != ""])
			}
			ast.Inspect(fn, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.AssignStmt:
					for _, l := range n.Lhs {
						if sel, ok := l.(*ast.SelectorExpr); ok {
							check(sel.Sel.Name, sel.Pos())
						}
					}
				case *ast.IncDecStmt:
					if sel, ok := n.X.(*ast.SelectorExpr); ok {
						check(sel.Sel.Name, sel.Pos())
					}
				case *ast.KeyValueExpr:
					if id, ok := n.Key.(*ast.Ident); ok {
						check(id.Name, id.Pos())
					}
				}
				return true
			})
		}
	}
}

func types(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return "*" + types(e.X)
	case *ast.Ident:
		return e.Name
	}
	return ""
}
