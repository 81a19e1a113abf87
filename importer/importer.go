package importer

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// Format names an export file's layout.
type Format string

// The formats a Reader reads.
const (
	// FormatShopifyCSV is Shopify's order export (Orders › Export › CSV).
	FormatShopifyCSV Format = "shopify-csv"
	// FormatWooCommerceCSV is the Customer / Order / Coupon Export
	// extension's default order CSV, one row per order or per line item.
	FormatWooCommerceCSV Format = "woocommerce-csv"
	// FormatJSONL is one commerce.Order per line, in its JSON form.
	FormatJSONL Format = "jsonl"
)

// Formats lists the formats, for help texts and errors.
var Formats = []Format{FormatShopifyCSV, FormatWooCommerceCSV, FormatJSONL}

// ParseFormat returns the format named s, or an error wrapping
// ErrUnknownFormat.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("%w %q (want %s)", ErrUnknownFormat, s, formatList())
}

func formatList() string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// Errors a Reader reports. A *RowError wraps one of the row errors; the
// others stop reading (NewReader returns them for a file it cannot read).
var (
	// ErrUnknownFormat: the first line is none of the formats, or a name
	// given is not a format.
	ErrUnknownFormat = errors.New("unknown format")
	// ErrMissingColumn: the header lacks a column the format needs.
	ErrMissingColumn = errors.New("missing column")
	// ErrRecordTooLong: a row (or JSON line) is longer than
	// MaxRecordBytes, which a real export never is (a quote left open
	// makes one row of the rest of the file).
	ErrRecordTooLong = errors.New("row too long")

	// ErrMissing: a value the order needs is empty.
	ErrMissing = errors.New("missing")
	// ErrBadValue: a value is not what its column holds (a date that is
	// no date, a quantity that is no number, an id that is no id).
	ErrBadValue = errors.New("bad value")
	// ErrUnknownCurrency: the currency is no ISO 4217 code.
	ErrUnknownCurrency = errors.New("unknown currency")
	// ErrUnknownStatus: the order's status is none the platform defines
	// for a paid, pending, refunded or voided order.
	ErrUnknownStatus = errors.New("unknown status")
	// ErrBadRow: the row is not valid CSV or has the wrong number of
	// fields.
	ErrBadRow = errors.New("bad row")
	// ErrInconsistent: the rows of one order, or its amounts, disagree.
	ErrInconsistent = errors.New("inconsistent order")
)

// MaxRecordBytes bounds one CSV row or JSON line: a longer one stops the
// reader with ErrRecordTooLong, so that memory stays bounded whatever the
// file holds.
const MaxRecordBytes = 4 << 20

// Bounds on what one order may hold, beside commerce.MaxOrderMinor for
// every amount. They are far beyond real orders and keep every sum the
// rules make within 64 bits.
const (
	// maxMinor bounds every amount (commerce.MaxOrderMinor, which Validate
	// checks): a product of a price and a quantity is checked against it
	// before it is made.
	maxMinor = commerce.MaxOrderMinor
	// maxQuantity bounds a line's quantity.
	maxQuantity = 1_000_000
	// maxLines bounds an order's lines (and rows), refunds and codes.
	maxLines = 5000
)

// Options say how to read a file.
type Options struct {
	// Format is the file's format; empty detects it from the first line.
	Format Format
	// Location is the zone of times the file writes without one: the
	// WooCommerce export writes the site's local time. Required for
	// FormatWooCommerceCSV; times that carry their zone are read in it.
	Location *time.Location
}

// Ref says where an order is in its file, so that it can be read again.
type Ref struct {
	// Offset is the byte offset of the order's first row.
	Offset int64
	// Length is the bytes of its rows, newlines included.
	Length int64
	// Line is the line its first row starts on (the header is line 1).
	Line int
	// Rows is the number of rows (CSV records or JSON lines) it spans.
	Rows int
}

// Record is one order read from a file.
type Record struct {
	// Order is the order. Its Raw is empty: the file is its source.
	Order commerce.Order
	// Customer is the customer the order implies, when the file names
	// one (a WooCommerce customer or guest, a JSON line's customer id);
	// nil when the file names the buyer only by e-mail (Shopify), whose
	// customer the store must already know. Its UpdatedAt is zero: what
	// an order row says of a customer is older than anything the
	// platform says, so that a sync always replaces it.
	Customer *commerce.Customer
	// Ref is where the order is in the file.
	Ref Ref
}

// RowError is a row (or the rows of one order) refused, and why. Reading
// goes on after it.
type RowError struct {
	// Line is the line of the row at fault.
	Line int
	// Rows is the number of rows refused with it: an order is refused
	// whole.
	Rows int
	// Order names the order (its number or id) when the rows say it.
	Order string
	// Err is the reason; it wraps one of the row errors (ErrMissing,
	// ErrBadValue, commerce.ErrTooManyDecimals …).
	Err error
}

