package dadoo

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// CLD_* codes of siginfo.si_code for SIGCHLD.
const (
	cldExited = 1
	cldKilled = 2
	cldDumped = 3
)

// sigchldInfo is the start of siginfo_t as the kernel fills it for a child
// event on 64-bit Linux: signo, errno, code, then (after padding) pid,
// uid and status.
type sigchldInfo struct {
	Signo  int32
	Errno  int32
	Code   int32
	_      int32
	Pid    int32
	UID    uint32
	Status int32
}

// siginfoStatus is the shell's convention for a child's end: its exit
// status, or 128+signal when a signal ended it.
func siginfoStatus(info *unix.Siginfo) int {
	ci := (*sigchldInfo)(unsafe.Pointer(info))
	switch ci.Code {
	case cldKilled, cldDumped:
		return 128 + int(ci.Status)
	default:
		return int(ci.Status)
	}
}
