package woocommerce

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/connectors/woocommerce/wootest"
)

// TestOAuthSignatureVectors checks the signature against vectors derived
// by hand from RFC 5849 §3.4 (and WooCommerce's key, the consumer secret
// and "&"): the base strings below were written out by hand, parameter by
// parameter, and the signatures computed from them with OpenSSL, not with
// this package:
//
//	printf '%s' "$BASE" | openssl dgst -sha256 -hmac 'cs_4e2d&' -binary | base64
func TestOAuthSignatureVectors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, method, url string
		params            url.Values
		base, sig         string
	}{
		{
			name: "a page of orders", method: "GET", url: "http://shop.example:8080/wp-json/wc/v3/orders",
			params: url.Values{
				"per_page": {"100"}, "modified_after": {"2026-03-02T10:00:00"}, "dates_are_gmt": {"true"},
				"oauth_consumer_key": {"ck_7f0b8a"}, "oauth_nonce": {"3c9d"},
				"oauth_signature_method": {"HMAC-SHA256"}, "oauth_timestamp": {"1772445600"},
			},
			// The colons of the date are encoded twice (%253A): once as a
			// value, once as part of the parameter string.
			base: "GET&http%3A%2F%2Fshop.example%3A8080%2Fwp-json%2Fwc%2Fv3%2Forders&" +
				"dates_are_gmt%3Dtrue%26modified_after%3D2026-03-02T10%253A00%253A00%26oauth_consumer_key%3Dck_7f0b8a" +
				"%26oauth_nonce%3D3c9d%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1772445600%26per_page%3D100",
			sig: "SD3FcghYfFeNRk/yjn5e+d3bww3e4U+Ac7r00yP5wb8=",
		},
		{
			name: "reserved characters, default port", method: "post", url: "HTTPS://Shop.Example:443/wp-json/wc/v3/coupons",
			params: url.Values{
				"search": {"a+b c~"}, "oauth_consumer_key": {"ck_7f0b8a"}, "oauth_nonce": {"n o"},
				"oauth_signature_method": {"HMAC-SHA256"}, "oauth_timestamp": {"1772445600"},
				"oauth_signature": {"left out of the base string"},
			},
			base: "POST&https%3A%2F%2Fshop.example%2Fwp-json%2Fwc%2Fv3%2Fcoupons&" +
				"oauth_consumer_key%3Dck_7f0b8a%26oauth_nonce%3Dn%2520o%26oauth_signature_method%3DHMAC-SHA256" +
				"%26oauth_timestamp%3D1772445600%26search%3Da%252Bb%2520c~",
			sig: "sITUUHqqounXWgPi74H4zKu0bKXM+hv3jK25f16FMuQ=",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if got := signatureBase(tc.method, baseURL(u), tc.params); got != tc.base {
				t.Errorf("base string\n got %s\nwant %s", got, tc.base)
			}
			if got := oauthSignature(tc.method, baseURL(u), tc.params, "cs_4e2d"); got != tc.sig {
				t.Errorf("signature = %s, want %s", got, tc.sig)
			}
		})
	}
}

func TestPercentEncode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"abc-._~XYZ09": "abc-._~XYZ09", "a b": "a%20b", "a+b": "a%2Bb", "ü": "%C3%BC", "2026-03-02T10:00:00": "2026-03-02T10%3A00%3A00", "1,2": "1%2C2",
	} {
		if got := percentEncode(in); got != want {
			t.Errorf("percentEncode(%q) = %q, want %q", in, got, want)
		}
	}
}

// open opens a connector on srv through the registry with YAML settings
// plus extra lines.
func open(t testing.TB, srv *wootest.Server, auth string, extra string) *Connector {
	t.Helper()
	if !strings.Contains(extra, "retry_wait_max") {
		extra += "retry_wait_max: 5ms\n"
	}
	settings := fmt.Sprintf("url: %q\nconsumer_key: %q\nconsumer_secret: %q\nwebhook_secret: whsec\nauth: %s\n%s",
		srv.URL, srv.ConsumerKey(), srv.ConsumerSecret(), auth, extra)
	c, err := connectors.Open(t.Context(), "woocommerce", connectors.Options{StoreID: "t", Decode: decodeYAML(settings), HTTPClient: srv.Client()})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return c.(*Connector)
}

func decodeYAML(src string) func(any) error {
	return func(v any) error {
		dec := yaml.NewDecoder(strings.NewReader(src))
		dec.KnownFields(true)
		if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		return nil
	}
}

