package shopify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// The wire types below are Shopify's REST shapes as loyaltyd reads them.
// They are the package's own rather than go-shopify's, because go-shopify
// v4.7.0 fails a whole page on an empty-string amount and on customers'
// marketing_opt_in_level, and it has no field for some of the *_set values
// (see README.md, "Quirks"). Unknown fields are ignored: Shopify adds
// fields in every version.

// numID is a Shopify id. Shopify sends ids as JSON numbers (64-bit, too
// large for a float), some payloads as strings; null means none.
type numID string

func (i *numID) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		*i = ""
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if s == "" {
			*i = ""
			return nil
		}
	}
	if !isDigits(s) {
		return fmt.Errorf("id %q is not a whole number", truncate(s, 32))
	}
	*i = numID(strings.TrimLeft(s, "0"))
	if *i == "" {
		*i = "0"
	}
	return nil
}

// isDigits reports whether s is a non-empty string of ASCII digits.
func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// amount is a Shopify money value: a decimal string ("10.00"), in some
// places a JSON number, null when absent, and in some payloads "" for
// absent too (which go-shopify v4.7.0 cannot decode).
type amount struct {
	s   string
	set bool
}

func (a *amount) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*a = amount{}
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		*a = amount{s: s, set: s != ""}
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("amount %q is not a number", truncate(string(b), 32))
		}
		*a = amount{s: n.String(), set: true}
	}
	return nil
}

// moneyEntry is one side of a *_set: {"amount": "10.00", "currency_code": "USD"}.
type moneyEntry struct {
	Amount       amount `json:"amount"`
	CurrencyCode string `json:"currency_code"`
}

// moneySet is Shopify's MoneyBag: an amount in the shop's currency and in
// the currency the customer saw.
type moneySet struct {
	ShopMoney        moneyEntry `json:"shop_money"`
	PresentmentMoney moneyEntry `json:"presentment_money"`
}

// timestamp is an ISO 8601 time with the shop's offset; null and "" are
// the zero time.
type timestamp struct{ time.Time }

func (t *timestamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		t.Time = time.Time{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("time: %w", err)
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("time %q is not ISO 8601 with an offset", truncate(s, 40))
	}
	// An offset can move a time out of the years 0 to 9999, which
	// loyaltyd's records cannot hold: refuse it here, with its field.
	if v = v.UTC(); v.Year() < 0 || v.Year() > 9999 {
		return fmt.Errorf("time %q is out of range", truncate(s, 40))
	}
	t.Time = v
	return nil
}

// optString is a string that may come as null.
type optString string

func (s *optString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*s = ""
		return nil
	}
	var v string
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*s = optString(v)
	return nil
}

type wireOrder struct {
	ID                     numID                     `json:"id"`
	Name                   optString                 `json:"name"`
	Email                  optString                 `json:"email"`
	ContactEmail           optString                 `json:"contact_email"`
	CreatedAt              timestamp                 `json:"created_at"`
	UpdatedAt              timestamp                 `json:"updated_at"`
	ProcessedAt            timestamp                 `json:"processed_at"`
	CancelledAt            timestamp                 `json:"cancelled_at"`
	FinancialStatus        optString                 `json:"financial_status"`
	Currency               optString                 `json:"currency"`
	PresentmentCurrency    optString                 `json:"presentment_currency"`
	Test                   bool                      `json:"test"`
	Tags                   optString                 `json:"tags"`
	TotalPrice             amount                    `json:"total_price"`
	TotalPriceSet          *moneySet                 `json:"total_price_set"`
	TotalTax               amount                    `json:"total_tax"`
	TotalTaxSet            *moneySet                 `json:"total_tax_set"`
	TotalShippingPriceSet  *moneySet                 `json:"total_shipping_price_set"`
	TotalTipReceived       amount                    `json:"total_tip_received"`
	OriginalTotalDutiesSet *moneySet                 `json:"original_total_duties_set"`
	Customer               *struct{ ID numID }       `json:"customer"`
	LineItems              []wireLine                `json:"line_items"`
	ShippingLines          []wireShippingLine        `json:"shipping_lines"`
	DiscountCodes          []wireDiscountCode        `json:"discount_codes"`
	DiscountApplications   []wireDiscountApplication `json:"discount_applications"`
	Refunds                []wireRefund              `json:"refunds"`
	ShippingAddress        *wireAddress              `json:"shipping_address"`
}

