package woocommerce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
)

// Write-back. WooCommerce has no customer tags, so tags and fields go to
// the customer's meta_data, which a PUT merges by key: other keys are left
// as they are. Keys starting with "_" are refused here, because WooCommerce
// drops them silently. Guests have no customer record, so writing to one is
// connectors.ErrUnsupported: reported, not hidden.

// registered returns the WooCommerce id of a registered customer, or the
// error a write to customerID returns.
func registered(customerID string) (string, error) {
	if isGuest(customerID) {
		// The id holds the guest's e-mail, which no error may show.
		return "", fmt.Errorf("a guest customer (%s…), of whom WooCommerce keeps no record: %w", guestPrefix, connectors.ErrUnsupported)
	}
	id, ok := customerNumber(customerID)
	if !ok {
		return "", fmt.Errorf("customer id %q is not a WooCommerce id: %w", truncate(customerID, 24), connectors.ErrNotFound)
	}
	return id, nil
}

// getCustomer reads one customer.
func (c *Connector) getCustomer(ctx context.Context, id string) (wireCustomer, error) {
	resp, err := c.api.do(ctx, request{method: "GET", path: "customers/" + id, idempotent: true})
	if err != nil {
		return wireCustomer{}, err
	}
	var w wireCustomer
	if err := decodeStrict(resp.body, &w); err != nil {
		return wireCustomer{}, fmt.Errorf("GET customers/%s: decode: %w", id, err)
	}
	return w, nil
}

