// Package dadoo is the monitor of one process in a container: the long-
// lived, small part of running a process, so that the process outlives
// every other tool (design brief §1, reference §2). It links no container
// runtime: thousands of dadoos may run at once, and each must stay small.
//
// A dadoo (cmd/dadoo) is started by pkg/process with the prepared process
// as JSON on its stdin and a sync pipe on fd 3. It
//
//   - opens the process's FIFOs (pkg/procdir): stdin read-only, stdout and
//     stderr read-write, so the process never gets SIGPIPE while nobody is
//     attached and unread output survives the process;
//   - becomes a child subreaper and runs the starter (gdn-run
//     start-process), which starts the process through libcontainer and
//     exits, so the process is reparented to dadoo;
//   - reports {"pid":N}, or {"error":{"type","message"}}, on the sync pipe;
//   - pumps a terminal through the FIFOs and applies winsz updates, when
//     the process has one;
//   - records exitcode before reaping the process (so a pid in pidfile
//     without exitcode always names the process), closes the exit FIFO,
//     and lingers while unread output waits in the FIFOs (until it is
//     read or the process directory is removed), so a late attach gets it.
package dadoo