type wireLine struct {
	ID                  numID            `json:"id"`
	ProductID           numID            `json:"product_id"`
	VariantID           numID            `json:"variant_id"`
	SKU                 optString        `json:"sku"`
	Vendor              optString        `json:"vendor"`
	Title               optString        `json:"title"`
	Quantity            int              `json:"quantity"`
	Price               amount           `json:"price"`
	PriceSet            *moneySet        `json:"price_set"`
	GiftCard            bool             `json:"gift_card"`
	DiscountAllocations []wireAllocation `json:"discount_allocations"`
}

type wireAllocation struct {
	Amount                   amount    `json:"amount"`
	AmountSet                *moneySet `json:"amount_set"`
	DiscountApplicationIndex *int      `json:"discount_application_index"`
}

type wireShippingLine struct {
	Price               amount           `json:"price"`
	PriceSet            *moneySet        `json:"price_set"`
	DiscountedPrice     amount           `json:"discounted_price"`
	DiscountedPriceSet  *moneySet        `json:"discounted_price_set"`
	DiscountAllocations []wireAllocation `json:"discount_allocations"`
}

type wireDiscountCode struct {
	Code   optString `json:"code"`
	Amount amount    `json:"amount"`
}

type wireDiscountApplication struct {
	Type optString `json:"type"`
	Code optString `json:"code"`
}

type wireRefund struct {
	ID                  numID                    `json:"id"`
	OrderID             numID                    `json:"order_id"`
	CreatedAt           timestamp                `json:"created_at"`
	Note                optString                `json:"note"`
	RefundLineItems     []wireRefundLine         `json:"refund_line_items"`
	Transactions        []wireTransaction        `json:"transactions"`
	OrderAdjustments    []wireOrderAdjustment    `json:"order_adjustments"`
	RefundShippingLines []wireRefundShippingLine `json:"refund_shipping_lines"`
}

type wireRefundLine struct {
	LineItemID  numID     `json:"line_item_id"`
	Quantity    int       `json:"quantity"`
	Subtotal    amount    `json:"subtotal"`
	SubtotalSet *moneySet `json:"subtotal_set"`
	TotalTax    amount    `json:"total_tax"`
	TotalTaxSet *moneySet `json:"total_tax_set"`
}

type wireTransaction struct {
	Kind     optString `json:"kind"`
	Status   optString `json:"status"`
	Amount   amount    `json:"amount"`
	Currency optString `json:"currency"`
}

type wireOrderAdjustment struct {
	Kind         optString `json:"kind"`
	Amount       amount    `json:"amount"`
	AmountSet    *moneySet `json:"amount_set"`
	TaxAmount    amount    `json:"tax_amount"`
	TaxAmountSet *moneySet `json:"tax_amount_set"`
}

type wireRefundShippingLine struct {
	SubtotalAmountSet *moneySet `json:"subtotal_amount_set"`
}

type wireAddress struct {
	Address1    optString `json:"address1"`
	Address2    optString `json:"address2"`
	City        optString `json:"city"`
	Zip         optString `json:"zip"`
	CountryCode optString `json:"country_code"`
	Country     optString `json:"country"`
}

type wireCustomer struct {
	ID        numID     `json:"id"`
	Email     optString `json:"email"`
	FirstName optString `json:"first_name"`
	LastName  optString `json:"last_name"`
	Tags      optString `json:"tags"`
	CreatedAt timestamp `json:"created_at"`
	UpdatedAt timestamp `json:"updated_at"`
}

// financialStates maps Shopify's financial_status onto commerce's states.
// A status missing here is an error, never a guess: a new status could
// mean money moved in a way the rules must not assume.
var financialStates = map[string]commerce.FinancialState{
	"pending":            commerce.StatePending,
	"authorized":         commerce.StateAuthorized,
	"partially_paid":     commerce.StatePartiallyPaid,
	"paid":               commerce.StatePaid,
	"partially_refunded": commerce.StatePartiallyRefunded,
	"refunded":           commerce.StateRefunded,
	"voided":             commerce.StateVoided,
}

// errUnknownStatus is wrapped when an order's financial_status is not in
// financialStates.
var errUnknownStatus = errors.New("unknown financial_status")

// decodeStrict is json.Unmarshal that refuses trailing data, so that a
// payload cut short or followed by garbage is an error, not a half order.
func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}

