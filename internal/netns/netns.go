// Package netns runs one test in private network and mount namespaces:
// the test binary re-executes itself there (as root) for that test alone,
// so that the test may bring up loopback addresses of its own, listen on
// fixed ports no other program on the machine shares, and bind-mount files
// such as /etc/hosts for itself and the programs it starts, without any of
// it reaching the host.
//
// A test uses it so:
//
//	func TestFederation(t *testing.T) {
//		if !netns.Inside() {
//			netns.Rerun(t, "JMI_SKIP_FEDERATION")
//			return
//		}
//		if err := netns.SetUp(); err != nil { t.Fatal(err) }
//		...
//	}
package netns

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// env marks the test binary re-executed inside the namespaces; its value is
// the mount namespace it was started from.
const env = "JMI_NETNS"

// SkippedFileEnv names a file to which a skipped test appends why, one line
// each: ./dev test shows them, since go test shows nothing of a package that
// passed.
const SkippedFileEnv = "JMI_SKIPPED_FILE"

// Inside reports whether this process is the test binary re-executed by
// Rerun in private namespaces.
func Inside() bool {
	outer := os.Getenv(env)
	if outer == "" {
		return false
	}
	self, err := os.Readlink("/proc/self/ns/mnt")
	return err == nil && self != outer
}

// Rerun runs the test t again in a child test binary inside new network and
// mount namespaces, with only t (and the subtests the -run flag selects)
// selected, and with the child's output in t's log; t fails when the child
// fails. Without root it fails t, or skips it when the environment variable
// skipEnv is 1 (and writes why to the file of JMI_SKIPPED_FILE).
func Rerun(t *testing.T, skipEnv string) {
	t.Helper()
	if os.Geteuid() != 0 {
		why := fmt.Sprintf("private network and mount namespaces need root (running as uid %d)", os.Geteuid())
		if os.Getenv(skipEnv) == "1" {
			ReportSkip(fmt.Sprintf("%s: %s (%s=1)", t.Name(), why, skipEnv))
			t.Skipf("SKIPPED: %s (%s=1)", why, skipEnv)
		}
		t.Fatalf("%s (set %s=1 to skip %s)", why, skipEnv, t.Name())
	}
	outer, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	run := ""
	if f := flag.Lookup("test.run"); f != nil {
		run = f.Value.String()
	}
	cmd := exec.Command("/proc/self/exe", childArgs(t.Name(), run, os.Args[1:])...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(os.Environ(), env+"="+outer)
	// The child's output goes into t's log as it comes (shown with -v or
	// when t fails), so that a hung child shows how far it got.
	log := t.Output()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWNET,
		// If this process dies (a kill on time-out), so does the child,
		// and with it, through their own Pdeathsig, what it started.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("re-running %s in private namespaces: %v", t.Name(), err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%s in private namespaces: %v", t.Name(), err)
	}
}

// childArgs are the test flags of the child: the parent's, but verbose (so
// that its log names every subtest) and with -test.run selecting only the
// test name, and below it what the parent's pattern run selects below its
// first level.
func childArgs(name, run string, args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-test.run":
			i++ // the pattern follows
		case a == "-test.v" || strings.HasPrefix(a, "-test.run=") || strings.HasPrefix(a, "-test.v="):
		case ownsFile(a):
			// The parent's test log, profiles and traces are its own: a
			// child writing the same files would spoil them.
		default:
			out = append(out, a)
		}
	}
	pattern := "^" + name + "$"
	if _, below, ok := strings.Cut(run, "/"); ok {
		pattern += "/" + below
	}
	return append(out, "-test.v=true", "-test.run="+pattern)
}

// ownsFile reports whether a is a flag that names a file the test binary
// writes.
func ownsFile(a string) bool {
	name, _, _ := strings.Cut(strings.TrimPrefix(a, "-test."), "=")
	switch name {
	case "testlogfile", "coverprofile", "cpuprofile", "memprofile", "blockprofile", "mutexprofile", "trace", "outputdir", "gocoverdir":
		return strings.HasPrefix(a, "-test.") && strings.Contains(a, "=")
	}
	return false
}

// SetUp prepares the namespaces inside the child of Rerun (see Prepare).
func SetUp() error {
	if !Inside() {
		return errors.New("netns: not in the private namespaces of Rerun")
	}
	return Prepare()
}

// Prepare sets up new network and mount namespaces, whoever made them: it
// makes every mount private, so that a bind mount here never propagates
// to the host, and brings up the loopback interface, which a new network
// namespace starts without (once it is up, all of 127.0.0.0/8 is on it).
func Prepare() error {
	if err := syscall.Mount("none", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("netns: making mounts private: %w", err)
	}
	if err := loopbackUp(); err != nil {
		return fmt.Errorf("netns: bringing lo up: %w", err)
	}
	return nil
}

// BindFile puts content over the file at path, for this namespace only
// (the host's file is untouched): it writes content to a file in dir
// (readable by everyone, as the servers run as their own users) and
// bind-mounts it over path. unmount puts the file of path back; call it
// before dir is removed.
func BindFile(dir, path string, content []byte) (unmount func() error, err error) {
	if !Inside() {
		return nil, errors.New("netns: a bind mount outside the private namespaces of Rerun")
	}
	src := filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(src, content, 0o644); err != nil {
		return nil, fmt.Errorf("netns: %w", err)
	}
	if err := os.Chmod(src, 0o644); err != nil {
		return nil, fmt.Errorf("netns: %w", err)
	}
	if err := syscall.Mount(src, path, "", syscall.MS_BIND, ""); err != nil {
		return nil, fmt.Errorf("netns: bind-mounting over %s: %w", path, err)
	}
	return func() error {
		if err := syscall.Unmount(path, 0); err != nil {
			return fmt.Errorf("netns: unmounting %s: %w", path, err)
		}
		return nil
	}, nil
}

// ReportSkip appends line to the file of JMI_SKIPPED_FILE, if set, so that
// ./dev test lists the skip.
func ReportSkip(line string) {
	name := os.Getenv(SkippedFileEnv)
	if name == "" {
		return
	}
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintln(f, line)
}

// loopbackUp sets IFF_UP on lo (ioctl SIOCSIFFLAGS).
func loopbackUp() error {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer syscall.Close(fd)
	// struct ifreq: the name (16 bytes), then a union whose first member
	// here is the short ifr_flags.
	var req [40]byte
	copy(req[:], "lo")
	if err := ioctl(fd, syscall.SIOCGIFFLAGS, &req); err != nil {
		return err
	}
	flags := *(*uint16)(unsafe.Pointer(&req[16]))
	*(*uint16)(unsafe.Pointer(&req[16])) = flags | syscall.IFF_UP | syscall.IFF_RUNNING
	return ioctl(fd, syscall.SIOCSIFFLAGS, &req)
}

func ioctl(fd int, op uintptr, req *[40]byte) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), op, uintptr(unsafe.Pointer(req))); e != 0 {
		return e
	}
	return nil
}
