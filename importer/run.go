package importer

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	stdsync "sync"
)

// Sink stores orders: the caller's side of an import, which hands them to
// the sync engine so that they are stored and credited exactly as polled
// orders are.
type Sink interface {
	// Store stores a batch of orders (in the order given, in one
	// transaction) and says what became of each: outcomes[i] is batch[i]'s.
	// An error stops the import; what earlier batches stored stays.
	Store(ctx context.Context, batch []Record) ([]Outcome, error)
}

// Result says what a Sink did with an order.
type Result int

// The results.
const (
	// Stored: the order is new, or a newer version of a stored one.
	Stored Result = iota
	// Unchanged: the same version is stored already (the order was
	// imported or synced before, or is repeated in the file): skipped.
	Unchanged
	// Stale: a newer version is stored, and stays: skipped.
	Stale
	// Refused: the store refused the order (Outcome.Err says why).
	Refused
)

// Outcome is what became of one order.
type Outcome struct {
	// Result says whether the order was stored, skipped or refused.
	Result Result
	// Err is why the order was refused.
	Err error
	// NoCustomer: the order names no customer the store knows (a Shopify
	// e-mail no stored customer has); stored without one, it earns
	// nothing.
	NoCustomer bool
}

// Config says how to run an import.
type Config struct {
	Options
	// BatchSize is the number of orders per Sink.Store call (and so per
	// transaction); default 1000.
	BatchSize int
	// MaxListed is the number of rejections Summary lists, the first by
	// line; all are counted. Default 20.
	MaxListed int
	// DryRun checks the file without storing anything: the Sink is not
	// called and may be nil.
	DryRun bool
	// Progress, when set, is called as the import goes, from the
	// goroutine that called Import.
	Progress func(Progress)
}

// Progress says how far an import is.
type Progress struct {
	// Storing is false while the file is checked (the first pass), true
	// while the orders are stored (the second).
	Storing bool
	// Done of Total: bytes of the file checked, or orders stored.
	Done, Total int64
}

// Summary is what an import found and did.
type Summary struct {
	// Format is the file's format.
	Format Format
	// Rows is the number of data rows (CSV records, JSON lines) read.
	Rows int
	// Orders is the number of orders read without fault.
	Orders int
	// Stored is the number of orders stored: new, or newer than the
	// stored version.
	Stored int
	// Unchanged, Stale and Tests are the orders skipped: stored already as
	// they are, older than the stored version, and test orders (which
	// never earn, so an import leaves them out).
	Unchanged, Stale, Tests int
	// NoCustomer is the number of orders stored without a customer.
	NoCustomer int
	// Rejected is the number of orders (or unreadable rows) refused, and
	// RejectedRows the rows they spanned.
	Rejected, RejectedRows int
	// Rejections lists the first Config.MaxListed rejections, by line.
	Rejections []*RowError
	// OutOfOrder is the number of orders the file lists after a later
	// one. The import stores orders oldest first whatever the file's
	// order, because the points an order earns depend on those credited
	// before it.
	OutOfOrder int
	// DryRun reports that nothing was stored.
	DryRun bool
}

// Skipped returns the number of orders skipped.
func (s *Summary) Skipped() int { return s.Unchanged + s.Stale + s.Tests }

func (s *Summary) reject(e *RowError, listed int) {
	s.Rejected++
	s.RejectedRows += e.Rows
	if len(s.Rejections) < listed {
		s.Rejections = append(s.Rejections, e)
	}
}

// Import reads the file f (of size bytes) twice. The first pass reads it in
// file order: it checks every row, counts, and collects the rejections; a
// file whose header cannot be read is an error before anything is stored.
// The second pass (unless cfg.DryRun) reads the accepted orders again,
// oldest first (by processing time, then file position), and hands them to
// sink in batches of cfg.BatchSize, reading the next batch while the sink
// stores one. It returns the summary so far with any error that stopped
// it (the context's, an I/O error, the sink's); what was stored stays, and
// importing the file again stores only what is missing.
func Import(ctx context.Context, f io.ReaderAt, size int64, cfg Config, sink Sink) (*Summary, error) {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 1000
	}
	if cfg.MaxListed <= 0 {
		cfg.MaxListed = 20
	}
	progress := func(p Progress) {
		if cfg.Progress != nil {
			cfg.Progress(p)
		}
	}
	rd, err := NewReader(io.NewSectionReader(f, 0, size), cfg.Options)
	if err != nil {
		return nil, err
	}
	sum := &Summary{Format: rd.Format(), DryRun: cfg.DryRun}
	idx, err := scan(ctx, rd, sum, cfg, progress, size)
	if err != nil {
		return sum, err
	}
	slices.SortFunc(sum.Rejections, func(a, b *RowError) int { return cmp.Compare(a.Line, b.Line) })
	if cfg.DryRun {
		return sum, nil
	}
	err = store(ctx, rd, f, idx, sum, cfg, sink, progress)
	slices.SortFunc(sum.Rejections, func(a, b *RowError) int { return cmp.Compare(a.Line, b.Line) })
	return sum, err
}

