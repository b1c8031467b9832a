// Package puritytest checks from a test that an engine package is pure: no
// import that does I/O or reads a clock or a random source, and no call of
// the clock. The engines (call, jingle/session) run it from their tests;
// ./dev lint checks the same imports with go list.
package puritytest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Forbidden are the imports an engine may not have.
var Forbidden = map[string]bool{
	"net": true, "os": true, "log": true, "log/slog": true, "math/rand": true, "math/rand/v2": true,
	"crypto/rand": true, "mellium.im/xmpp": true, "mellium.im/xmpp/mux": true, "syscall": true, "io/fs": true,
}

// Clock are the functions of package time that read or wait on the clock.
var Clock = map[string]bool{"Now": true, "Since": true, "Until": true, "Sleep": true, "After": true, "AfterFunc": true, "Tick": true, "NewTimer": true, "NewTicker": true}

// Check fails t for each forbidden import and each clock call in the
// non-test sources of the package in the current directory (the package
// under test), and when there is no source to check.
func Check(t *testing.T) {
	t.Helper()
	fset, sources := Sources(t)
	if len(sources) == 0 {
		t.Fatal("no source file checked")
	}
	for name, f := range sources {
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if Forbidden[path] {
				t.Errorf("%s imports %s", name, path)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == "time" && Clock[sel.Sel.Name] {
				t.Errorf("%s: time.%s reads the clock", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
	}
}

// Sources parses the non-test sources of the package in the current
// directory, by file name.
func Sources(t *testing.T) (*token.FileSet, map[string]*ast.File) {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	sources := map[string]*ast.File{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		sources[name] = f
	}
	return fset, sources
}
