package dinopeer

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/jmi-xmpp/jmi/internal/netns"
)

// Dino has no server setting: it looks the domain up (SRV, then
// DOMAIN:5222) and trusts only the system's CA bundle. So the tests run in
// private namespaces: a network namespace, where the server can have port
// 5222 of a loopback that no other program on the machine shares (a server
// or another test run may hold 5222 on the host), and a mount namespace,
// where a bundle with the test CA is bind-mounted over the system's for
// Dino alone. The whole test binary runs there, so that the jmi side
// reaches the same loopback.

// nsEnv marks the test binary re-executed inside the namespaces; its
// value is the mount namespace it was started from.
const nsEnv = "JMI_DINO_NAMESPACE"

// SkipEnv, set to 1, lets the tests skip when Dino cannot run here (its
// packages missing, or no root for the namespaces); otherwise they fail.
const SkipEnv = "JMI_SKIP_DINO"

// errNotNamespaced is why a Dino cannot start outside Main's namespaces.
var errNotNamespaced = errors.New("dinopeer: not in the private namespaces of dinopeer.Main (call it from TestMain)")

// Main runs the tests of a package that uses Dino inside private network
// and mount namespaces: called from TestMain, it re-executes the test
// binary there and returns its exit status; inside, it brings up the
// loopback, makes every mount private (nothing mounted there reaches the
// host), and runs the tests. When the namespaces cannot be had (not root),
// it runs the tests where they are, and Require fails or skips them.
func Main(m *testing.M) int {
	if os.Getenv(nsEnv) != "" {
		if err := netns.Prepare(); err != nil {
			fmt.Fprintf(os.Stderr, "dinopeer: setting up the namespaces: %v\n", err)
			return 1
		}
		return m.Run()
	}
	if os.Geteuid() != 0 {
		namespaceProblem = fmt.Errorf("dinopeer: private network and mount namespaces need root (running as uid %d)", os.Geteuid())
		return m.Run()
	}
	outer, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		fmt.Fprintf(os.Stderr, "dinopeer: %v\n", err)
		return 1
	}
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Args[0] = os.Args[0]
	cmd.Env = append(os.Environ(), nsEnv+"="+outer)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWNS | syscall.CLONE_NEWNET,
		// If this process dies (a kill on time-out), so does the child,
		// and with it, through their own Pdeathsig, what it started.
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() >= 0 {
			return exit.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "dinopeer: running the tests in private namespaces: %v\n", err)
		return 1
	}
	return 0
}

// namespaceProblem, when set, is why the tests run outside the namespaces.
var namespaceProblem error

// inPrivateNamespaces reports whether this process runs in a mount
// namespace of its own, made by Main: the condition for mounting anything.
func inPrivateNamespaces() error {
	outer := os.Getenv(nsEnv)
	if outer == "" {
		if namespaceProblem != nil {
			return namespaceProblem
		}
		return errNotNamespaced
	}
	self, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil || self == outer {
		return fmt.Errorf("%w (mount namespace %q, %v)", errNotNamespaced, self, err)
	}
	return nil
}