// scan is the first pass: it reads every order in file order and returns
// where the ones to store are, sorted oldest first.
func scan(ctx context.Context, rd *Reader, sum *Summary, cfg Config, progress func(Progress), size int64) (*index, error) {
	idx := &index{}
	last := int64(-1 << 63)
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			progress(Progress{Done: rd.Offset(), Total: size})
		}
		rec, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		var re *RowError
		if errors.As(err, &re) {
			sum.Rows += re.Rows
			sum.reject(re, cfg.MaxListed)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading the file stopped after %d rows: %w", sum.Rows, err)
		}
		sum.Rows += rec.Ref.Rows
		sum.Orders++
		if rec.Order.Test {
			sum.Tests++
			continue
		}
		t := rec.Order.ProcessedTime().UnixNano()
		if t < last {
			sum.OutOfOrder++
		}
		last = max(last, t)
		idx.add(entry{t: t, off: rec.Ref.Offset, length: rec.Ref.Length, line: int32(rec.Ref.Line), rows: int32(rec.Ref.Rows)})
	}
	progress(Progress{Done: size, Total: size})
	sort.Sort(idx)
	return idx, nil
}

// store is the second pass: it reads the indexed orders again in time
// order and stores them in batches.
func store(parent context.Context, rd *Reader, f io.ReaderAt, idx *index, sum *Summary, cfg Config, sink Sink, progress func(Progress)) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	batches := make(chan []Record, 1)
	var (
		readErr error
		// sent reports that the reader handed over every order: when it
		// did not, the import stopped early.
		sent bool
	)
	var wg stdsync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(batches)
		batch := make([]Record, 0, cfg.BatchSize)
		send := func() bool {
			select {
			case batches <- batch:
				batch = make([]Record, 0, cfg.BatchSize)
				return true
			case <-ctx.Done():
				return false
			}
		}
		for i := range idx.Len() {
			e := idx.at(i)
			rec, err := rd.ReadAgain(f, Ref{Offset: e.off, Length: e.length, Line: int(e.line), Rows: int(e.rows)})
			if err != nil {
				readErr = err
				return
			}
			batch = append(batch, rec)
			if len(batch) == cfg.BatchSize && !send() {
				return
			}
		}
		if len(batch) == 0 || send() {
			sent = true
		}
	}()
	total := int64(idx.Len())
	done := int64(0)
	progress(Progress{Storing: true, Total: total})
	var err error
	for batch := range batches {
		if err = ctx.Err(); err != nil {
			break
		}
		var outcomes []Outcome
		outcomes, err = sink.Store(ctx, batch)
		if err == nil && len(outcomes) != len(batch) {
			err = fmt.Errorf("the store answered for %d orders of %d", len(outcomes), len(batch))
		}
		if err != nil {
			break
		}
		for i, oc := range outcomes {
			ref := batch[i].Ref
			switch oc.Result {
			case Stored:
				sum.Stored++
			case Unchanged:
				sum.Unchanged++
			case Stale:
				sum.Stale++
			case Refused:
				name := batch[i].Order.Number
				if name == "" {
					name = batch[i].Order.ID
				}
				sum.reject(&RowError{Line: ref.Line, Rows: ref.Rows, Order: name, Err: oc.Err}, cfg.MaxListed)
			}
			if oc.NoCustomer && oc.Result != Refused {
				sum.NoCustomer++
			}
		}
		done += int64(len(batch))
		progress(Progress{Storing: true, Done: done, Total: total})
	}
	cancel()
	for range batches {
		// Let the reader see the cancellation and stop.
	}
	wg.Wait()
	switch {
	case err != nil:
	case readErr != nil:
		err = readErr
	case !sent:
		err = parent.Err()
		if err == nil {
			err = errors.New("the import stopped before every order was stored")
		}
	}
	return err
}

// entry is where an order to store is in the file, and its time: 32 bytes.
type entry struct {
	t, off, length int64
	line, rows     int32
}

// index holds the entries in fixed-size chunks, so that growing it never
// copies (or holds twice) what it has.
type index struct {
	chunks [][]entry
	n      int
}

const chunkSize = 1 << 14

func (x *index) add(e entry) {
	if x.n%chunkSize == 0 {
		x.chunks = append(x.chunks, make([]entry, 0, chunkSize))
	}
	c := &x.chunks[len(x.chunks)-1]
	*c = append(*c, e)
	x.n++
}

func (x *index) at(i int) *entry { return &x.chunks[i/chunkSize][i%chunkSize] }

// Len, Less and Swap sort the entries by time, then file position.
func (x *index) Len() int { return x.n }

// Less orders by time, then by place in the file.
func (x *index) Less(i, j int) bool {
	a, b := x.at(i), x.at(j)
	return a.t < b.t || a.t == b.t && a.off < b.off
}

// Swap exchanges two entries.
func (x *index) Swap(i, j int) {
	a, b := x.at(i), x.at(j)
	*a, *b = *b, *a
}
