package woocommerce

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/sirupsen/logrus"

	"github.com/loyaltyd/loyaltyd/connectors"
)

// apiPath is where WooCommerce's REST API v3 lives under the site URL.
const apiPath = "/wp-json/wc/v3"

// maxBody bounds what one answer may weigh: a page of 100 orders is a few
// hundred kilobytes.
const maxBody = 64 << 20

// retryWaitMin is the first wait between retries; each retry doubles it up
// to the retry_wait_max option.
const retryWaitMin = 250 * time.Millisecond

// APIError is an error answer of the WooCommerce REST API: its HTTP status
// and the code and message of the body WordPress sends,
// {"code":"woocommerce_rest_…","message":"…","data":{"status":400}}.
// Callers find it with errors.As; the sentinel errors of package connectors
// (ErrUnauthorized, ErrNotFound, …) are wrapped beside it where they apply.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Code is WooCommerce's error code, empty when the body had none (a
	// proxy's error page).
	Code string
	// Message is WooCommerce's message, cut to a readable length.
	Message string
}

// Error says the status, the code and the message.
func (e *APIError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// The WooCommerce error codes the connector acts on.
const (
	codeCannotView     = "woocommerce_rest_cannot_view"
	codeInvalidID      = "woocommerce_rest_invalid_id"
	codeCouponExists   = "woocommerce_rest_coupon_code_already_exists"
	codeAuthentication = "woocommerce_rest_authentication_error"
)

// basicHint says what to check when WooCommerce refuses Basic credentials:
// most often WordPress does not see HTTPS behind a proxy that terminates
// TLS, and then never even looks at them.
const basicHint = "WooCommerce refused the key over HTTP Basic auth. Check that the key exists, " +
	"belongs to a user who may manage WooCommerce and has Read/Write permission; and that WordPress " +
	"sees this request as HTTPS: behind a proxy or load balancer that terminates TLS, WordPress must be " +
	"told (for example by honouring X-Forwarded-Proto in wp-config.php), or it ignores Basic credentials " +
	"and answers woocommerce_rest_cannot_view. If the proxy cannot be changed, set wordpress_sees_http: true " +
	"(OAuth 1.0a signed as WordPress sees the request)"

// client makes every HTTP request of the connector: one place for
// authentication, retries, pacing and error decoding.
type client struct {
	set   settings
	api   *url.URL // the site URL with /wp-json/wc/v3
	http  *http.Client
	now   func() time.Time
	log   logrus.FieldLogger
	nonce func() string
	// sleep waits between retries; tests make it instant.
	backoff func(attempt int, resp *http.Response) time.Duration
}

func newClient(s settings, hc *http.Client, now func() time.Time, log logrus.FieldLogger) *client {
	api := *s.site
	api.Path += apiPath
	if hc == nil {
		hc = &http.Client{Timeout: s.timeout}
	} else if hc.Timeout == 0 {
		cp := *hc
		cp.Timeout = s.timeout
		hc = &cp
	}
	// A redirect would resend the credentials elsewhere and lose the
	// method of a write: WooCommerce does not redirect its API, so one is
	// an error (most often http:// given for an https site).
	cp := *hc
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &client{set: s, api: &api, http: &cp, now: now, log: log, nonce: randomNonce}
	c.backoff = c.defaultBackoff
	return c
}

// request is one call of the API.
type request struct {
	method string
	path   string     // below /wp-json/wc/v3, without a leading slash
	query  url.Values // never the credentials: do adds them
	body   any        // sent as JSON when not nil
	// idempotent requests (reads, and writes that set a value) are retried
	// after a 5xx or a lost answer; others only after a 429, which says
	// the request was not carried out.
	idempotent bool
}

// response is an answer with a 2xx status, read whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends r, with retries, and returns a 2xx answer read in full. Other
// answers are errors: a *APIError, wrapped with connectors.ErrUnauthorized
// for 401 and 403 and connectors.ErrNotFound for 404; a
// *connectors.RateLimitError for a 429 that outlasted the retries; ctx.Err()
// when ctx ends. No error carries the request's URL, which holds
// credentials under some auth methods.
func (c *client) do(ctx context.Context, r request) (*response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	u := *c.api
	u.Path += "/" + r.path
	var body []byte
	if r.body != nil {
		var err error
		if body, err = json.Marshal(r.body); err != nil {
			return nil, fmt.Errorf("%s %s: encode body: %w", r.method, r.path, err)
		}
	}
	u.RawQuery = c.authQuery(r.method, &u, r.query)
	var raw any
	if body != nil {
		raw = body
	}
	req, err := retryablehttp.NewRequestWithContext(ctx, r.method, u.String(), raw)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", r.method, r.path, scrub(err))
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "loyaltyd")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.set.auth == AuthBasic {
		req.SetBasicAuth(c.set.key, c.set.secret)
	}
	var read []byte
	req.SetResponseHandler(func(resp *http.Response) error {
		b, err := readBody(resp)
		read = b
		return err
	})
	attempts := 0
	rc := &retryablehttp.Client{
		HTTPClient:   c.http,
		RetryWaitMin: retryWaitMin,
		RetryWaitMax: c.set.retryWaitMax,
		RetryMax:     c.set.retries,
		CheckRetry: func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			if ctx.Err() != nil {
				return false, ctx.Err()
			}
			if err != nil {
				return r.idempotent, nil
			}
			switch {
			case resp.StatusCode == http.StatusTooManyRequests:
				wait, _ := retryAfter(resp, c.now())
				return wait <= c.set.retryWaitMax, nil
			case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
				return r.idempotent, nil
			}
			return false, nil
		},
		Backoff: func(_, _ time.Duration, attempt int, resp *http.Response) time.Duration {
			return c.backoff(attempt, resp)
		},
		RequestLogHook: func(_ retryablehttp.Logger, _ *http.Request, attempt int) {
			attempts = attempt + 1
			if attempt > 0 {
				c.log.WithFields(logrus.Fields{"method": r.method, "path": r.path, "attempt": attempt + 1}).Debug("woocommerce: retrying")
			}
		},
		PrepareRetry: func(hr *http.Request) error {
			// A retry is a new request: OAuth needs a fresh nonce and
			// timestamp, or WooCommerce refuses the nonce as used.
			read = nil
			hr.URL.RawQuery = c.authQuery(r.method, &u, r.query)
			return nil
		},
		ErrorHandler: func(resp *http.Response, err error, _ int) (*http.Response, error) {
			if err != nil {
				if resp != nil {
					resp.Body.Close()
				}
				return nil, err
			}
			return resp, nil
		},
	}
	resp, err := rc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("%s %s: %w", r.method, r.path, ctxErr)
		}
		return nil, fmt.Errorf("%s %s: %w (after %d attempts)", r.method, r.path, scrub(err), max(attempts, 1))
	}
	if read == nil {
		// The retries ran out on an error status: its body was not read.
		read, err = readBody(resp)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.method, r.path, scrub(err))
		}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return &response{status: resp.StatusCode, header: resp.Header, body: read}, nil
	}
	return nil, fmt.Errorf("%s %s: %w", r.method, r.path, c.statusError(resp, read))
}

