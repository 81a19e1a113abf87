package store

import (
	"errors"

	"github.com/tidwall/gjson"
)

// A report reads two small parts of every order of a period: the
// products of its lines and the codes it used. Decoding a million stored
// orders into commerce.Order with encoding/json costs several seconds more
// than the rest of the report; gjson reads the stored JSON once and skips
// what the report does not need without decoding it.

// errBadJSON is stored JSON that is not an order as this package writes it.
var errBadJSON = errors.New("store: stored order is not valid JSON")

// orderParts reads the lines' product id, SKU, title and gift-card flag,
// and the codes' code and amount, of a stored order, calling line and
// code for each. A string field that is absent or null reads as empty; a
// field of another type than the order's is an error.
func orderParts(data []byte, line func(productID, sku, title []byte, giftCard bool), code func(code, amount []byte)) error {
	if !gjson.ValidBytes(data) {
		return errBadJSON
	}
	order := gjson.ParseBytes(data)
	if !order.IsObject() {
		return errBadJSON
	}
	bad := false
	str := func(r gjson.Result) []byte {
		switch r.Type {
		case gjson.String:
			return []byte(r.Str)
		case gjson.Null:
		default:
			bad = true
		}
		return nil
	}
	each := func(r gjson.Result, fn func(gjson.Result)) {
		switch {
		case r.IsArray():
			r.ForEach(func(_, v gjson.Result) bool {
				if !v.IsObject() {
					bad = true
					return false
				}
				fn(v)
				return !bad
			})
		case r.Type != gjson.Null:
			bad = true
		}
	}
	each(order.Get("lines"), func(l gjson.Result) {
		var pid, sku, title []byte
		gift := false
		l.ForEach(func(k, v gjson.Result) bool {
			switch k.Str {
			case "product_id":
				pid = str(v)
			case "sku":
				sku = str(v)
			case "title":
				title = str(v)
			case "gift_card":
				switch v.Type {
				case gjson.True:
					gift = true
				case gjson.False, gjson.Null:
				default:
					bad = true
				}
			}
			return !bad
		})
		if !bad {
			line(pid, sku, title, gift)
		}
	})
	each(order.Get("codes"), func(c gjson.Result) {
		var amount []byte
		switch a := c.Get("amount"); {
		case a.IsObject():
			amount = str(a.Get("amount"))
		case a.Type != gjson.Null:
			bad = true
		}
		cd := str(c.Get("code"))
		if !bad {
			code(cd, amount)
		}
	})
	if bad {
		return errBadJSON
	}
	return nil
}