// convertOrder turns one REST order (the object, without its envelope) into
// a commerce.Order. Amounts are the shop-money side of the *_set values
// where present, else the plain fields, which Shopify gives in the shop's
// currency. Raw keeps the payload as given. Errors name the order and the
// field and carry no personal data.
func convertOrder(raw []byte) (commerce.Order, error) {
	var w wireOrder
	if err := decodeStrict(raw, &w); err != nil {
		return commerce.Order{}, fmt.Errorf("order: %w", err)
	}
	if w.ID == "" {
		return commerce.Order{}, errors.New("order: no id")
	}
	o, err := orderFromWire(&w)
	if err != nil {
		return commerce.Order{}, fmt.Errorf("order %s: %w", w.ID, err)
	}
	o.Raw = bytes.Clone(raw)
	if err := o.Validate(); err != nil {
		return commerce.Order{}, err
	}
	return o, nil
}

func orderFromWire(w *wireOrder) (commerce.Order, error) {
	cur, err := commerce.NormalizeCurrency(string(w.Currency))
	if err != nil {
		return commerce.Order{}, fmt.Errorf("currency: %w", err)
	}
	state, ok := financialStates[string(w.FinancialStatus)]
	if !ok {
		return commerce.Order{}, fmt.Errorf("financial_status %q: %w", truncate(string(w.FinancialStatus), 40), errUnknownStatus)
	}
	if w.UpdatedAt.IsZero() {
		return commerce.Order{}, errors.New("updated_at: missing")
	}
	m := moneyReader{currency: cur}
	o := commerce.Order{
		ID:          string(w.ID),
		Number:      string(w.Name),
		Email:       string(w.Email),
		Currency:    cur,
		CreatedAt:   w.CreatedAt.Time,
		ProcessedAt: w.ProcessedAt.Time,
		UpdatedAt:   w.UpdatedAt.Time,
		CancelledAt: w.CancelledAt.Time,
		State:       state,
		Test:        w.Test,
		Tags:        splitTags(string(w.Tags)),
	}
	if o.Email == "" {
		o.Email = string(w.ContactEmail)
	}
	if w.Customer != nil {
		o.CustomerID = string(w.Customer.ID)
	}
	o.Total = m.read("total_price", w.TotalPrice, w.TotalPriceSet)
	o.Tax = m.read("total_tax", w.TotalTax, w.TotalTaxSet)
	o.Tip = m.read("total_tip_received", w.TotalTipReceived, nil)
	o.Duties = m.read("original_total_duties_set", amount{}, w.OriginalTotalDutiesSet)
	o.Shipping = shippingOf(&m, w)
	for i, l := range w.LineItems {
		field := fmt.Sprintf("line_items[%d]", i)
		if l.ID == "" {
			return commerce.Order{}, fmt.Errorf("%s.id: missing", field)
		}
		if l.Quantity < 0 {
			return commerce.Order{}, fmt.Errorf("%s.quantity: negative", field)
		}
		unit := m.read(field+".price", l.Price, l.PriceSet)
		if q := int64(l.Quantity); q > 0 && unit.Minor*q/q != unit.Minor {
			return commerce.Order{}, fmt.Errorf("%s: price × quantity is out of range", field)
		}
		li := commerce.LineItem{
			ID:        string(l.ID),
			ProductID: string(l.ProductID),
			VariantID: string(l.VariantID),
			SKU:       string(l.SKU),
			Vendor:    string(l.Vendor),
			Title:     string(l.Title),
			Quantity:  l.Quantity,
			Subtotal:  unit.Mul(int64(l.Quantity)),
			Discount:  m.allocations(field, l.DiscountAllocations),
			GiftCard:  l.GiftCard,
		}
		o.Lines = append(o.Lines, li)
	}
	o.Codes = codesOf(&m, w)
	for i, r := range w.Refunds {
		ref, err := refundFromWire(&m, w, &r)
		if err != nil {
			return commerce.Order{}, fmt.Errorf("refunds[%d]: %w", i, err)
		}
		o.Refunds = append(o.Refunds, ref)
	}
	if a := w.ShippingAddress; a != nil {
		country := string(a.CountryCode)
		if country == "" {
			country = string(a.Country)
		}
		o.ShippingAddress = &commerce.Address{
			Address1: string(a.Address1), Address2: string(a.Address2),
			City: string(a.City), Zip: string(a.Zip), Country: country,
		}
	}
	if m.err != nil {
		return commerce.Order{}, m.err
	}
	return o, nil
}

