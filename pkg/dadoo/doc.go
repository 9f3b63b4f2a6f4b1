// Package dadoo runs processes in containers under a monitor of their own,
// so that they outlive every other tool (design brief §1, reference §2).
//
// Launch (called by gdn-run exec) creates the process directory (see
// pkg/procdir), starts a detached dadoo (its own session, stdout and stderr
// to dadoo.log) with the prepared process on its stdin, and waits on a sync
// pipe (fd 3) for one JSON line: {"pid":N} once the process runs, or
// {"error":{"type","message"}} if it could not start.
//
// Monitor (the dadoo binary) starts the process through libcontainer,
// becoming its parent; gives it the stdio FIFOs (stdout and stderr opened
// read-write, so the process never gets SIGPIPE while nobody is attached,
// and unread output survives the process); pumps a terminal through the
// FIFOs and applies winsz updates when there is one; records exitcode
// before reaping the process (so that a pid in pidfile without exitcode
// always names the process); closes the exit FIFO; then lingers until
// unread output has been read (or the process directory is removed), so a
// late attach still gets it.
package dadoo
