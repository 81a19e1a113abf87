//go:build linux

package main

import (
	"os"
	"strconv"
	"strings"
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

// resetPeakRSS starts the kernel's count of the process's peak resident
// memory (VmHWM) over from what it holds now, so that phasePeakRSS says
// what one phase of a benchmark held at most; false where the kernel does
// not allow it.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// phasePeakRSS returns the peak resident memory since resetPeakRSS (since
// the start, had it not been reset), in bytes; 0 where unknown.
func phasePeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}
