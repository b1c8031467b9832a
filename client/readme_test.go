package client

import (
	"os"
	"strings"
	"testing"
)

// TestReadmeGoAPI: the Go code of the README's "The Go API" section is the
// body of Example_readme, which compiles; an edit to one without the other
// fails here.
func TestReadmeGoAPI(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	i := strings.Index(s, "## The Go API\n\n```go\n")
	if i < 0 {
		t.Fatal("the README has no Go API section with Go code")
	}
	s = s[i+len("## The Go API\n\n```go\n"):]
	block := s[:strings.Index(s, "```\n")]

	ex, err := os.ReadFile("example_test.go")
	if err != nil {
		t.Fatal(err)
	}
	e := string(ex)
	begin, end := strings.Index(e, "// README begin\n"), strings.Index(e, "// README end")
	if begin < 0 || end < begin {
		t.Fatal("example_test.go has no README markers")
	}
	var lines []string
	for _, l := range strings.SplitAfter(e[begin+len("// README begin\n"):end], "\n") {
		lines = append(lines, strings.TrimPrefix(l, "\t\t"))
	}
	code := strings.TrimRight(strings.Join(lines, ""), "\t")
	if code != block {
		t.Errorf("the README's Go API code and Example_readme differ:\nREADME:\n%s\nExample:\n%s", block, code)
	}
}