// putMeta writes meta entries to a customer and checks that WooCommerce
// kept each one.
func (c *Connector) putMeta(ctx context.Context, id string, set []metaSet) error {
	resp, err := c.api.do(ctx, request{method: "PUT", path: "customers/" + id, idempotent: true,
		body: map[string]any{"meta_data": set}})
	if err != nil {
		return err
	}
	var w wireCustomer
	if err := decodeStrict(resp.body, &w); err != nil {
		return fmt.Errorf("PUT customers/%s: decode: %w", id, err)
	}
	for _, s := range set {
		found := false
		for _, m := range w.MetaData {
			if m.Key == s.Key && m.text() == s.Value {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("WooCommerce did not keep the meta key %q of customer %s: %w", s.Key, id, connectors.ErrRejected)
		}
	}
	return nil
}

// checkTags refuses tags that the comma-separated list cannot hold.
func checkTags(tags []string) error {
	for _, t := range tags {
		if strings.TrimSpace(t) == "" {
			return fmt.Errorf("an empty tag: %w", connectors.ErrRejected)
		}
		if strings.Contains(t, ",") {
			return fmt.Errorf("tag %q contains a comma, which separates tags in %s: %w", truncate(t, 40), TagsMetaKey, connectors.ErrRejected)
		}
	}
	return nil
}

// AddTags adds tags to the customer's loyalty_tags meta list and keeps its
// other tags and meta keys; a tag already there in any case is not added
// again, and nothing is written when nothing changes. It returns an error
// wrapping connectors.ErrNotFound for an unknown customer,
// connectors.ErrUnsupported for a guest, and connectors.ErrRejected for an
// empty tag or one with a comma.
func (c *Connector) AddTags(ctx context.Context, customerID string, tags []string) error {
	return c.editTags(ctx, "add tags", customerID, tags, func(have []string) []string {
		for _, t := range tags {
			if !hasTag(have, t) {
				have = append(have, strings.TrimSpace(t))
			}
		}
		return have
	})
}

// RemoveTags removes tags from the customer's loyalty_tags meta list,
// compared without regard to case, and keeps the rest; removing a tag the
// customer lacks is success. Its errors are those of AddTags.
func (c *Connector) RemoveTags(ctx context.Context, customerID string, tags []string) error {
	return c.editTags(ctx, "remove tags", customerID, tags, func(have []string) []string {
		return slices.DeleteFunc(have, func(t string) bool { return hasTag(tags, t) })
	})
}

func (c *Connector) editTags(ctx context.Context, op, customerID string, tags []string, edit func([]string) []string) error {
	fail := func(err error) error { return fmt.Errorf("woocommerce: %s: %w", op, err) }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if err := checkTags(tags); err != nil {
		return fail(err)
	}
	id, err := registered(customerID)
	if err != nil {
		return fail(err)
	}
	// The list is read, edited and written whole: two edits at once
	// would lose one.
	c.tagMu.Lock()
	defer c.tagMu.Unlock()
	w, err := c.getCustomer(ctx, id)
	if err != nil {
		return fail(err)
	}
	var have []string
	for _, m := range w.MetaData {
		if m.Key == TagsMetaKey {
			have = parseTags(m.Value)
		}
	}
	before := formatTags(have)
	after := formatTags(edit(slices.Clone(have)))
	if after == before {
		return nil
	}
	if err := c.putMeta(ctx, id, []metaSet{{Key: TagsMetaKey, Value: after}}); err != nil {
		return fail(err)
	}
	return nil
}

// SetMetafields sets each key to its value in the customer's meta_data,
// which WooCommerce merges by key: other keys stay. It returns an error
// wrapping connectors.ErrNotFound for an unknown customer,
// connectors.ErrUnsupported for a guest, and connectors.ErrRejected for an
// empty key, a key starting with "_" (WooCommerce would drop it silently),
// the tag list's key, or a value WooCommerce did not keep.
func (c *Connector) SetMetafields(ctx context.Context, customerID string, fields map[string]string) error {
	fail := func(err error) error { return fmt.Errorf("woocommerce: set metafields: %w", err) }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	for k := range fields {
		switch {
		case strings.TrimSpace(k) == "":
			return fail(fmt.Errorf("an empty key: %w", connectors.ErrRejected))
		case strings.HasPrefix(k, "_"):
			return fail(fmt.Errorf("key %q starts with \"_\", which WooCommerce drops silently: %w", truncate(k, 40), connectors.ErrRejected))
		case k == TagsMetaKey:
			return fail(fmt.Errorf("key %q holds the tags; write it with AddTags and RemoveTags: %w", k, connectors.ErrRejected))
		}
	}
	id, err := registered(customerID)
	if err != nil {
		return fail(err)
	}
	if len(fields) == 0 {
		// Nothing to write, but the customer must exist.
		if _, err := c.getCustomer(ctx, id); err != nil {
			return fail(err)
		}
		return nil
	}
	set := make([]metaSet, 0, len(fields))
	for _, k := range sortedKeys(fields) {
		set = append(set, metaSet{Key: k, Value: fields[k]})
	}
	if err := c.putMeta(ctx, id, set); err != nil {
		return fail(err)
	}
	return nil
}

// The meta keys that mark a coupon as loyaltyd's.
const (
	couponOwnerKey    = "loyaltyd"
	couponCustomerKey = "loyaltyd_customer"
	couponMemberKey   = "loyaltyd_referrer"
)

// EnsureDiscount makes sure the coupon exists: it looks the code up first
// (GET /coupons?code=, which compares without regard to case; WooCommerce
// stores codes lower-case), creates it only when absent, and treats a
// woocommerce_rest_coupon_code_already_exists answer for its own code as
// success, so that a retry after a crash or a lost answer never makes a
// second coupon. The coupon is single use (usage_limit and
// usage_limit_per_user 1), individual use, restricted to the customer's
// e-mail, and expires as d says: the expiry is sent as date_expires with an
// explicit UTC zone and read back, since WooCommerce silently ignores
// date_expires_gmt. WooCommerce coupons have no start date; StartsAt is not
// sent. It returns the coupon's id, an error wrapping connectors.ErrRejected
// for a code WooCommerce cannot take (empty, an unknown type, a value it
// refuses, or a code that exists and is not loyaltyd's), and
// connectors.ErrNotFound when the customer does not exist. A Shared code
// (a member's referral code) has no e-mail restriction and no overall
// limit, once per customer; WooCommerce cannot exclude its owner.
func (c *Connector) EnsureDiscount(ctx context.Context, d commerce.DiscountCode) (string, error) {
	fail := func(err error) (string, error) { return "", fmt.Errorf("woocommerce: ensure discount: %w", err) }
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	body, err := couponBody(d)
	if err != nil {
		return fail(err)
	}
	switch {
	case d.Shared:
		// A referral code: anyone may use it once; WooCommerce cannot
		// exclude its owner, whom loyaltyd refuses when it is used.
		body.EmailRestrictions = nil
	case isGuest(d.CustomerID):
		if body.EmailRestrictions == nil {
			body.EmailRestrictions = []string{strings.TrimPrefix(d.CustomerID, guestPrefix)}
		}
	default:
		id, err := registered(d.CustomerID)
		if err != nil {
			return fail(err)
		}
		w, err := c.getCustomer(ctx, id)
		if err != nil {
			return fail(fmt.Errorf("customer %s: %w", id, err))
		}
		if body.EmailRestrictions == nil && strings.TrimSpace(w.Email) != "" {
			body.EmailRestrictions = []string{strings.TrimSpace(w.Email)}
		}
	}
	if len(body.EmailRestrictions) == 0 && !d.Shared {
		return fail(fmt.Errorf("no e-mail to restrict the coupon to: %w", connectors.ErrRejected))
	}
	if found, ok, err := c.findCoupon(ctx, body.Code); err != nil {
		return fail(err)
	} else if ok {
		return c.ours(ctx, found, d)
	}
	resp, err := c.api.do(ctx, request{method: "POST", path: "coupons", body: body})
	var ae *APIError
	switch {
	case errors.As(err, &ae) && ae.Code == codeCouponExists:
		// Created by an earlier try whose answer was lost, or by a
		// concurrent one: ours if it carries our mark.
		found, ok, ferr := c.findCoupon(ctx, body.Code)
		if ferr != nil {
			return fail(ferr)
		}
		if !ok {
			return fail(fmt.Errorf("WooCommerce says coupon %s exists but does not list it (is it in the trash?)", body.Code))
		}
		return c.ours(ctx, found, d)
	case errors.As(err, &ae) && ae.Status == 400:
		return fail(fmt.Errorf("coupon %s: %w: %w", body.Code, connectors.ErrRejected, err))
	case err != nil:
		return fail(fmt.Errorf("coupon %s: %w", body.Code, err))
	}
	var created wireCoupon
	if err := decodeStrict(resp.body, &created); err != nil {
		return fail(fmt.Errorf("POST coupons: decode: %w", err))
	}
	if created.ID == 0 {
		return fail(errors.New("POST coupons: the answer has no id"))
	}
	return c.ours(ctx, created, d)
}

// couponBody checks d and builds the coupon to create.
func couponBody(d commerce.DiscountCode) (couponCreate, error) {
	code := strings.ToLower(strings.TrimSpace(d.Code))
	if code == "" {
		return couponCreate{}, fmt.Errorf("an empty code: %w", connectors.ErrRejected)
	}
	one := 1
	b := couponCreate{
		Code:              code,
		Description:       d.Title,
		IndividualUse:     true,
		UsageLimit:        &one,
		UsageLimitPerUser: 1,
		Status:            "publish",
		MetaData:          []metaSet{{Key: couponOwnerKey, Value: "1"}},
	}
	if d.Shared {
		// Once per customer, no overall limit.
		b.UsageLimit = nil
		b.MetaData = append(b.MetaData, metaSet{Key: couponMemberKey, Value: d.OwnerID})
	} else {
		if d.CustomerID == "" {
			return couponCreate{}, fmt.Errorf("code %s: no customer to restrict the code to: %w", code, connectors.ErrRejected)
		}
		b.MetaData = append(b.MetaData, metaSet{Key: couponCustomerKey, Value: d.CustomerID})
	}
	switch d.Type {
	case commerce.DiscountFixedAmount:
		if d.Amount.Sign() <= 0 {
			return couponCreate{}, fmt.Errorf("code %s: a fixed amount of %s: %w", code, d.Amount.Decimal(), connectors.ErrRejected)
		}
		b.DiscountType, b.Amount = "fixed_cart", formatDecimal(d.Amount)
	case commerce.DiscountPercentage:
		if d.PercentBP <= 0 || d.PercentBP > 10000 {
			return couponCreate{}, fmt.Errorf("code %s: a percentage of %d basis points: %w", code, d.PercentBP, connectors.ErrRejected)
		}
		b.DiscountType, b.Amount = "percent", formatPercent(d.PercentBP)
	case commerce.DiscountFreeShipping:
		b.DiscountType, b.Amount, b.FreeShipping = "fixed_cart", "0", true
	default:
		return couponCreate{}, fmt.Errorf("code %s: unknown discount type %q: %w", code, truncate(string(d.Type), 24), connectors.ErrRejected)
	}
	if d.MinimumOrder.Sign() > 0 {
		b.MinimumAmount = formatDecimal(d.MinimumOrder)
	}
	if !d.ExpiresAt.IsZero() {
		b.DateExpires = expiryValue(d.ExpiresAt)
	}
	if e := strings.TrimSpace(d.Email); e != "" && !d.Shared {
		b.EmailRestrictions = []string{e}
	}
	return b, nil
}

// findCoupon looks a code up.
func (c *Connector) findCoupon(ctx context.Context, code string) (wireCoupon, bool, error) {
	resp, err := c.api.do(ctx, request{method: "GET", path: "coupons", idempotent: true,
		query: url.Values{"code": {code}, "per_page": {"10"}}})
	if err != nil {
		return wireCoupon{}, false, fmt.Errorf("look up coupon %s: %w", code, err)
	}
	var got []wireCoupon
	if err := decodeStrict(resp.body, &got); err != nil {
		return wireCoupon{}, false, fmt.Errorf("look up coupon %s: decode: %w", code, err)
	}
	for _, cp := range got {
		if strings.EqualFold(strings.TrimSpace(cp.Code), code) {
			return cp, true, nil
		}
	}
	return wireCoupon{}, false, nil
}

// ours accepts a coupon found under d's code when loyaltyd made it, and
// makes sure its expiry is d's.
func (c *Connector) ours(ctx context.Context, cp wireCoupon, d commerce.DiscountCode) (string, error) {
	mine := false
	for _, m := range cp.MetaData {
		if m.Key == couponOwnerKey {
			mine = true
		}
	}
	if !mine {
		return "", fmt.Errorf("woocommerce: ensure discount: coupon %s exists and was not made by loyaltyd: %w", cp.Code, connectors.ErrRejected)
	}
	if d.ExpiresAt.IsZero() || expiresAt(cp).Equal(second(d.ExpiresAt)) {
		return cp.ID.String(), nil
	}
	// Not the expiry asked for (a store that dropped it, or a coupon made
	// by an older version with date_expires_gmt): set it and read back.
	resp, err := c.api.do(ctx, request{method: "PUT", path: "coupons/" + cp.ID.String(), idempotent: true,
		body: map[string]string{"date_expires": expiryValue(d.ExpiresAt)}})
	if err != nil {
		return "", fmt.Errorf("woocommerce: ensure discount: set the expiry of coupon %s: %w", cp.ID, err)
	}
	var back wireCoupon
	if err := decodeStrict(resp.body, &back); err != nil {
		return "", fmt.Errorf("woocommerce: ensure discount: PUT coupons/%s: decode: %w", cp.ID, err)
	}
	if got := expiresAt(back); !got.Equal(second(d.ExpiresAt)) {
		return "", fmt.Errorf("woocommerce: ensure discount: coupon %s expires %s after setting %s: the coupon would not expire as the reward says",
			cp.ID, showTime(got), showTime(d.ExpiresAt))
	}
	return cp.ID.String(), nil
}

// expiresAt returns the coupon's expiry as WooCommerce reports it in
// date_expires_gmt; zero when it never expires.
func expiresAt(cp wireCoupon) time.Time {
	if cp.DateExpiresGMT == nil || *cp.DateExpiresGMT == "" {
		return time.Time{}
	}
	t, err := parseWireTime(*cp.DateExpiresGMT)
	if err != nil {
		return time.Time{}
	}
	return t
}

func showTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// WebhookTopics are the topics EnsureWebhooks subscribes to.
var WebhookTopics = []string{
	"order.created", "order.updated", "order.deleted", "order.restored",
	"customer.created", "customer.updated", "customer.deleted",
}

// WebhookReport is what EnsureWebhooks changed.
type WebhookReport = connectors.WebhookReport

// EnsureWebhooks makes sure the store delivers every topic of
// WebhookTopics to webhook_url, signed with webhook_secret: it creates the
// missing subscriptions and re-activates those WooCommerce disabled after
// failed deliveries. Call it once loyaltyd's endpoint answers, or the
// next failure disables them again. It returns an error when webhook_url is
// not set, and an error wrapping connectors.ErrUnauthorized when the key
// may not manage webhooks (it needs Read/Write permission).
func (c *Connector) EnsureWebhooks(ctx context.Context) (WebhookReport, error) {
	var rep WebhookReport
	fail := func(err error) (WebhookReport, error) {
		return rep, fmt.Errorf("woocommerce: ensure webhooks: %w", err)
	}
	if c.set.webhookURL == "" {
		return fail(errors.New("webhook_url is not set"))
	}
	var have []wireWebhook
	for page := 1; ; page++ {
		resp, err := c.api.do(ctx, request{method: "GET", path: "webhooks", idempotent: true,
			query: url.Values{"per_page": {"100"}, "page": {strconv.Itoa(page)}}})
		if err != nil {
			return fail(err)
		}
		var got []wireWebhook
		if err := decodeStrict(resp.body, &got); err != nil {
			return fail(fmt.Errorf("GET webhooks: decode: %w", err))
		}
		have = append(have, got...)
		pages, _, ok := totalPages(resp.header)
		if (ok && page >= pages) || (!ok && len(got) < 100) || len(got) == 0 {
			break
		}
	}
	for _, topic := range WebhookTopics {
		i := slices.IndexFunc(have, func(w wireWebhook) bool {
			return w.Topic == topic && w.DeliveryURL == c.set.webhookURL
		})
		switch {
		case i < 0:
			_, err := c.api.do(ctx, request{method: "POST", path: "webhooks", body: map[string]string{
				"name":         "loyaltyd " + topic,
				"topic":        topic,
				"delivery_url": c.set.webhookURL,
				"secret":       c.set.webhookSecret,
				"status":       "active",
			}})
			if err != nil {
				return fail(fmt.Errorf("create %s: %w", topic, err))
			}
			rep.Created = append(rep.Created, topic)
		case have[i].Status != "active":
			resp, err := c.api.do(ctx, request{method: "PUT", path: "webhooks/" + have[i].ID.String(), idempotent: true,
				body: map[string]string{"status": "active", "secret": c.set.webhookSecret}})
			if err != nil {
				return fail(fmt.Errorf("re-activate %s: %w", topic, err))
			}
			var back wireWebhook
			if err := json.Unmarshal(resp.body, &back); err != nil || back.Status != "active" {
				return fail(fmt.Errorf("re-activate %s: WooCommerce left it %q", topic, back.Status))
			}
			rep.Reactivated = append(rep.Reactivated, topic)
		default:
			rep.Unchanged = append(rep.Unchanged, topic)
		}
	}
	return rep, nil
}