// Error says where and why: "line 12: order #1001: …".
func (e *RowError) Error() string {
	if e.Order != "" {
		return fmt.Sprintf("line %d: order %s: %v", e.Line, e.Order, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

// Unwrap returns the reason, for errors.Is.
func (e *RowError) Unwrap() error { return e.Err }

// decoder reads one format's orders, in file order and again by Ref.
type decoder interface {
	// next returns the next order, a *RowError, io.EOF, or an error that
	// stops reading.
	next() (Record, error)
	// offset returns the bytes consumed so far.
	offset() int64
	// again reads the order at ref from ra.
	again(ra io.ReaderAt, ref Ref) (Record, error)
}

// Reader reads the orders of an export file.
type Reader struct {
	format Format
	dec    decoder
}

// NewReader returns a Reader of the file r, whose format is o.Format or,
// when that is empty, the one its first line shows. It reads the header;
// a file it cannot read (no known format, a header without a column the
// format needs) is an error wrapping ErrUnknownFormat or ErrMissingColumn.
func NewReader(r io.Reader, o Options) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	base := int64(0)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
		base = 3
	}
	format := o.Format
	if format == "" {
		head, err := firstLine(br)
		if err != nil {
			return nil, err
		}
		if format, err = detect(head); err != nil {
			return nil, err
		}
	} else if _, err := ParseFormat(string(format)); err != nil {
		return nil, err
	}
	var err error
	rd := &Reader{format: format}
	switch format {
	case FormatJSONL:
		rd.dec = newJSONL(br, base)
	case FormatShopifyCSV:
		rd.dec, err = newShopify(br, base)
	case FormatWooCommerceCSV:
		if o.Location == nil {
			return nil, errors.New("the WooCommerce export writes times without a zone: give the site's time zone (Options.Location)")
		}
		rd.dec, err = newWooCommerce(br, base, o.Location)
	}
	if err != nil {
		return nil, err
	}
	return rd, nil
}

// Format returns the file's format.
func (r *Reader) Format() Format { return r.format }

// Next returns the next order. A *RowError reports rows refused: call Next
// again for the orders after them. At the end of the file it returns
// io.EOF; any other error means the file cannot be read further.
func (r *Reader) Next() (Record, error) { return r.dec.next() }

// Offset returns how many bytes of the file have been read, for progress.
func (r *Reader) Offset() int64 { return r.dec.offset() }

// ReadAgain reads the order at ref again from ra, the same file: the
// second pass of an import in time order. It returns what Next returned
// for that order, or an error if the file changed since.
func (r *Reader) ReadAgain(ra io.ReaderAt, ref Ref) (Record, error) {
	rec, err := r.dec.again(ra, ref)
	if err != nil {
		return Record{}, fmt.Errorf("line %d: reading the order again: %w (did the file change?)", ref.Line, err)
	}
	return rec, nil
}

// firstLine returns the file's first non-blank line without consuming it.
func firstLine(br *bufio.Reader) (string, error) {
	b, err := br.Peek(br.Size())
	atEOF := errors.Is(err, io.EOF)
	if err != nil && !atEOF && !errors.Is(err, bufio.ErrBufferFull) {
		return "", err
	}
	for rest := b; len(rest) > 0; {
		line, after, found := bytes.Cut(rest, []byte("\n"))
		if !found && !atEOF {
			break // the line goes on past what could be peeked
		}
		if t := bytes.TrimSpace(line); len(t) > 0 {
			return string(t), nil
		}
		rest = after
	}
	if atEOF {
		return "", fmt.Errorf("%w: the file is empty", ErrUnknownFormat)
	}
	return "", fmt.Errorf("%w: the first line is longer than %d KiB: not an order export", ErrUnknownFormat, br.Size()>>10)
}

// detect tells the format from the file's first line.
func detect(head string) (Format, error) {
	if strings.HasPrefix(head, "{") {
		return FormatJSONL, nil
	}
	cols, err := headerColumns(head)
	if err != nil {
		return "", fmt.Errorf("%w: the first line is neither JSON nor a CSV header: %v", ErrUnknownFormat, err)
	}
	woo := make(map[string]bool, len(cols))
	for name := range cols {
		woo[wooKey(name)] = true
	}
	has := func(name string) bool { _, ok := cols[name]; return ok }
	switch {
	case has("financial status") && has("lineitem quantity"):
		return FormatShopifyCSV, nil
	case woo["order_id"] && (woo["order_total"] || woo["order_currency"]):
		return FormatWooCommerceCSV, nil
	case has("order #") && has("net sales"):
		return "", fmt.Errorf("%w: this is WooCommerce's Analytics › Orders download, which names customers without their e-mail or id and has no line prices, so its orders cannot be given to anyone; export the orders with the Customer / Order / Coupon Export extension (format %q) instead", ErrUnknownFormat, "Default")
	}
	return "", fmt.Errorf("%w: the header %q is none of %s", ErrUnknownFormat, truncate(head, 80), formatList())
}

// headerColumns maps the normalised names of a CSV header line to their
// positions.
func headerColumns(line string) (map[string]int, error) {
	rows := newCSVRows(strings.NewReader(line+"\n"), 0, 0, 0)
	row, err := rows.next()
	if err != nil {
		return nil, err
	}
	if row.err != nil {
		return nil, row.err
	}
	return columnIndex(row.fields)
}

// columnIndex maps normalised column names (trimmed, lower case) to their
// positions; a name given twice is an error.
func columnIndex(fields []string) (map[string]int, error) {
	cols := make(map[string]int, len(fields))
	for i, f := range fields {
		name := normName(f)
		if name == "" {
			continue
		}
		if _, dup := cols[name]; dup {
			return nil, fmt.Errorf("column %q appears twice", strings.TrimSpace(f))
		}
		cols[name] = i
	}
	return cols, nil
}

func normName(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary, so that messages stay valid UTF-8.
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
