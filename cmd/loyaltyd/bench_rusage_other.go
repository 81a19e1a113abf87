//go:build !linux

package main

import "time"

// peakRSS is unknown here: bench reports it on Linux.
func peakRSS() int64 { return 0 }

// processCPU is unknown here: bench reports CPU time on Linux.
func processCPU() time.Duration { return 0 }

// threadCPU is unknown here.
func threadCPU() time.Duration { return 0 }

// resetPeakRSS is not possible here.
func resetPeakRSS() bool { return false }

// phasePeakRSS is unknown here.
func phasePeakRSS() int64 { return 0 }
