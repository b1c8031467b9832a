package call_test

import (
	"go/ast"
	"go/token"
	"testing"

	"github.com/jmi-xmpp/jmi/internal/puritytest"
)

// TestPurity keeps the engine pure: no import that does I/O or reads a
// clock or a random source, and no call of the clock (./dev lint checks the
// same with go list).
func TestPurity(t *testing.T) { puritytest.Check(t) }

// engineSources parses the package's non-test sources, by file name.
func engineSources(t *testing.T) (*token.FileSet, map[string]*ast.File) {
	t.Helper()
	return puritytest.Sources(t)
}
