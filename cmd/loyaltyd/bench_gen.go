package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors/shopify/shopifytest"
	"github.com/loyaltyd/loyaltyd/importer"
	"github.com/loyaltyd/loyaltyd/synth"
)

// Formats bench gen writes.
const (
	genJSONL   = "jsonl"
	genShopify = "shopify-json"
	genShopCSV = string(importer.FormatShopifyCSV)
	genWooCSV  = string(importer.FormatWooCommerceCSV)
)

// genFormats are the formats bench gen writes, with their files' extension.
var genFormats = map[string]string{genJSONL: "jsonl", genShopify: "json", genShopCSV: "csv", genWooCSV: "csv"}

// genResult is what bench gen measured.
type genResult struct {
	Benchmark string       `json:"benchmark"`
	Machine   benchMachine `json:"machine"`
	Format    string       `json:"format"`
	File      string       `json:"file,omitempty"`
	Seed      uint64       `json:"seed"`
	Currency  string       `json:"currency"`
	Exponent  int          `json:"currency_exponent"`
	Customers int          `json:"customers"`
	Orders    int          `json:"orders"`
	Bytes     int64        `json:"bytes"`
	Seconds   float64      `json:"seconds"`
	PerSecond float64      `json:"orders_per_second"`
	PeakRSS   int64        `json:"peak_rss_bytes"`
	Shape     genShape     `json:"shape"`
	Point     benchPoint   `json:"point"`
}

// genShape says what the generated store looks like, so that its
// believability can be checked at a glance.
type genShape struct {
	Refunded       float64 `json:"refunded"`
	PartlyRefunded float64 `json:"partly_refunded"`
	Cancelled      float64 `json:"cancelled"`
	Unpaid         float64 `json:"unpaid"`
	WithCode       float64 `json:"with_code"`
	Buyers         int     `json:"buyers"`
	RepeatBuyers   float64 `json:"repeat_buyers"`
	// TopFifthSpend is the share of the money spent by the fifth of the
	// buyers who spent most.
	TopFifthSpend float64 `json:"top_fifth_spend"`
}