// shippingOf is the shipping charged after shipping discounts: the shipping
// lines' discounted prices, or the order's total shipping when it has no
// lines.
func shippingOf(m *moneyReader, w *wireOrder) commerce.Money {
	if len(w.ShippingLines) == 0 {
		return m.read("total_shipping_price_set", amount{}, w.TotalShippingPriceSet)
	}
	total := commerce.NewMoney(0, m.currency)
	for i, s := range w.ShippingLines {
		field := fmt.Sprintf("shipping_lines[%d]", i)
		if s.DiscountedPrice.set || (s.DiscountedPriceSet != nil && s.DiscountedPriceSet.ShopMoney.Amount.set) {
			total = total.Add(m.read(field+".discounted_price", s.DiscountedPrice, s.DiscountedPriceSet))
			continue
		}
		total = total.Add(m.read(field+".price", s.Price, s.PriceSet)).Sub(m.allocations(field, s.DiscountAllocations))
	}
	return total
}

// codesOf returns the discount codes with the amount each gave. In a
// single-currency order discount_codes[].amount is that amount; in a
// multi-currency one it is in the customer's currency, so the amount is
// summed from the shop-money allocations of the code's discount
// application instead.
func codesOf(m *moneyReader, w *wireOrder) []commerce.CodeUse {
	if len(w.DiscountCodes) == 0 {
		return nil
	}
	pres := strings.ToUpper(string(w.PresentmentCurrency))
	single := pres == "" || pres == m.currency
	var out []commerce.CodeUse
	for i, dc := range w.DiscountCodes {
		use := commerce.CodeUse{Code: string(dc.Code)}
		if single {
			use.Amount = m.read(fmt.Sprintf("discount_codes[%d].amount", i), dc.Amount, nil)
		} else {
			use.Amount = allocatedTo(m, w, string(dc.Code))
		}
		out = append(out, use)
	}
	return out
}

// allocatedTo sums the shop-money allocations, over lines and shipping
// lines, of the discount applications that are the code.
func allocatedTo(m *moneyReader, w *wireOrder, code string) commerce.Money {
	apps := map[int]bool{}
	for i, a := range w.DiscountApplications {
		if string(a.Type) == "discount_code" && strings.EqualFold(string(a.Code), code) {
			apps[i] = true
		}
	}
	total := commerce.NewMoney(0, m.currency)
	add := func(field string, as []wireAllocation) {
		for j, a := range as {
			if a.DiscountApplicationIndex != nil && apps[*a.DiscountApplicationIndex] {
				total = total.Add(m.read(fmt.Sprintf("%s.discount_allocations[%d]", field, j), a.Amount, a.AmountSet))
			}
		}
	}
	for i, l := range w.LineItems {
		add(fmt.Sprintf("line_items[%d]", i), l.DiscountAllocations)
	}
	for i, s := range w.ShippingLines {
		add(fmt.Sprintf("shipping_lines[%d]", i), s.DiscountAllocations)
	}
	return total
}

// refundFromWire converts one refund. Its amount is the money returned:
// the successful refund transactions when they are in the shop's currency;
// when they are in the customer's (a multi-currency order, whose REST
// transactions carry no shop money), it is rebuilt in shop money from the
// refunded lines, their tax and the order adjustments, as Shopify reports
// them.
func refundFromWire(m *moneyReader, w *wireOrder, r *wireRefund) (commerce.Refund, error) {
	if r.ID == "" {
		return commerce.Refund{}, errors.New("id: missing")
	}
	ref := commerce.Refund{ID: string(r.ID), CreatedAt: r.CreatedAt.Time, Note: string(r.Note)}
	lines := commerce.NewMoney(0, m.currency)
	for i, rl := range r.RefundLineItems {
		field := fmt.Sprintf("refund_line_items[%d]", i)
		sub := m.read(field+".subtotal", rl.Subtotal, rl.SubtotalSet)
		tax := m.read(field+".total_tax", rl.TotalTax, rl.TotalTaxSet)
		lines = lines.Add(sub).Add(tax)
		ref.Lines = append(ref.Lines, commerce.RefundLine{LineID: string(rl.LineItemID), Quantity: rl.Quantity, Amount: sub})
	}
	// refund_shipping_lines (API 2024-10 on) carry refunded shipping that,
	// unlike the older shipping_refund adjustments, is not an adjustment.
	shipLines := commerce.NewMoney(0, m.currency)
	for i, s := range r.RefundShippingLines {
		shipLines = shipLines.Add(m.read(fmt.Sprintf("refund_shipping_lines[%d].subtotal_amount_set", i), amount{}, s.SubtotalAmountSet))
	}
	shipping := shipLines
	adjust := commerce.NewMoney(0, m.currency)
	for i, a := range r.OrderAdjustments {
		field := fmt.Sprintf("order_adjustments[%d]", i)
		// Adjustments are negative when money goes back to the customer.
		back := m.read(field+".amount", a.Amount, a.AmountSet).Add(m.read(field+".tax_amount", a.TaxAmount, a.TaxAmountSet)).Neg()
		if string(a.Kind) == "shipping_refund" {
			shipping = shipping.Add(m.read(field+".amount", a.Amount, a.AmountSet).Neg())
		}
		adjust = adjust.Add(back)
	}
	ref.Shipping = shipping
	var txs []wireTransaction
	inShop := true
	for _, t := range r.Transactions {
		if string(t.Kind) != "refund" || string(t.Status) != "success" {
			continue
		}
		txs = append(txs, t)
		if c := strings.ToUpper(string(t.Currency)); c != "" && c != m.currency {
			inShop = false
		}
	}
	switch {
	case len(txs) == 0:
		ref.Amount = commerce.NewMoney(0, m.currency)
	case inShop:
		total := commerce.NewMoney(0, m.currency)
		for i, t := range txs {
			total = total.Add(m.read(fmt.Sprintf("transactions[%d].amount", i), t.Amount, nil))
		}
		ref.Amount = total
	default:
		ref.Amount = lines.Add(adjust).Add(shipLines)
	}
	if ref.Amount.Sign() < 0 {
		return commerce.Refund{}, fmt.Errorf("amount %s is negative", ref.Amount)
	}
	return ref, nil
}

