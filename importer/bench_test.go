package importer_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/importer"
	"github.com/loyaltyd/loyaltyd/synth"
)

// benchFiles holds a generated store written in each format (about 5,000
// orders of 2,000 customers, a third of them with several lines).
var benchFiles = map[importer.Format][]byte{}

func benchFile(b *testing.B, f importer.Format) []byte {
	b.Helper()
	if data, ok := benchFiles[f]; ok {
		return data
	}
	st := synthStore(b, 2000, "USD")
	customers := map[string]*commerce.Customer{}
	for i := range st.Customers {
		customers[st.Customers[i].ID] = &st.Customers[i]
	}
	data := write(b, importer.Options{Format: f, Location: tallinn}, st.Orders, customers)
	benchFiles[f] = data
	return data
}

// BenchmarkRead measures parsing alone: rows and orders read per second.
func BenchmarkRead(b *testing.B) {
	for _, f := range importer.Formats {
		b.Run(string(f), func(b *testing.B) {
			data := benchFile(b, f)
			b.SetBytes(int64(len(data)))
			orders, rows := 0, 0
			cpu := cpuTime()
			for b.Loop() {
				r, err := importer.NewReader(bytes.NewReader(data), importer.Options{Format: f, Location: tallinn})
				if err != nil {
					b.Fatal(err)
				}
				for {
					rec, err := r.Next()
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					orders++
					rows += rec.Ref.Rows
				}
			}
			s := b.Elapsed().Seconds()
			b.ReportMetric(float64(orders)/s, "orders/s")
			b.ReportMetric(float64(rows)/s, "rows/s")
			b.ReportMetric(float64(orders)/(cpuTime()-cpu).Seconds(), "orders/cpu-s")
		})
	}
}

type discard struct{}

func (discard) Store(_ context.Context, batch []importer.Record) ([]importer.Outcome, error) {
	return make([]importer.Outcome, len(batch)), nil
}

// BenchmarkImportPipeline measures what Import adds to parsing: the check
// pass, the time-ordered index and the second read, with a store that
// keeps nothing. It bounds how fast an import can be whatever the engine.
func BenchmarkImportPipeline(b *testing.B) {
	for _, f := range importer.Formats {
		b.Run(string(f), func(b *testing.B) {
			data := benchFile(b, f)
			b.SetBytes(int64(len(data)))
			orders := 0
			cpu := cpuTime()
			for b.Loop() {
				sum, err := importer.Import(context.Background(), bytes.NewReader(data), int64(len(data)),
					importer.Config{Options: importer.Options{Format: f, Location: tallinn}}, discard{})
				if err != nil {
					b.Fatal(err)
				}
				orders += sum.Orders
			}
			b.ReportMetric(float64(orders)/b.Elapsed().Seconds(), "orders/s")
			b.ReportMetric(float64(orders)/(cpuTime()-cpu).Seconds(), "orders/cpu-s")
		})
	}
}

// cpuTime returns the processor time the process has used, its threads
// together: on a machine shared with other work, orders per processor
// second say what the code costs better than orders per second do.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var (
	synthFile   = flag.String("synth-file", "", "TestSynthFile writes a generated store's orders to this file as JSON lines")
	synthOrders = flag.Int("synth-orders", 1_000_000, "about how many orders TestSynthFile writes")
)

// TestSynthFile writes a large import file for benchmarks of the whole
// pipeline (loyaltyd import), from package synth in chunks of 20,000
// customers so that memory stays small; each chunk's customers and orders
// get ids of their own, and every chunk spans the same year, so the file
// is not in time order. It runs only when -synth-file is given:
//
//	go test ./importer -run TestSynthFile -synth-file /tmp/orders.jsonl -synth-orders 1000000
func TestSynthFile(t *testing.T) {
	if *synthFile == "" {
		t.Skip("no -synth-file")
	}
	f, err := os.Create(*synthFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := importer.NewWriter(f, importer.Options{Format: importer.FormatJSONL})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for chunk := 0; n < *synthOrders; chunk++ {
		st, err := synth.Generate(synth.Options{Seed: uint64(chunk + 1), Customers: 20_000, FirstOrderID: 1_000_000*chunk + 1001,
			Start: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		for i := range st.Orders {
			if n == *synthOrders {
				break
			}
			o := &st.Orders[i]
			o.CustomerID = fmt.Sprintf("c%d-%s", chunk, o.CustomerID)
			o.Email = fmt.Sprintf("c%d-%s", chunk, o.Email)
			if err := w.Write(o, nil); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d orders written to %s", n, *synthFile)
}
