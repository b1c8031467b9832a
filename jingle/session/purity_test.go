package session_test

import (
	"testing"

	"github.com/jmi-xmpp/jmi/internal/puritytest"
)

// TestPurity keeps the engine pure, as package call is: no import that does
// I/O or reads a clock or a random source, and no call of the clock
// (./dev lint checks the same with go list).
func TestPurity(t *testing.T) { puritytest.Check(t) }