func runBenchGen(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("bench gen", "[--orders N] [--customers N] [--seed S] [--format jsonl|shopify-json|shopify-csv|woocommerce-csv] [--currency C] [--out FILE]",
		"Write a synthetic store's orders, deterministically from the seed: a year of orders (spend\n"+
			"concentrated in a few customers, many one-time buyers, repeat buyers, 5 % refunds, 2 %\n"+
			"cancellations, 15 % with a discount code) in a currency of any exponent (USD 2 decimals, JPY 0,\n"+
			"KWD 3). The orders are generated and written one at a time, so memory stays small whatever\n"+
			"their number. Formats: jsonl, one order per line in loyaltyd's own order form (what\n"+
			"`loyaltyd import` reads); shopify-json, the orders as Shopify's REST API writes them, in the\n"+
			"envelope of GET orders.json, one order per line; shopify-csv and woocommerce-csv, the\n"+
			"platforms' order exports (what `loyaltyd import` reads too; WooCommerce's in UTC).")
	c := benchFlags(fs)
	orders := fs.Int("orders", 100_000, "number of orders")
	customers := fs.Int("customers", 0, "number of customers (default: two for every five orders)")
	seed := fs.Uint64("seed", 1, "seed: the same seed and sizes give the same file")
	format := fs.String("format", genJSONL, "file format: jsonl, shopify-json, shopify-csv or woocommerce-csv")
	currency := fs.String("currency", "USD", "the store's currency (ISO 4217)")
	out := fs.String("out", "", "file to write, - for standard output (default: a file in the scratch directory, removed after)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if _, ok := genFormats[*format]; !ok {
		return usagef("--format %q: want %s, %s, %s or %s", *format, genJSONL, genShopify, genShopCSV, genWooCSV)
	}
	if *orders < 0 || *customers < 0 {
		return usagef("--orders and --customers: want 0 or more")
	}
	if *customers == 0 {
		*customers = max(1, *orders*2/5)
	}
	if c.growth != "" {
		sizes := []growthSize{{name: "orders", value: float64(*orders)}}
		if explicit(fs, "customers") {
			sizes = append(sizes, growthSize{name: "customers", value: float64(*customers)})
		}
		return runGrowth(ctx, m, c, "gen", args, sizes)
	}
	exp, err := commerce.Exponent(*currency)
	if err != nil {
		return usagef("--currency: %v", err)
	}
	stop, err := c.profile()
	if err != nil {
		return err
	}
	defer stop()
	dir, cleanup, err := c.scratch()
	if err != nil {
		return err
	}
	defer cleanup()

	st, err := synth.NewStream(synth.Options{Seed: *seed, Customers: *customers, Orders: *orders,
		Currency: *currency, Start: benchStart, End: benchEnd})
	if err != nil {
		return err
	}
	var w io.Writer
	path := *out
	switch path {
	case "-":
		w = m.Stdout
	case "":
		path = filepath.Join(dir, "orders."+genFormats[*format])
		fallthrough
	default:
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	res := genResult{Benchmark: "gen", Machine: machine(time.Now()), Format: *format, Seed: *seed,
		Currency: *currency, Exponent: exp, Customers: *customers, Orders: st.OrderCount()}
	if *out != "" && *out != "-" {
		res.File = *out
	}
	began := time.Now()
	n, shape, err := writeStore(ctx, w, st, *format, *currency)
	if err != nil {
		return err
	}
	if f, ok := w.(*os.File); ok {
		// A file counts once it is on disk; a device or a pipe cannot be
		// synced.
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			if err := f.Sync(); err != nil {
				return err
			}
		}
	}
	res.Seconds = time.Since(began).Seconds()
	res.Bytes = n
	res.Shape = shape
	res.PerSecond = float64(res.Orders) / res.Seconds
	res.PeakRSS = peakRSS()
	res.Point = benchPoint{Size: float64(*orders), Units: float64(res.Orders), Unit: "orders", Seconds: res.Seconds, PeakRSS: res.PeakRSS}

	report := m.Stdout
	if *out == "-" {
		report = m.Stderr
	}
	if c.json {
		return printJSON(report, res)
	}
	fmt.Fprintf(report, "loyaltyd bench gen: %s orders of %s customers (seed %d, %s with %d decimals), %s\nmachine: %s\n\n",
		fmtInt(res.Orders), fmtInt(res.Customers), res.Seed, res.Currency, res.Exponent, res.Format, res.Machine)
	t := &table{head: []string{"", "orders", "bytes", "time", "orders/s", "MiB/s", "peak RSS"}}
	t.add("generate and write", fmtInt(res.Orders), fmtBytes(res.Bytes), fmtSeconds(res.Seconds), fmtRate(res.PerSecond),
		fmtRate(float64(res.Bytes)/(1<<20)/res.Seconds), fmtBytes(res.PeakRSS))
	t.write(report)
	s := res.Shape
	fmt.Fprintf(report, "\nshape: %s refunded in full, %s in part, %s cancelled, %s unpaid, %s with a discount code;\n",
		fmtPercent(s.Refunded), fmtPercent(s.PartlyRefunded), fmtPercent(s.Cancelled), fmtPercent(s.Unpaid), fmtPercent(s.WithCode))
	fmt.Fprintf(report, "       %s buyers, %s of them came back; the top fifth of the buyers spent %s of the money\n",
		fmtInt(s.Buyers), fmtPercent(s.RepeatBuyers), fmtPercent(s.TopFifthSpend))
	if res.File != "" {
		fmt.Fprintf(report, "written to %s\n", res.File)
	}
	return nil
}

