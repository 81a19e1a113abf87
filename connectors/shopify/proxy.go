package shopify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/connectors"
)

// ProxySignature returns the signature Shopify puts on an app-proxy
// request with the given query: every parameter but signature, as
// "key=value" with a repeated key's values joined by commas, sorted, and
// concatenated without a separator; then the hex HMAC-SHA256 of that under
// the app's API secret.
func ProxySignature(secret string, query url.Values) string {
	parts := make([]string, 0, len(query))
	for k, vs := range query {
		if k == "signature" {
			continue
		}
		parts = append(parts, k+"="+strings.Join(vs, ","))
	}
	slices.Sort(parts)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(m.Sum(nil))
}

// VerifyProxySignature checks the signature parameter of an app-proxy
// request (the customer-facing endpoint Shopify forwards from the
// storefront), in constant time. It returns an error wrapping
// connectors.ErrBadSignature when the signature is missing, malformed or
// wrong, or when secret is empty. It does not look at the timestamp; see
// VerifyProxyRequest.
func VerifyProxySignature(secret string, query url.Values) error {
	if secret == "" {
		return fmt.Errorf("shopify: app proxy: %w: no api_secret to verify with", connectors.ErrBadSignature)
	}
	sig := query.Get("signature")
	if sig == "" || len(query["signature"]) != 1 {
		return fmt.Errorf("shopify: app proxy: %w: no single signature parameter", connectors.ErrBadSignature)
	}
	got, err := hex.DecodeString(sig)
	want, _ := hex.DecodeString(ProxySignature(secret, query))
	if err != nil || !hmac.Equal(got, want) {
		return fmt.Errorf("shopify: app proxy: %w: the signature does not match", connectors.ErrBadSignature)
	}
	return nil
}

// VerifyProxyRequest is VerifyProxySignature followed by a check that the
// request's timestamp is within maxAge of now, either way, so that a
// captured URL cannot be replayed for ever. It returns the shop and the
// logged-in customer's id (empty when the shopper is not logged in).
func VerifyProxyRequest(secret string, query url.Values, now time.Time, maxAge time.Duration) (shop, customerID string, err error) {
	if err := VerifyProxySignature(secret, query); err != nil {
		return "", "", err
	}
	ts, err := strconv.ParseInt(query.Get("timestamp"), 10, 64)
	if err != nil {
		return "", "", fmt.Errorf("shopify: app proxy: %w: no timestamp", connectors.ErrBadSignature)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > maxAge || d < -maxAge {
		return "", "", fmt.Errorf("shopify: app proxy: %w: the request is %s old", connectors.ErrBadSignature, d.Round(time.Second))
	}
	return query.Get("shop"), query.Get("logged_in_customer_id"), nil
}

// VerifyProxy is VerifyProxyRequest with the store's api_secret, now from
// the connector's clock, and a maximum age of five minutes.
func (c *Connector) VerifyProxy(query url.Values) (shop, customerID string, err error) {
	shop, customerID, err = VerifyProxyRequest(c.opts.APISecret.Reveal(), query, c.now(), 5*time.Minute)
	if err == nil && shop != c.shop {
		return "", "", fmt.Errorf("shopify: app proxy: %w: signed for another shop", connectors.ErrBadSignature)
	}
	return shop, customerID, err
}