// moneyReader reads amounts in one shop currency and keeps the first error,
// so that conversion code reads straight through.
type moneyReader struct {
	currency string
	err      error
}

// read returns the set's shop money when it has one, else the plain
// amount, else zero. A shop-money currency other than the order's is an
// error: the amounts could not be added.
func (m *moneyReader) read(field string, plain amount, set *moneySet) commerce.Money {
	zero := commerce.NewMoney(0, m.currency)
	if m.err != nil {
		return zero
	}
	a := plain
	if set != nil && set.ShopMoney.Amount.set {
		a = set.ShopMoney.Amount
		if c := strings.ToUpper(strings.TrimSpace(set.ShopMoney.CurrencyCode)); c != "" && c != m.currency {
			m.err = fmt.Errorf("%s: shop money in %s, but the shop's currency is %s", field, truncate(c, 8), m.currency)
			return zero
		}
	}
	if !a.set {
		return zero
	}
	v, err := commerce.ParseMoney(a.s, m.currency)
	if err != nil {
		m.err = fmt.Errorf("%s: %w", field, err)
		return zero
	}
	return v
}

// allocations sums discount allocations in shop money.
func (m *moneyReader) allocations(field string, as []wireAllocation) commerce.Money {
	total := commerce.NewMoney(0, m.currency)
	for i, a := range as {
		total = total.Add(m.read(fmt.Sprintf("%s.discount_allocations[%d]", field, i), a.Amount, a.AmountSet))
	}
	return total
}

// convertCustomer turns one REST customer into a commerce.Customer. Shopify
// keeps a record for every customer, account or not, so none is a Guest.
func convertCustomer(raw []byte) (commerce.Customer, error) {
	var w wireCustomer
	if err := decodeStrict(raw, &w); err != nil {
		return commerce.Customer{}, fmt.Errorf("customer: %w", err)
	}
	if w.ID == "" {
		return commerce.Customer{}, errors.New("customer: no id")
	}
	if w.UpdatedAt.IsZero() {
		return commerce.Customer{}, fmt.Errorf("customer %s: updated_at: missing", w.ID)
	}
	return commerce.Customer{
		ID:        string(w.ID),
		Email:     string(w.Email),
		FirstName: string(w.FirstName),
		LastName:  string(w.LastName),
		Tags:      splitTags(string(w.Tags)),
		CreatedAt: w.CreatedAt.Time,
		UpdatedAt: w.UpdatedAt.Time,
		Raw:       bytes.Clone(raw),
	}, nil
}

// splitTags splits Shopify's one-string tag list ("vip, gold") into tags.
func splitTags(s string) []string {
	var out []string
	for t := range strings.SplitSeq(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// gid returns the GraphQL id of a REST resource.
func gid(kind, id string) string { return "gid://shopify/" + kind + "/" + id }

// restID returns the REST id a decimal string names, or false.
func restID(s string) (uint64, bool) {
	if !isDigits(s) {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil && v > 0
}

// truncate shortens s for an error message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