// statusError turns a non-2xx answer into the error do returns.
func (c *client) statusError(resp *http.Response, body []byte) error {
	e := &APIError{Status: resp.StatusCode}
	var ae apiError
	if json.Unmarshal(body, &ae) == nil && ae.Code != "" {
		e.Code, e.Message = truncate(ae.Code, 80), truncate(strings.TrimSpace(ae.Message), 200)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		wait, _ := retryAfter(resp, c.now())
		return fmt.Errorf("%w: %w", &connectors.RateLimitError{RetryAfter: wait}, e)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		if c.set.auth == AuthBasic && (e.Code == codeCannotView || e.Code == "") {
			return fmt.Errorf("%w: %w (%s)", connectors.ErrUnauthorized, e, basicHint)
		}
		return fmt.Errorf("%w: %w", connectors.ErrUnauthorized, e)
	case resp.StatusCode == http.StatusNotFound || e.Code == codeInvalidID:
		return fmt.Errorf("%w: %w", connectors.ErrNotFound, e)
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return fmt.Errorf("%w: redirected to another address (is url the site's exact address, https and www included?)", e)
	}
	return e
}

// retryAfter reads a Retry-After header, in seconds or as a date.
func retryAfter(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp == nil {
		return 0, false
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f < 1e6 {
		return time.Duration(f * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
		return 0, true
	}
	return 0, false
}

// defaultBackoff waits as a 429 or 503 asks, or else doubles from
// retryWaitMin, never longer than retry_wait_max.
func (c *client) defaultBackoff(attempt int, resp *http.Response) time.Duration {
	if resp != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if wait, ok := retryAfter(resp, c.now()); ok {
			return min(wait, c.set.retryWaitMax)
		}
	}
	wait := retryWaitMin << min(attempt, 16)
	return min(wait, c.set.retryWaitMax)
}

func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("read the answer: %w", err)
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("answer larger than %d bytes", maxBody)
	}
	return b, nil
}

// scrub returns err without the request URL that net/http and
// retryablehttp put in their messages: under query and OAuth auth the URL
// carries the credentials or a signature.
func scrub(err error) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		inner := ue.Err
		var ne net.Error
		if errors.As(inner, &ne) && ne.Timeout() {
			return fmt.Errorf("%s: timeout: %w", strings.ToLower(ue.Op), inner)
		}
		return fmt.Errorf("%s: %w", strings.ToLower(ue.Op), inner)
	}
	msg := err.Error()
	if i := strings.Index(msg, "://"); i >= 0 {
		// retryablehttp's "giving up" message names the URL.
		return errors.New("request failed (" + redactURLs(msg) + ")")
	}
	return err
}

