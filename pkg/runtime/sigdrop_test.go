package runtime

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestInitDrops(t *testing.T) {
	const sleepingInit = "Name:\tgarden-init\nNSpid:\t4242\t1\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\n"
	const handlesTerm = "Name:\tinit\nNSpid:\t4242\t1\nSigCgt:\t0000000000004000\n" // bit 15: SIGTERM
	const notInit = "Name:\tsh\nNSpid:\t4243\t7\nSigCgt:\t0000000000000000\n"
	for _, tc := range []struct {
		name   string
		status string
		sig    unix.Signal
		want   bool
	}{
		{"TERM to the sleeping init", sleepingInit, unix.SIGTERM, true},
		{"HUP to the sleeping init", sleepingInit, unix.SIGHUP, true},
		{"KILL always acts", sleepingInit, unix.SIGKILL, false},
		{"STOP always acts", sleepingInit, unix.SIGSTOP, false},
		{"an init that handles TERM", handlesTerm, unix.SIGTERM, false},
		{"an init that handles TERM, sent HUP", handlesTerm, unix.SIGHUP, true},
		{"not a namespace's init", notInit, unix.SIGTERM, false},
		{"unreadable status", "", unix.SIGTERM, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := initDrops(tc.status, tc.sig); got != tc.want {
				t.Errorf("initDrops(%s) = %v, want %v", unix.SignalName(tc.sig), got, tc.want)
			}
		})
	}
}