// explicit reports whether a flag was given on the command line.
func explicit(fs *flag.FlagSet, name string) bool {
	found := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			found = true
		}
	})
	return found
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// writeStore writes the stream's orders in a format and returns the bytes
// written and the store's shape.
func writeStore(ctx context.Context, w io.Writer, st *synth.Stream, format, currency string) (int64, genShape, error) {
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 1<<20)
	var (
		shape     genShape
		counts    = make([]int32, st.CustomerCount())
		spend     = make([]int64, st.CustomerCount())
		n         int
		refunded  int
		partly    int
		cancelled int
		unpaid    int
		coded     int
		encode    func(o commerce.Order) error
		flush     = func() error { return nil }
	)
	switch format {
	case genJSONL:
		enc := json.NewEncoder(bw)
		enc.SetEscapeHTML(false)
		encode = func(o commerce.Order) error { return enc.Encode(o) }
	case genShopify:
		// The fake's own conversion writes the REST shape: each order is
		// put on a shop that is never started, read back, and removed.
		shop := shopifytest.NewServer(shopifytest.Options{Currency: currency})
		if _, err := bw.WriteString("{\"orders\":[\n"); err != nil {
			return 0, shape, err
		}
		first := true
		encode = func(o commerce.Order) error {
			var err error
			if c, ok := orderCustomer(st, o); ok {
				err = shop.PutCustomer(*c)
			}
			if err == nil {
				err = shop.PutOrder(o)
			}
			if err != nil {
				return err
			}
			b, _ := shop.Order(o.ID)
			shop.DeleteOrder(o.ID)
			shop.DeleteCustomer(o.CustomerID)
			if !first {
				bw.WriteString(",\n")
			}
			first = false
			_, err = bw.Write(b)
			return err
		}
		flush = func() error {
			_, err := bw.WriteString("\n]}\n")
			return err
		}
	case genShopCSV, genWooCSV:
		iw, err := importer.NewWriter(bw, importer.Options{Format: importer.Format(format), Location: time.UTC})
		if err != nil {
			return 0, shape, err
		}
		encode = func(o commerce.Order) error {
			c, _ := orderCustomer(st, o)
			return iw.Write(&o, c)
		}
		flush = iw.Flush
	}
	for o := range st.Orders() {
		if n%4096 == 0 && ctx.Err() != nil {
			return 0, shape, ctx.Err()
		}
		if err := encode(o); err != nil {
			return 0, shape, fmt.Errorf("order %s: %w", o.ID, err)
		}
		n++
		switch {
		case o.Cancelled():
			cancelled++
		case o.State == commerce.StateRefunded:
			refunded++
		case o.State == commerce.StatePartiallyRefunded:
			partly++
		case o.State == commerce.StatePending:
			unpaid++
		}
		if len(o.Codes) > 0 {
			coded++
		}
		if i, ok := st.CustomerIndex(o.CustomerID); ok {
			counts[i]++
			spend[i] += o.Total.Minor
		}
	}
	if err := flush(); err != nil {
		return 0, shape, err
	}
	if err := bw.Flush(); err != nil {
		return 0, shape, err
	}
	if n > 0 {
		share := func(k int) float64 { return float64(k) / float64(n) }
		shape.Refunded, shape.PartlyRefunded, shape.Cancelled = share(refunded), share(partly), share(cancelled)
		shape.Unpaid, shape.WithCode = share(unpaid), share(coded)
	}
	var buyers []int64
	repeat := 0
	var total int64
	for i, k := range counts {
		if k == 0 {
			continue
		}
		buyers = append(buyers, spend[i])
		total += spend[i]
		if k > 1 {
			repeat++
		}
	}
	shape.Buyers = len(buyers)
	if len(buyers) > 0 {
		shape.RepeatBuyers = float64(repeat) / float64(len(buyers))
		slices.Sort(buyers)
		slices.Reverse(buyers)
		var top int64
		for _, v := range buyers[:max(1, len(buyers)/5)] {
			top += v
		}
		if total > 0 {
			shape.TopFifthSpend = float64(top) / float64(total)
		}
	}
	return cw.n, shape, nil
}

// orderCustomer returns an order's customer in the synthetic store, and
// false for a guest.
func orderCustomer(st *synth.Stream, o commerce.Order) (*commerce.Customer, bool) {
	i, ok := st.CustomerIndex(o.CustomerID)
	if !ok {
		return nil, false
	}
	c := st.Customer(i)
	return &c, true
}
