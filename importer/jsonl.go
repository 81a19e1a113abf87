package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// JSON lines hold one order per line in commerce.Order's JSON form, as
// loyaltyd stores it: amounts as {"amount": "84.50", "currency": "USD"},
// times in RFC 3339 with their zone. A field the form does not have is an
// error (a misspelt "customerid" would otherwise lose the customer), as is
// anything after the order on its line. Blank lines are skipped. The
// order's customer_id and e-mail imply its customer. A line longer than
// MaxRecordBytes is refused and reading goes on after it.
type jsonl struct {
	br   *bufio.Reader
	off  int64 // file offset of the next line
	line int   // lines read
	buf  []byte
}

func newJSONL(br *bufio.Reader, base int64) decoder {
	return &jsonl{br: br, off: base}
}

func (d *jsonl) offset() int64 { return d.off }

// readLine reads a line, without its newline. tooLong reports a line
// longer than MaxRecordBytes, which was read to its end and dropped.
func (d *jsonl) readLine() (line []byte, tooLong bool, err error) {
	d.buf = d.buf[:0]
	for {
		part, err := d.br.ReadSlice('\n')
		d.off += int64(len(part))
		if !tooLong {
			if len(d.buf)+len(part) > MaxRecordBytes+1 {
				tooLong, d.buf = true, d.buf[:0]
			} else {
				d.buf = append(d.buf, part...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(part) > 0 || len(d.buf) > 0 || tooLong {
			d.line++
			if err == io.EOF {
				err = nil
			}
		}
		return bytes.TrimRight(d.buf, "\r\n"), tooLong, err
	}
}

func (d *jsonl) next() (Record, error) {
	for {
		start := d.off
		b, tooLong, err := d.readLine()
		if err != nil {
			return Record{}, err
		}
		ref := Ref{Offset: start, Length: d.off - start, Line: d.line, Rows: 1}
		if tooLong {
			return Record{}, &RowError{Line: d.line, Rows: 1, Err: fmt.Errorf("%w: the line is longer than %d MiB", ErrRecordTooLong, MaxRecordBytes>>20)}
		}
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		rec, rerr := decodeJSONL(b)
		if rerr != nil {
			rerr.Line = d.line
			return Record{}, rerr
		}
		rec.Ref = ref
		return rec, nil
	}
}

func (d *jsonl) again(ra io.ReaderAt, ref Ref) (Record, error) {
	if ref.Length <= 0 || ref.Length > MaxRecordBytes+2 {
		return Record{}, fmt.Errorf("bad length %d", ref.Length)
	}
	b := make([]byte, ref.Length)
	if err := readAt(ra, b, ref.Offset); err != nil {
		return Record{}, err
	}
	rec, rerr := decodeJSONL(bytes.TrimRight(b, "\r\n"))
	if rerr != nil {
		return Record{}, rerr
	}
	rec.Ref = ref
	return rec, nil
}

// decodeJSONL reads one order from a line.
func decodeJSONL(b []byte) (Record, *RowError) {
	var o commerce.Order
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	err := dec.Decode(&o)
	if err == nil && len(bytes.TrimSpace(b[dec.InputOffset():])) > 0 {
		err = errors.New("data after the order")
	}
	if err != nil {
		return Record{}, &RowError{Rows: 1, Order: truncate(o.ID, 40), Err: fmt.Errorf("%w: not an order in loyaltyd's JSON form: %w", ErrBadValue, err)}
	}
	// Times are kept in UTC, as every connector keeps them, so that the
	// same order reads the same whatever zone the line was written in.
	o.CreatedAt, o.ProcessedAt, o.UpdatedAt, o.CancelledAt = o.CreatedAt.UTC(), o.ProcessedAt.UTC(), o.UpdatedAt.UTC(), o.CancelledAt.UTC()
	for i := range o.Refunds {
		o.Refunds[i].CreatedAt = o.Refunds[i].CreatedAt.UTC()
	}
	if err := check(&o); err != nil {
		return Record{}, &RowError{Rows: 1, Order: truncate(o.ID, 40), Err: err}
	}
	rec := Record{Order: o}
	if o.CustomerID != "" {
		rec.Customer = &commerce.Customer{ID: o.CustomerID, Email: o.Email, CreatedAt: o.CreatedAt,
			Guest: strings.HasPrefix(o.CustomerID, wooGuestPrefix)}
	}
	return rec, nil
}

// writeJSONL writes an order as one line.
func writeJSONL(w *bufio.Writer, o *commerce.Order) error {
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	w.Write(b)
	return w.WriteByte('\n')
}