// TestOAuthOverPlainHTTP reads through OAuth 1.0a as the fake verifies it,
// and checks that every request, retries and later pages included, is
// signed anew: a nonce is never sent twice, and no request repeats a
// parameter, as following a Link header would.
func TestOAuthOverPlainHTTP(t *testing.T) {
	t.Parallel()
	srv := wootest.NewServer(wootest.Options{})
	defer srv.Close()
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for i := range 9 {
		srv.PutOrder(wootest.Order{ID: int64(100 + i), Status: "processing", Currency: "USD", Total: "10.00", Modified: at.Add(time.Duration(i) * time.Minute)})
	}
	srv.InjectFault(wootest.RouteListOrders, 2, wootest.Fault{Status: 503})
	c := open(t, srv, AuthOAuth1, "page_size: 2\n")
	n := 0
	cur := connectors.Cursor{Since: at}
	for {
		pg, err := c.Orders(t.Context(), cur)
		if err != nil {
			t.Fatalf("Orders: %v", err)
		}
		n += len(pg.Items)
		if pg.Done {
			break
		}
		cur = pg.Next
	}
	if n != 9 {
		t.Errorf("read %d orders, want 9", n)
	}
	nonces := map[string]bool{}
	for _, r := range srv.Requests() {
		for k, vs := range r.Query {
			if len(vs) != 1 {
				t.Errorf("request %s?%v repeats %s", r.Path, r.Query, k)
			}
		}
		nonce := r.Query.Get("oauth_nonce")
		if nonce == "" || nonces[nonce] {
			t.Errorf("request %s: nonce %q empty or used before", r.Path, nonce)
		}
		nonces[nonce] = true
		if r.Basic {
			t.Errorf("request %s carried Basic credentials over plain HTTP", r.Path)
		}
		if ma := r.Query.Get("modified_after"); strings.ContainsAny(ma, "Z+") || r.Query.Get("dates_are_gmt") != "true" {
			t.Errorf("request %s: modified_after=%q dates_are_gmt=%q, want a GMT time without a zone and dates_are_gmt=true",
				r.Path, ma, r.Query.Get("dates_are_gmt"))
		}
		if r.Status == 401 {
			t.Errorf("request %s was refused", r.Path)
		}
	}
}

