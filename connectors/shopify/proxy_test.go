package shopify

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/connectors"
)

// proxyQuery is Shopify's documented app-proxy example.
const proxyQuery = "extra=1&extra=2&shop=shop-name.myshopify.com&path_prefix=%2Fapps%2Fawesome_reviews&timestamp=1317327555" +
	"&signature=a9718877bea71c2484f91608a7eaea1532bdf71f5c56825065fa4ccabe549ef3"

func mustQuery(t *testing.T, s string) url.Values {
	t.Helper()
	q, err := url.ParseQuery(s)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestProxySignature(t *testing.T) {
	t.Parallel()
	q := mustQuery(t, proxyQuery)
	if got, want := ProxySignature("hush", q), q.Get("signature"); got != want {
		t.Errorf("ProxySignature = %s, want %s", got, want)
	}
	if err := VerifyProxySignature("hush", q); err != nil {
		t.Errorf("VerifyProxySignature of the documented example: %v", err)
	}
	upper := mustQuery(t, proxyQuery)
	upper.Set("signature", "A9718877BEA71C2484F91608A7EAEA1532BDF71F5C56825065FA4CCABE549EF3")
	if err := VerifyProxySignature("hush", upper); err != nil {
		t.Errorf("an upper-case hex signature: %v", err)
	}
	for _, tc := range []struct {
		name   string
		secret string
		edit   func(url.Values)
	}{
		{"another secret", "hush!", func(url.Values) {}},
		{"no secret", "", func(url.Values) {}},
		{"no signature", "hush", func(q url.Values) { q.Del("signature") }},
		{"two signatures", "hush", func(q url.Values) { q.Add("signature", "00") }},
		{"not hex", "hush", func(q url.Values) { q.Set("signature", "zz") }},
		{"a parameter added", "hush", func(q url.Values) { q.Set("logged_in_customer_id", "42") }},
		{"a value changed", "hush", func(q url.Values) { q.Set("shop", "other.myshopify.com") }},
		{"values reordered", "hush", func(q url.Values) { q["extra"] = []string{"2", "1"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := mustQuery(t, proxyQuery)
			tc.edit(q)
			if err := VerifyProxySignature(tc.secret, q); !errors.Is(err, connectors.ErrBadSignature) {
				t.Errorf("got %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestVerifyProxyRequest(t *testing.T) {
	t.Parallel()
	q := mustQuery(t, proxyQuery)
	signedAt := time.Unix(1317327555, 0)
	shop, customer, err := VerifyProxyRequest("hush", q, signedAt.Add(time.Minute), 5*time.Minute)
	if err != nil || shop != "shop-name.myshopify.com" || customer != "" {
		t.Errorf("got %q, %q, %v; want the shop, no customer, no error", shop, customer, err)
	}
	for _, now := range []time.Time{signedAt.Add(6 * time.Minute), signedAt.Add(-6 * time.Minute)} {
		if _, _, err := VerifyProxyRequest("hush", q, now, 5*time.Minute); !errors.Is(err, connectors.ErrBadSignature) {
			t.Errorf("at %s: got %v, want ErrBadSignature for a stale request", now.Sub(signedAt), err)
		}
	}
	q.Set("logged_in_customer_id", "7012345678901")
	q.Set("signature", ProxySignature("hush", q))
	if _, customer, err := VerifyProxyRequest("hush", q, signedAt, time.Minute); err != nil || customer != "7012345678901" {
		t.Errorf("logged-in request: got %q, %v", customer, err)
	}
}