// redactURLs cuts the query off every URL in msg.
func redactURLs(msg string) string {
	var b strings.Builder
	for {
		i := strings.Index(msg, "?")
		if i < 0 {
			b.WriteString(msg)
			return b.String()
		}
		b.WriteString(msg[:i])
		j := strings.IndexAny(msg[i:], " \":")
		if j < 0 {
			return b.String()
		}
		msg = msg[i+j:]
	}
}

// authQuery returns the request's query string with the credentials the
// auth method puts there: none for Basic, the key and secret for query
// auth, and a fresh OAuth 1.0a signature for oauth1.
func (c *client) authQuery(method string, u *url.URL, q url.Values) string {
	params := url.Values{}
	for k, vs := range q {
		params[k] = slices.Clone(vs)
	}
	switch c.set.auth {
	case AuthQuery:
		params.Set("consumer_key", c.set.key)
		params.Set("consumer_secret", c.set.secret)
	case AuthOAuth1:
		params.Set("oauth_consumer_key", c.set.key)
		params.Set("oauth_nonce", c.nonce())
		params.Set("oauth_signature_method", "HMAC-SHA256")
		params.Set("oauth_timestamp", strconv.FormatInt(c.now().Unix(), 10))
		base := *u
		if c.set.signHTTP {
			// WordPress checks the signature against the URL as it
			// sees it, and behind such a proxy it sees http.
			base.Scheme = "http"
			if base.Port() == "443" {
				base.Host = base.Hostname()
			}
		}
		params.Set("oauth_signature", oauthSignature(method, baseURL(&base), params, c.set.secret))
	}
	return encodeQuery(params)
}

// encodeQuery writes params sorted, percent-encoded as RFC 3986 says, so
// that the server decodes exactly the values that were signed (url.Values
// would write a space as "+").
func encodeQuery(params url.Values) string {
	var parts []string
	for _, k := range sortedKeys(params) {
		for _, v := range params[k] {
			parts = append(parts, percentEncode(k)+"="+percentEncode(v))
		}
	}
	return strings.Join(parts, "&")
}

// oauthSignature signs a request as WooCommerce's one-legged OAuth 1.0a
// checks it (WC_REST_Authentication::check_oauth_signature): HMAC-SHA256
// over the signature base string, keyed with the consumer secret and "&"
// (there is no token secret), base64-encoded. params are the query's
// parameters and the oauth_* ones, without oauth_signature; a JSON body is
// not signed. See signatureBase.
func oauthSignature(method, base string, params url.Values, secret string) string {
	mac := hmac.New(sha256.New, []byte(secret+"&"))
	mac.Write([]byte(signatureBase(method, base, params)))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// signatureBase is OAuth 1.0a's signature base string (RFC 5849 §3.4.1):
// the upper-case method, the encoded base URL (scheme, host and path, no
// query), and the encoded list of every parameter but oauth_signature,
// each name and value percent-encoded, sorted by name and then value, and
// joined as name=value&…. WooCommerce builds the same string for scalar
// parameters; array parameters (status[]=a) it builds differently, so the
// connector sends lists comma-separated.
func signatureBase(method, base string, params url.Values) string {
	type pair struct{ k, v string }
	var ps []pair
	for k, vs := range params {
		if k == "oauth_signature" {
			continue
		}
		for _, v := range vs {
			ps = append(ps, pair{percentEncode(k), percentEncode(v)})
		}
	}
	slices.SortFunc(ps, func(a, b pair) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return strings.Compare(a.v, b.v)
	})
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.k + "=" + p.v
	}
	return strings.ToUpper(method) + "&" + percentEncode(base) + "&" + percentEncode(strings.Join(parts, "&"))
}

// baseURL is the signature's base URL: scheme and host in lower case, the
// default port left out, the path, no query.
func baseURL(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if p := u.Port(); p != "" && !(scheme == "http" && p == "80") && !(scheme == "https" && p == "443") {
		host = net.JoinHostPort(host, p)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host + u.EscapedPath()
}

// percentEncode encodes s as RFC 3986 (and OAuth 1.0a) require: every
// byte but the unreserved characters A–Z a–z 0–9 - . _ ~ as %XX, upper
// case.
func percentEncode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// randomNonce returns 32 random hex digits: WooCommerce refuses a nonce it
// has seen within the timestamp window.
func randomNonce() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("woocommerce: no randomness for an OAuth nonce: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// totalPages reads X-WP-TotalPages, and X-WP-Total; ok is false when the
// answer lacks them (a cache or proxy stripped them).
func totalPages(h http.Header) (pages, total int, ok bool) {
	p, err1 := strconv.Atoi(strings.TrimSpace(h.Get("X-WP-TotalPages")))
	t, err2 := strconv.Atoi(strings.TrimSpace(h.Get("X-WP-Total")))
	return p, t, err1 == nil && err2 == nil && p >= 0 && t >= 0
}

// decodeList decodes a JSON array answer into its raw elements.
func decodeList(body []byte) ([]json.RawMessage, error) {
	var items []json.RawMessage
	if err := decodeStrict(body, &items); err != nil {
		return nil, fmt.Errorf("decode the answer: %w", err)
	}
	return items, nil
}
