// Package crash lets tests kill a tool at a named step, to prove that the
// recovery paths (server start, gdn-net cleanup, a second destroy) leave
// nothing behind whatever moment a process dies at.
//
// A step is named "<tool>.<operation>.<step>", e.g. "gdn-net.up.links".
// When the environment variable Env names the step a process reaches,
// the process sends itself SIGKILL there: no deferred cleanup runs, as
// with a real kill -9 or a power cut. Env is for tests only; unset (the
// normal case) Point costs one map lookup.
package crash

import (
	"os"
	"strings"
	"syscall"
)

// Env holds the step (or comma-separated steps) to die at.
const Env = "GDN_TEST_CRASH_AT"

// LogEnv names the environment variable that, if set, holds a file a
// process appends the step's name to just before it dies there, so a test
// knows which steps it reached.
const LogEnv = "GDN_TEST_CRASH_LOG"

var at = parse(os.Getenv(Env))

func parse(v string) map[string]bool {
	if v == "" {
		return nil
	}
	m := map[string]bool{}
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			m[s] = true
		}
	}
	return m
}

// Point kills the calling process with SIGKILL if Env names step.
func Point(step string) {
	if at[step] {
		if path := os.Getenv(LogEnv); path != "" {
			if f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err == nil {
				_, _ = f.WriteString(step + "\n")
				_ = f.Close()
			}
		}
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way; never return into the step
	}
}

// Armed reports whether Env names step (for a caller that must do
// something other than die there, such as a server that stops mid-call).
func Armed(step string) bool { return at[step] }
