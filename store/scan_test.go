package store

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/loyaltyd/loyaltyd/commerce"
)

type scannedLine struct {
	ProductID, SKU, Title string
	GiftCard              bool
}

type scannedCode struct{ Code, Amount string }

// TestOrderPartsAgreesWithEncodingJSON reads random orders, as the store
// writes them, with orderParts and with encoding/json: they must
// agree on every line and code, whatever the strings hold.
func TestOrderPartsAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"", "Mug", `"quoted"`, `back\slash`, "<b>&amp;</b>", "naïve ☕", "tab\tnew\nline", "\u2028", "}{][,:"}
	pick := func() string { return words[rng.IntN(len(words))] }
	for i := range 2000 {
		o := commerce.Order{ID: fmt.Sprint(i), Number: pick(), Email: pick(), Currency: "USD", State: commerce.StatePaid,
			Total: commerce.NewMoney(int64(rng.IntN(10000)), "USD"), Tags: []string{pick()}}
		for j := range rng.IntN(4) {
			o.Lines = append(o.Lines, commerce.LineItem{ID: fmt.Sprint(j), ProductID: pick(), SKU: pick(), Title: pick(), Vendor: pick(),
				Quantity: rng.IntN(3), Subtotal: commerce.NewMoney(int64(rng.IntN(9999)), "USD"), GiftCard: rng.IntN(5) == 0})
		}
		for range rng.IntN(3) {
			cu := commerce.CodeUse{Code: pick()}
			if rng.IntN(3) > 0 {
				cu.Amount = commerce.NewMoney(int64(rng.IntN(999)), "USD")
			}
			o.Codes = append(o.Codes, cu)
		}
		if rng.IntN(4) == 0 {
			o.Refunds = []commerce.Refund{{ID: "r", Amount: commerce.NewMoney(100, "USD"), Note: pick(),
				Lines: []commerce.RefundLine{{LineID: "0", Amount: commerce.NewMoney(100, "USD")}}}}
		}
		data, err := json.Marshal(&o)
		if err != nil {
			t.Fatal(err)
		}
		var wantLines, gotLines []scannedLine
		var wantCodes, gotCodes []scannedCode
		for _, l := range o.Lines {
			wantLines = append(wantLines, scannedLine{l.ProductID, l.SKU, l.Title, l.GiftCard})
		}
		for _, c := range o.Codes {
			a := ""
			if !c.Amount.IsZero() {
				a = c.Amount.Decimal()
			}
			wantCodes = append(wantCodes, scannedCode{c.Code, a})
		}
		err = orderParts(data, func(pid, sku, title []byte, gift bool) {
			gotLines = append(gotLines, scannedLine{string(pid), string(sku), string(title), gift})
		}, func(code, amount []byte) {
			gotCodes = append(gotCodes, scannedCode{string(code), string(amount)})
		})
		if err != nil || !reflect.DeepEqual(gotLines, wantLines) || !reflect.DeepEqual(gotCodes, wantCodes) {
			t.Fatalf("order %s: %v\n got  %+v %+v\n want %+v %+v\n json %s", o.ID, err, gotLines, gotCodes, wantLines, wantCodes, data)
		}
	}
}

func TestOrderPartsRefusesBrokenJSON(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{``, `{`, `{"lines":[{"product_id":"1"}`, `{"lines":[{"product_id":1}]}`, `{"lines":{}}`,
		`{"codes":[{"code":"A","amount":{"amount":"5.00"}]}`, `[]`, `{"lines":[{"title":"unterminated}]}`} {
		err := orderParts([]byte(bad), func(_, _, _ []byte, _ bool) {}, func(_, _ []byte) {})
		if err == nil {
			t.Errorf("%q read without an error", bad)
		}
	}
}

// BenchmarkOrderParts reads the lines and codes of a stored order of
// three lines and a code, as a report does for every order of its period.
func BenchmarkOrderParts(b *testing.B) {
	o := commerce.Order{ID: "1001", Number: "#1001", Email: "ann@example.com", Currency: "USD", State: commerce.StatePaid,
		Total: commerce.NewMoney(12345, "USD"), Tags: []string{"vip"},
		Codes: []commerce.CodeUse{{Code: "LOYAL-5OFF-X1", Amount: commerce.NewMoney(500, "USD")}}}
	for j := range 3 {
		o.Lines = append(o.Lines, commerce.LineItem{ID: fmt.Sprint(j), ProductID: fmt.Sprint(7000 + j), SKU: "SKU-" + fmt.Sprint(j),
			Title: "Ceramic mug", Vendor: "Acme", Quantity: 2, Subtotal: commerce.NewMoney(4000, "USD")})
	}
	data, err := json.Marshal(&o)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	n := 0
	for b.Loop() {
		if err := orderParts(data, func(_, _, _ []byte, _ bool) { n++ }, func(_, _ []byte) { n++ }); err != nil {
			b.Fatal(err)
		}
	}
}
