// Command jmi places, answers and reviews XMPP calls from a terminal, and
// helps client developers debug XEP-0353 Jingle Message Initiation.
//
// Usage:
//
//	jmi <command> [flags] [arguments]
//
// Run "jmi help" for the list of commands and their exit statuses.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"syscall"

	"golang.org/x/term"
)

// Exit statuses of the jmi command.
const (
	exitOK          = 0 // success (for call: answered and finished)
	exitError       = 1 // an error
	exitUsage       = 2 // bad usage
	exitDeclined    = 3 // call: the callee declined
	exitNotAnswered = 4 // call: withdrawn or timed out
)

// env is what a subcommand may touch: its arguments and the standard streams.
type env struct {
	args   []string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// tty says standard input is a terminal a person can answer prompts on.
	tty bool
	// readPassword reads a line from the terminal without echo; nil when
	// there is no terminal.
	readPassword func() ([]byte, error)
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e env) error
}

// commands lists every subcommand; one line each.
var commands = []command{
	{name: "parse", summary: "decode one JMI or Jingle stanza from standard input and print it as JSON", run: runParse},
	{name: "call", summary: "call someone and wait for the answer", run: runCall},
	{name: "listen", summary: "stay online and answer, decline or ignore incoming calls", run: runListen},
	{name: "demo", summary: "a private Prosody and six calls between Romeo and Juliet's devices, the last with audio", run: runDemo},
	{name: "replay", summary: "run a transcript of what one device saw through the client's code path", run: runReplay},
	{name: "log", summary: "print the call history", run: runLog},
}

// exitError carries a specific exit status out of a subcommand.
type statusError struct {
	status int
	err    error
}

func (e *statusError) Error() string { return e.err.Error() }
func (e *statusError) Unwrap() error { return e.err }

// newFlags makes a subcommand's flag set; -h prints usage on standard error.
func newFlags(name, usage string, e env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, usage) }
	return fs
}

// parseFlags parses a subcommand's arguments, flags before and after the
// positional ones ("jmi call juliet@capulet.example --media video"), up to
// a "--"; after -h it ends the command with status 0, after a bad flag
// with status 2.
func parseFlags(fs *flag.FlagSet, args []string) error {
	var positional, rest []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, rest = args[:i], args[i+1:]
	}
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return &statusError{status: exitOK}
			}
			return &statusError{status: exitUsage}
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	// Leave the positional arguments where fs.Args finds them.
	return fs.Parse(append(append([]string{"--"}, positional...), rest...))
}

// usageError reports bad usage: exit status 2.
func usageError(format string, args ...any) error {
	return &statusError{status: exitUsage, err: fmt.Errorf(format, args...)}
}

func main() {
	// A closed terminal (SIGHUP) ends calls as politely as Ctrl-C, and stops
	// the demo's server.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	e := env{args: os.Args[1:], stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	if fd := int(os.Stdin.Fd()); term.IsTerminal(fd) {
		e.tty = true
		e.readPassword = func() ([]byte, error) { return term.ReadPassword(fd) }
	}
	status := runEnv(ctx, e)
	stop()
	os.Exit(status)
}

// run runs the command line args without a terminal and returns the exit
// status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return runEnv(ctx, env{args: args, stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv})
}

// runEnv runs the command line e.args and returns the exit status.
func runEnv(ctx context.Context, e env) int {
	args, stdout, stderr := e.args, e.stdout, e.stderr
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			e.args = []string{args[1], "-h"}
			return runEnv(ctx, e)
		}
		printHelp(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		e.args = args[1:]
		err := c.run(ctx, e)
		if err == nil {
			return exitOK
		}
		var se *statusError
		if errors.As(err, &se) {
			if se.err != nil && se.err.Error() != "" {
				fmt.Fprintf(stderr, "jmi %s: %v\n", c.name, se.err)
			}
			return se.status
		}
		fmt.Fprintf(stderr, "jmi %s: %s\n", c.name, clean(err.Error()))
		return exitError
	}
	fmt.Fprintf(stderr, "jmi: unknown command %q; run \"jmi help\"\n", args[0])
	return exitUsage
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "jmi places, answers and reviews XMPP calls (XEP-0353 Jingle Message Initiation).")
	fmt.Fprintln(w, "\nUsage:\n\n\tjmi <command> [flags] [arguments]\n\nCommands:")
	cs := append([]command(nil), commands...)
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "\t%-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun \"jmi help <command>\" for a command's flags.")
	fmt.Fprintln(w, "\nExit status:\n\t0  success (call: answered and finished)\n\t1  error\n\t2  bad usage\n\t3  call: declined\n\t4  call: not answered (withdrawn or timed out)")
}
