// Package goldentest holds the helpers the wire tests of jmi and jingle, and
// the command's parse tests, share: walking the wire examples of a testdata
// directory, comparing an output with its golden file (rewritten under
// -update), and seeding a fuzz corpus with the examples.
package goldentest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Update is the -update flag of every test binary that imports the package:
// Compare then rewrites the golden files from what the code produces.
var Update = flag.Bool("update", false, "rewrite the golden files")

// Each runs fn as a subtest for every example dir/NAME.xml (not the
// NAME.golden.xml re-encodings), named NAME, with the file's path and
// content. It returns the names it ran and fails t when there is none.
func Each(t *testing.T, dir string, fn func(t *testing.T, name, path string, in []byte)) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, path := range files {
		if strings.HasSuffix(path, ".golden.xml") {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(path), ".xml")
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			fn(t, name, path, in)
		})
	}
	if len(seen) == 0 {
		t.Fatalf("no wire examples in %s", dir)
	}
	return seen
}

// Compare fails t when got differs from the content of the golden file,
// which -update first rewrites with got.
func Compare(t *testing.T, golden string, got []byte) {
	t.Helper()
	if *Update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		top, _, _ := strings.Cut(t.Name(), "/")
		t.Fatalf("%v (run go test -run %s -update)", err, top)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("differs from %s\n got: %s\nwant: %s", golden, got, want)
	}
}

// Seed adds to f's corpus every dir/*.xml of dirs of at most max bytes (0:
// any size): the examples, their golden re-encodings and the bad inputs.
func Seed(f *testing.F, max int, dirs ...string) {
	f.Helper()
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
		if err != nil {
			f.Fatal(err)
		}
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			if max == 0 || len(b) <= max {
				f.Add(b)
			}
		}
	}
}
