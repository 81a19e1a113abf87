package importer

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// guard is the reader under a csv.Reader: it refuses to deliver more than
// MaxRecordBytes (and a read-ahead buffer) past the start of the record
// being read, because encoding/csv keeps a record in memory whole and a
// quote left open would make one record of the rest of the file.
type guard struct {
	r     io.Reader
	n     int64 // bytes delivered
	start int64 // offset of the current record's start, in the same count
}

// readAhead is what the csv.Reader's buffer may hold beyond a record.
const readAhead = 4096

// Read reads from the file until the record has grown too long.
func (g *guard) Read(p []byte) (int, error) {
	if g.n-g.start > MaxRecordBytes+readAhead {
		return 0, ErrRecordTooLong
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	return n, err
}

// csvRows reads the records of a CSV file with their lines and byte
// ranges in the file.
type csvRows struct {
	g    *guard
	cr   *csv.Reader
	base int64 // file offset where the reader's input starts
	line int   // file line before the reader's first line
}

// newCSVRows reads CSV from r, which starts at byte base and after line
// baseLine of the file. fields is the number of fields every record must
// have (0: as many as the first).
func newCSVRows(r io.Reader, base int64, baseLine, fields int) *csvRows {
	g := &guard{r: r}
	cr := csv.NewReader(g)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = fields
	return &csvRows{g: g, cr: cr, base: base, line: baseLine}
}

// csvRow is one record.
type csvRow struct {
	// fields are the record's fields; valid until the next read unless
	// cloned.
	fields []string
	// line is the file line the record starts on.
	line int
	// start and end are its byte range in the file (blank lines before it
	// included).
	start, end int64
	// err is why the record is not valid CSV (a *csv.ParseError wrapped
	// in ErrBadRow); fields then holds what could be read.
	err error
}

// next reads a record. It returns io.EOF at the end, and any error that
// stops reading (I/O, ErrRecordTooLong); a record that is not valid CSV
// comes back with its err set.
func (c *csvRows) next() (csvRow, error) {
	start := c.cr.InputOffset()
	rec, err := c.cr.Read()
	end := c.cr.InputOffset()
	c.g.start = end
	row := csvRow{fields: rec, start: c.base + start, end: c.base + end}
	var pe *csv.ParseError
	switch {
	case err == nil:
		line, _ := c.cr.FieldPos(0)
		row.line = c.line + line
	case errors.As(err, &pe):
		row.line = c.line + pe.StartLine
		row.err = fmt.Errorf("%w: %s", ErrBadRow, csvProblem(pe, len(rec), c.cr.FieldsPerRecord))
	default:
		return csvRow{}, err
	}
	return row, nil
}

// csvProblem says what is wrong with a record in words.
func csvProblem(pe *csv.ParseError, got, want int) string {
	switch {
	case errors.Is(pe.Err, csv.ErrFieldCount):
		return fmt.Sprintf("%d fields, the header has %d", got, want)
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return fmt.Sprintf(`a quote (") inside an unquoted field, line %d column %d`, pe.Line, pe.Column)
	case errors.Is(pe.Err, csv.ErrQuote):
		return fmt.Sprintf(`a quoted field not closed, or text after its closing quote, line %d column %d`, pe.Line, pe.Column)
	}
	return pe.Err.Error()
}

// unit is the consecutive rows of one order.
type unit struct {
	key string
	// rows are the order's rows (fields cloned), up to maxLines of them;
	// count is how many there were.
	rows  []csvRow
	count int
	start int64
	end   int64
	// bad is why the order cannot be read whole (a row at fault);
	// badLine is that row's line.
	bad     error
	badLine int
}

func (u *unit) ref() Ref {
	return Ref{Offset: u.start, Length: u.end - u.start, Line: u.rows[0].line, Rows: u.count}
}

// units groups the rows of a CSV file into orders: consecutive rows with
// the same key (an order's number or id) form one order.
type units struct {
	rows   *csvRows
	keyCol int
	// emptyContinues: a row with an empty key continues the order before
	// it (Shopify); otherwise it is an order of its own, which is refused
	// for having no key.
	emptyContinues bool
	pending        *csvRow // read ahead: the first row of the next unit
	// taint is the line of an unreadable row whose order could not be
	// told: the order after it may have lost that row, so it is refused
	// too rather than read incomplete.
	taint int
	eof   bool
	// err stops reading; it is returned once the order read before it
	// has been.
	err error
}

// next returns the next order's rows, or io.EOF, or an error that stops
// reading.
func (us *units) next() (*unit, error) {
	var u *unit
	for {
		var row csvRow
		if us.pending != nil {
			row, us.pending = *us.pending, nil
		} else {
			if us.eof || us.err != nil {
				break
			}
			r, err := us.rows.next()
			if errors.Is(err, io.EOF) {
				us.eof = true
				break
			}
			if err != nil {
				us.err = err
				break
			}
			row = r
			row.fields = slices.Clone(row.fields)
		}
		key, known := us.key(row)
		if u == nil {
			u = &unit{key: key, start: row.start}
			if us.taint > 0 {
				u.bad, u.badLine = fmt.Errorf("%w: follows an unreadable row (line %d) that may belong to it", ErrBadRow, us.taint), row.line
				us.taint = 0
			}
		} else if known && (key != "" || !us.emptyContinues) && key != u.key {
			us.pending = &row
			break
		}
		if !known && row.err != nil {
			us.taint = row.line
		}
		u.count++
		u.end = row.end
		if row.err != nil && u.bad == nil {
			u.bad, u.badLine = row.err, row.line
		}
		if u.count > maxLines {
			// Keep the count and the range, not the rows: the order is
			// refused anyway, and memory stays bounded.
			if u.bad == nil {
				u.bad, u.badLine = fmt.Errorf("%w: more than %d rows", ErrBadValue, maxLines), row.line
			}
			continue
		}
		u.rows = append(u.rows, row)
	}
	switch {
	case u != nil:
		return u, nil
	case us.err != nil:
		return nil, us.err
	}
	return nil, io.EOF
}

// key returns a row's key, and whether it could be read at all.
func (us *units) key(row csvRow) (string, bool) {
	if us.keyCol >= len(row.fields) {
		return "", row.err == nil
	}
	return cell(row.fields[us.keyCol]), true
}

// cell returns a field's value: trimmed, and without the apostrophe that
// exporters put before a leading =, +, - or @ (so that spreadsheets do not
// run it as a formula) or before a number they want kept as text (a zip
// code with a leading zero).
func cell(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 1 && s[0] == '\'' {
		switch s[1] {
		case '=', '+', '-', '@':
			return s[1:]
		}
	}
	return s
}

// csvDecoder is the part of the CSV formats that reads orders from units;
// the format decodes a unit into an order.
type csvDecoder struct {
	units  *units
	header []string
	read   func(u *unit) (Record, error)
	// cols is the number of header fields every row must have.
	cols int
}

func (d *csvDecoder) next() (Record, error) {
	u, err := d.units.next()
	if err != nil {
		return Record{}, err
	}
	return d.read(u)
}

func (d *csvDecoder) offset() int64 { return d.units.rows.base + d.units.rows.g.n }

// again reads the order at ref: its rows, from a reader of its bytes.
func (d *csvDecoder) again(ra io.ReaderAt, ref Ref) (Record, error) {
	if ref.Length <= 0 || ref.Length > int64(maxLines+1)*MaxRecordBytes {
		return Record{}, fmt.Errorf("bad length %d", ref.Length)
	}
	buf := make([]byte, ref.Length)
	if err := readAt(ra, buf, ref.Offset); err != nil {
		return Record{}, err
	}
	// The range starts with any blank lines before the order's first
	// row, which the line numbers count.
	blank := bytes.Count(buf[:blankLines(buf)], []byte("\n"))
	us := &units{rows: newCSVRows(bytes.NewReader(buf), ref.Offset, ref.Line-1-blank, d.cols),
		keyCol: d.units.keyCol, emptyContinues: d.units.emptyContinues}
	u, err := us.next()
	if err != nil {
		return Record{}, err
	}
	if u.end != ref.Offset+ref.Length || u.count != ref.Rows {
		return Record{}, errors.New("the order's rows are not where they were")
	}
	return d.read(u)
}

// blankLines returns the length of the empty lines ("\n" or "\r\n") at
// the start of b, which a csv.Reader skips.
func blankLines(b []byte) int {
	n := 0
	for {
		switch {
		case bytes.HasPrefix(b[n:], []byte("\n")):
			n++
		case bytes.HasPrefix(b[n:], []byte("\r\n")):
			n += 2
		default:
			return n
		}
	}
}

// readAt fills b from ra at off; reaching the end of the file exactly is
// no error.
func readAt(ra io.ReaderAt, b []byte, off int64) error {
	n, err := ra.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}
