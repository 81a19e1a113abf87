//go:build linux

package main

import (
	"syscall"
	"time"
)

// peakRSS returns the process's peak resident memory, in bytes, as the
// kernel counts it (getrusage's maxrss, in kilobytes on Linux): everything
// the process ever held, the fakes and the load generator included.
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024
}

// processCPU returns the CPU time the process used so far, user and
// system, on every core.
func processCPU() time.Duration { return rusageCPU(syscall.RUSAGE_SELF) }

// threadCPU returns the CPU time the calling thread used so far; the
// caller locks its goroutine to the thread.
func threadCPU() time.Duration { return rusageCPU(syscall.RUSAGE_THREAD) }

func rusageCPU(who int) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