// TestAuthErrors checks what a store owner is told when keys fail.
func TestAuthErrors(t *testing.T) {
	t.Parallel()
	t.Run("basic behind a proxy that hides HTTPS", func(t *testing.T) {
		srv := wootest.NewServer(wootest.Options{TLS: true, ProxyHidesHTTPS: true})
		defer srv.Close()
		err := open(t, srv, AuthBasic, "").Check(t.Context())
		if !errors.Is(err, connectors.ErrUnauthorized) {
			t.Fatalf("Check: %v, want ErrUnauthorized", err)
		}
		for _, want := range []string{"woocommerce_rest_cannot_view", "HTTPS", "X-Forwarded-Proto", "wordpress_sees_http", "Read/Write"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
		if strings.Contains(err.Error(), srv.ConsumerSecret()) {
			t.Errorf("error %q shows the secret", err)
		}
		// OAuth signed over the https URL fails too: WordPress checks
		// the signature against the URL as it sees it, http.
		if err := open(t, srv, AuthOAuth1, "").Check(t.Context()); !errors.Is(err, connectors.ErrUnauthorized) {
			t.Errorf("Check over OAuth 1.0a signed for https behind the proxy: %v, want ErrUnauthorized", err)
		}
		// The way out the message gives works.
		if err := open(t, srv, AuthOAuth1, "wordpress_sees_http: true\n").Check(t.Context()); err != nil {
			t.Errorf("Check over OAuth 1.0a signed as WordPress sees it: %v", err)
		}
	})
	t.Run("oauth1 with a wrong secret", func(t *testing.T) {
		srv := wootest.NewServer(wootest.Options{})
		defer srv.Close()
		c, err := connectors.Open(t.Context(), "woocommerce", connectors.Options{Decode: decodeYAML(fmt.Sprintf(
			"url: %s\nconsumer_key: %s\nconsumer_secret: cs_wrong_secret\n", srv.URL, srv.ConsumerKey()))})
		if err != nil {
			t.Fatal(err)
		}
		err = c.(connectors.Checker).Check(t.Context())
		if !errors.Is(err, connectors.ErrUnauthorized) || !strings.Contains(err.Error(), "Invalid signature") {
			t.Errorf("Check: %v, want ErrUnauthorized naming the invalid signature", err)
		}
		if strings.Contains(err.Error(), "cs_wrong_secret") {
			t.Errorf("error %q shows the secret", err)
		}
	})
	t.Run("oauth1 with a clock 20 minutes slow", func(t *testing.T) {
		srv := wootest.NewServer(wootest.Options{})
		defer srv.Close()
		c, err := connectors.Open(t.Context(), "woocommerce", connectors.Options{
			Now:    func() time.Time { return time.Now().Add(-20 * time.Minute) },
			Decode: decodeYAML(fmt.Sprintf("url: %s\nconsumer_key: %s\nconsumer_secret: %s\n", srv.URL, srv.ConsumerKey(), srv.ConsumerSecret())),
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.(connectors.Checker).Check(t.Context()); !errors.Is(err, connectors.ErrUnauthorized) || !strings.Contains(err.Error(), "timestamp") {
			t.Errorf("Check: %v, want ErrUnauthorized naming the timestamp", err)
		}
	})
	t.Run("query keys leave no secret in errors", func(t *testing.T) {
		srv := wootest.NewServer(wootest.Options{TLS: true})
		defer srv.Close()
		srv.InjectFault(wootest.RouteAny, 100, wootest.Fault{Drop: true})
		err := open(t, srv, AuthQuery, "retries: 1\n").Check(t.Context())
		if err == nil {
			t.Fatal("Check through dropped connections succeeded")
		}
		if strings.Contains(err.Error(), srv.ConsumerSecret()) || strings.Contains(err.Error(), "consumer_secret=") {
			t.Errorf("error %q shows the secret", err)
		}
	})
	t.Run("read-only key", func(t *testing.T) {
		srv := wootest.NewServer(wootest.Options{ReadOnly: true})
		defer srv.Close()
		srv.PutCustomer(wootest.Customer{ID: 5, Email: "a@example.com"})
		c := open(t, srv, AuthOAuth1, "")
		if err := c.Check(t.Context()); err != nil {
			t.Errorf("Check with a read-only key: %v (reads are all it can check)", err)
		}
		if err := c.SetMetafields(t.Context(), "5", map[string]string{"loyalty_points": "1"}); !errors.Is(err, connectors.ErrUnauthorized) {
			t.Errorf("a write with a read-only key: %v, want ErrUnauthorized", err)
		}
	})
}

func TestOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		settings string
		want     string // part of the error; empty for success
	}{
		{"url: https://shop.example\nconsumer_key: ck\nconsumer_secret: cs_secret_value\n", ""},
		{"url: https://shop.example/wp-json/wc/v3/\nconsumer_key: ck\nconsumer_secret: cs_secret_value\ncustomer_scan_interval: 1d\nstatus_map: {wc-shipped: paid}\n", ""},
		{"consumer_key: ck\nconsumer_secret: cs_secret_value\n", "url: required"},
		{"url: https://shop.example\nconsumer_secret: cs_secret_value\n", "consumer_key: required"},
		{"url: https://shop.example\nconsumer_key: ck\n", "consumer_secret: required"},
		{"url: ftp://shop.example\nconsumer_key: ck\nconsumer_secret: cs_secret_value\n", "url:"},
		{"url: https://ck:cs@shop.example\nconsumer_key: ck\nconsumer_secret: cs_secret_value\n", "url: must not carry credentials"},
		{"url: http://shop.example\nconsumer_key: ck\nconsumer_secret: cs_secret_value\nauth: basic\n", "auth: basic"},
		{"url: http://shop.example\nconsumer_key: ck\nconsumer_secret: cs_secret_value\nauth: query\n", "auth: query"},
		{"url: https://shop.example\nconsumer_key: ck\nconsumer_secret: cs_secret_value\nauth: digest\n", "auth: unknown method"},
		{"url: https://shop.example\nconsumer_key: ck\nconsumer_secret: cs_secret_value\npage_size: 101\n", "page_size"},
		{"url: https://shop.example\nconsumer_key: ck\nconsumer_secret: cs_secret_value\nstatus_map: {shipped: sent}\n", "status_map: shipped"},
		{"url: https://shop.example\nconsumer_key: ck\nconsumer_secret: cs_secret_value\nwebhook_url: https://l.example/wh\n", "webhook_secret: required"},
		{"url: https://shop.example\nconsumer_key: ck\nconsumer_secret: cs_secret_value\ncustomer_scan_interval: soon\n", "invalid duration"},
		{"url: https://shop.example\nconsumer_key: ck\nconsumer_secret: cs_secret_value\nshop: x\n", "field shop not found"},
	} {
		_, err := connectors.Open(context.Background(), "woocommerce", connectors.Options{Decode: decodeYAML(tc.settings)})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.settings, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: got %v, want an error mentioning %q", tc.settings, err, tc.want)
		case err != nil && strings.Contains(err.Error(), "cs_secret_value"):
			t.Errorf("%q: error %q shows a secret", tc.settings, err)
		}
	}
}

// TestOpenCallsNothing: Open must not reach the store.
func TestOpenCallsNothing(t *testing.T) {
	t.Parallel()
	srv := wootest.NewServer(wootest.Options{})
	defer srv.Close()
	open(t, srv, AuthOAuth1, "")
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("Open made %d requests, want none", n)
	}
}

