package importer

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// Writer writes orders in one of the formats, as a Reader reads them back:
// for tests, for benchmarks and for tools that make import files. What a
// format cannot say (a Shopify line's id, a refund's lines in Shopify's
// export) is lost, as it would be in the platform's own export.
type Writer struct {
	format Format
	bw     *bufio.Writer
	csv    *csvWriter
}

// NewWriter returns a Writer of o.Format to w; FormatWooCommerceCSV writes
// local times in o.Location.
func NewWriter(w io.Writer, o Options) (*Writer, error) {
	f, err := ParseFormat(string(o.Format))
	if err != nil {
		return nil, err
	}
	wr := &Writer{format: f, bw: bufio.NewWriterSize(w, 64<<10)}
	switch f {
	case FormatShopifyCSV:
		wr.csv = newCSVWriter(wr.bw, shopifyHeader, normName, time.UTC)
	case FormatWooCommerceCSV:
		if o.Location == nil {
			return nil, errors.New("the WooCommerce export writes local times: give the site's time zone (Options.Location)")
		}
		wr.csv = newCSVWriter(wr.bw, wooHeader, wooKey, o.Location)
	}
	if wr.csv != nil {
		if err := wr.csv.w.Write(wr.csv.header); err != nil {
			return nil, err
		}
	}
	return wr, nil
}

// Write writes an order and the customer it implies (which only
// FormatWooCommerceCSV has room for: the billing names).
func (w *Writer) Write(o *commerce.Order, c *commerce.Customer) error {
	switch w.format {
	case FormatShopifyCSV:
		return writeShopify(w.csv, o, c)
	case FormatWooCommerceCSV:
		return writeWooCommerce(w.csv, o, c)
	}
	return writeJSONL(w.bw, o)
}

// Flush writes what is buffered; call it after the last Write.
func (w *Writer) Flush() error {
	if w.csv != nil {
		w.csv.w.Flush()
		if err := w.csv.w.Error(); err != nil {
			return err
		}
	}
	return w.bw.Flush()
}

// csvWriter writes rows of a header's columns.
type csvWriter struct {
	w      *csv.Writer
	header []string
	cols   map[string]int
	loc    *time.Location
}

func newCSVWriter(w io.Writer, header []string, key func(string) string, loc *time.Location) *csvWriter {
	cols := make(map[string]int, len(header))
	for i, h := range header {
		cols[key(h)] = i
	}
	return &csvWriter{w: csv.NewWriter(w), header: header, cols: cols, loc: loc}
}

// row returns an empty row.
func (w *csvWriter) row() []string { return make([]string, len(w.header)) }

func (w *csvWriter) write(row []string) error {
	if err := w.w.Write(row); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}
