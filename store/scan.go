package store

import (
	"bytes"
	"encoding/json"
	"errors"
)

// A report reads two small parts of every order of a period: the
// products of its lines and the codes it used. Decoding a million stored
// orders with encoding/json, or with SQLite's JSON functions, costs
// several seconds more than the rest of the report; the walker below
// reads the stored JSON (which this package writes, with encoding/json)
// once, skipping what it does not need without decoding it.

// errBadJSON is stored JSON the walker cannot read.
var errBadJSON = errors.New("store: stored order is not valid JSON")

// orderParts reads the lines' product id, SKU, title and gift-card flag,
// and the codes' code and amount, of a stored order, calling line and
// code for each. Strings are passed as they are stored, unescaped only
// when they hold an escape; the slices may point into data.
func orderParts(data []byte, line func(productID, sku, title []byte, giftCard bool), code func(code, amount []byte)) error {
	w := walker{b: data}
	return w.object(func(key []byte) error {
		switch string(key) {
		case "lines":
			return w.array(func() error {
				var pid, sku, title []byte
				gift := false
				err := w.object(func(k []byte) error {
					var err error
					switch string(k) {
					case "product_id":
						pid, err = w.str()
					case "sku":
						sku, err = w.str()
					case "title":
						title, err = w.str()
					case "gift_card":
						gift, err = w.boolean()
					default:
						err = w.skip()
					}
					return err
				})
				if err == nil {
					line(pid, sku, title, gift)
				}
				return err
			})
		case "codes":
			return w.array(func() error {
				var c, amount []byte
				err := w.object(func(k []byte) error {
					switch string(k) {
					case "code":
						var err error
						c, err = w.str()
						return err
					case "amount":
						if w.peek() != '{' {
							return w.skip() // null: no amount
						}
						return w.object(func(k []byte) error {
							if string(k) == "amount" {
								var err error
								amount, err = w.str()
								return err
							}
							return w.skip()
						})
					}
					return w.skip()
				})
				if err == nil {
					code(c, amount)
				}
				return err
			})
		}
		return w.skip()
	})
}

// walker reads JSON from b at i.
type walker struct {
	b []byte
	i int
}

func (w *walker) ws() {
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

func (w *walker) peek() byte {
	w.ws()
	if w.i < len(w.b) {
		return w.b[w.i]
	}
	return 0
}

func (w *walker) expect(c byte) error {
	if w.peek() != c {
		return errBadJSON
	}
	w.i++
	return nil
}

// object reads an object, calling member with each key; member must read
// the key's value.
func (w *walker) object(member func(key []byte) error) error {
	if err := w.expect('{'); err != nil {
		return err
	}
	if w.peek() == '}' {
		w.i++
		return nil
	}
	for {
		key, err := w.str()
		if err != nil {
			return err
		}
		if err := w.expect(':'); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
		switch w.peek() {
		case ',':
			w.i++
		case '}':
			w.i++
			return nil
		default:
			return errBadJSON
		}
	}
}

// array reads an array (or null), calling elem for each element; elem
// must read it.
func (w *walker) array(elem func() error) error {
	if w.peek() == 'n' {
		return w.skip()
	}
	if err := w.expect('['); err != nil {
		return err
	}
	if w.peek() == ']' {
		w.i++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch w.peek() {
		case ',':
			w.i++
		case ']':
			w.i++
			return nil
		default:
			return errBadJSON
		}
	}
}

// str reads a string (null reads as empty), unescaping it only when it
// holds an escape.
func (w *walker) str() ([]byte, error) {
	switch w.peek() {
	case 'n':
		return nil, w.skip()
	case '"':
	default:
		return nil, errBadJSON
	}
	start := w.i
	escaped, err := w.endString(true)
	if err != nil {
		return nil, err
	}
	if !escaped {
		return w.b[start+1 : w.i-1], nil
	}
	var s string
	if err := json.Unmarshal(w.b[start:w.i], &s); err != nil {
		return nil, errBadJSON
	}
	return []byte(s), nil
}

// endString moves past the string starting at i and, when asked (it costs
// a second look at the string), reports whether it holds an escape.
// Finding the closing quote with bytes.IndexByte, which looks at many
// bytes at a time, is most of the walker's speed.
func (w *walker) endString(askEscaped bool) (escaped bool, err error) {
	w.i++
	for {
		q := bytes.IndexByte(w.b[w.i:], '"')
		if q < 0 {
			return false, errBadJSON
		}
		end := w.i + q
		// The quote is escaped when an odd number of backslashes precede it.
		n := 0
		for end-n-1 >= w.i && w.b[end-n-1] == '\\' {
			n++
		}
		if n > 0 || askEscaped && !escaped && bytes.IndexByte(w.b[w.i:end], '\\') >= 0 {
			escaped = true
		}
		w.i = end + 1
		if n%2 == 0 {
			return escaped, nil
		}
	}
}

func (w *walker) boolean() (bool, error) {
	switch w.peek() {
	case 't':
		return true, w.skip()
	case 'f', 'n':
		return false, w.skip()
	}
	return false, errBadJSON
}

// skip reads past one value of any kind. An object or array is passed
// over by counting brackets and jumping over strings, without reading its
// members: that is what most of a stored order is to the reports.
func (w *walker) skip() error {
	switch c := w.peek(); c {
	case '{', '[':
		depth := 0
		for w.i < len(w.b) {
			switch w.b[w.i] {
			case '"':
				if _, err := w.endString(false); err != nil {
					return err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					w.i++
					return nil
				}
			}
			w.i++
		}
		return errBadJSON
	case '"':
		_, err := w.endString(false)
		return err
	case 0:
		return errBadJSON
	default:
		// A number or a literal: up to the next delimiter.
		start := w.i
		for w.i < len(w.b) {
			switch w.b[w.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				if w.i == start {
					return errBadJSON
				}
				return nil
			}
			w.i++
		}
		return nil
	}
}