// TestRetries checks the one place that retries: what is retried, how
// often, and what comes back when retries run out.
func TestRetries(t *testing.T) {
	t.Parallel()
	count := func(srv *wootest.Server, path string) int {
		n := 0
		for _, r := range srv.Requests() {
			if r.Path == path {
				n++
			}
		}
		return n
	}
	t.Run("429 with a short Retry-After is waited out", func(t *testing.T) {
		srv := wootest.NewServer(wootest.Options{})
		defer srv.Close()
		srv.InjectFault(wootest.RouteListOrders, 3, wootest.Fault{Status: 429, RetryAfter: "0"})
		if _, err := open(t, srv, AuthOAuth1, "").Orders(t.Context(), connectors.Cursor{}); err != nil {
			t.Errorf("Orders through three 429s: %v", err)
		}
		if got := count(srv, "orders"); got != 4 {
			t.Errorf("%d requests, want 4", got)
		}
	})
	t.Run("429 asking for longer than retry_wait_max comes back at once", func(t *testing.T) {
		srv := wootest.NewServer(wootest.Options{})
		defer srv.Close()
		srv.InjectFault(wootest.RouteListOrders, 1, wootest.Fault{Status: 429, RetryAfter: "120"})
		_, err := open(t, srv, AuthOAuth1, "").Orders(t.Context(), connectors.Cursor{})
		rl, ok := errors.AsType[*connectors.RateLimitError](err)
		if !ok || rl.RetryAfter != 120*time.Second {
			t.Errorf("got %v, want a *RateLimitError asking for 2m0s", err)
		}
		if got := count(srv, "orders"); got != 1 {
			t.Errorf("%d requests, want 1", got)
		}
	})
	t.Run("a 503 on a create is not retried", func(t *testing.T) {
		srv := wootest.NewServer(wootest.Options{})
		defer srv.Close()
		srv.InjectFault(wootest.RouteCreateWebhook, 1, wootest.Fault{Status: 503})
		c := open(t, srv, AuthOAuth1, "webhook_url: http://127.0.0.1:9/wh\n")
		if _, err := c.EnsureWebhooks(t.Context()); err == nil {
			t.Error("EnsureWebhooks through a 503 on create succeeded")
		}
		if got := count(srv, "webhooks"); got != 2 { // one list, one create
			t.Errorf("%d requests to webhooks, want 2 (a list and one create, not retried)", got)
		}
	})
	t.Run("retries run out", func(t *testing.T) {
		srv := wootest.NewServer(wootest.Options{})
		defer srv.Close()
		srv.InjectFault(wootest.RouteListOrders, 100, wootest.Fault{Status: 500})
		_, err := open(t, srv, AuthOAuth1, "retries: 2\n").Orders(t.Context(), connectors.Cursor{})
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != 500 || errors.Is(err, connectors.ErrRejected) {
			t.Errorf("got %v, want the last 500 as an *APIError, not ErrRejected", err)
		}
		if got := count(srv, "orders"); got != 3 {
			t.Errorf("%d requests, want 3 (retries: 2)", got)
		}
	})
	t.Run("cancel during a backoff", func(t *testing.T) {
		srv := wootest.NewServer(wootest.Options{})
		defer srv.Close()
		srv.InjectFault(wootest.RouteListOrders, 100, wootest.Fault{Status: 503})
		c := open(t, srv, AuthOAuth1, "retry_wait_max: 1h\nretries: 10\n")
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		began := time.Now()
		_, err := c.Orders(ctx, connectors.Cursor{})
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(began) > 5*time.Second {
			t.Errorf("got %v after %s, want DeadlineExceeded promptly", err, time.Since(began))
		}
	})
	t.Run("slow answers time out", func(t *testing.T) {
		srv := wootest.NewServer(wootest.Options{})
		defer srv.Close()
		srv.InjectFault(wootest.RouteListOrders, 1, wootest.Fault{Delay: 2 * time.Second})
		c := open(t, srv, AuthOAuth1, "timeout: 100ms\n")
		if _, err := c.Orders(t.Context(), connectors.Cursor{}); err != nil {
			t.Errorf("Orders after one slow answer: %v, want the retry to succeed", err)
		}
	})
	t.Run("errors name the WooCommerce code", func(t *testing.T) {
		srv := wootest.NewServer(wootest.Options{})
		defer srv.Close()
		_, err := open(t, srv, AuthOAuth1, "").api.do(t.Context(), request{method: "GET", path: "orders", query: url.Values{"per_page": {"500"}}, idempotent: true})
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != "rest_invalid_param" || !strings.Contains(err.Error(), "rest_invalid_param") {
			t.Errorf("got %v, want an *APIError naming rest_invalid_param", err)
		}
	})
}
