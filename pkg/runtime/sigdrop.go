package runtime

import (
	"bufio"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// initDrops reports whether the kernel would drop sig sent from outside to
// the process whose /proc/PID/status is status: the process is pid 1 of
// its pid namespace (the last NSpid field is 1) and has no handler for sig
// (its bit is clear in SigCgt). The kernel protects a namespace's init
// from every signal it has not asked for, except SIGKILL and SIGSTOP from
// an ancestor namespace (signal(7), pid_namespaces(7)): such a signal is
// discarded without an error. gdn-init handles no signal at all, so only
// KILL acts on it. A status it cannot read says false: the signal is then
// sent as asked.
func initDrops(status string, sig unix.Signal) bool {
	if sig == unix.SIGKILL || sig == unix.SIGSTOP || sig <= 0 || sig > 64 {
		return false
	}
	var nsInit, known bool
	var caught uint64
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		switch key {
		case "NSpid":
			nsInit = len(fields) > 0 && fields[len(fields)-1] == "1"
		case "SigCgt":
			if len(fields) == 1 {
				n, err := strconv.ParseUint(fields[0], 16, 64)
				caught, known = n, err == nil
			}
		}
	}
	return nsInit && known && caught&(1<<(uint(sig)-1)) == 0
}
