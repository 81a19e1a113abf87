//go:build unix

package sync_test

import (
	"syscall"
	"time"
)

// cpuTime is the processor time the process has used, every thread
// counted: on a shared machine it says more than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
