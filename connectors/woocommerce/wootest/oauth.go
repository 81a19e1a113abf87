package wootest

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// checkOAuth is WC_REST_Authentication::perform_oauth_authentication as
// the fake models it: the parameters come from the query (or an
// "Authorization: OAuth" header); the consumer key must be known; the
// timestamp no older than OAuthWindow; the nonce unused for that key; and
// the signature HMAC-SHA1 or HMAC-SHA256 over the signature base string of
// the request against the site's URL as WordPress knows it (scheme from
// is_ssl(), not from the Host header), keyed with the consumer secret and
// "&". A JSON body is not signed; a form-encoded one is.
func (s *Server) checkOAuth(r *http.Request, body []byte, revoked bool) *apiErr {
	authErr := func(msg string) *apiErr {
		return &apiErr{status: 401, code: "woocommerce_rest_authentication_error", message: msg}
	}
	params := map[string][]string{}
	for k, vs := range r.URL.Query() {
		params[k] = vs
	}
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "OAuth ") {
		for _, part := range strings.Split(strings.TrimPrefix(h, "OAuth "), ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
			if !ok {
				continue
			}
			k, _ = url.QueryUnescape(k)
			v, _ = url.QueryUnescape(strings.Trim(v, `"`))
			params[k] = []string{v}
		}
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if form, err := url.ParseQuery(string(body)); err == nil {
			for k, vs := range form {
				params[k] = append(params[k], vs...)
			}
		}
	}
	get := func(k string) string {
		if vs := params[k]; len(vs) > 0 {
			return vs[len(vs)-1]
		}
		return ""
	}
	for _, k := range []string{"oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature", "oauth_signature_method"} {
		if get(k) == "" {
			return authErr("Missing OAuth parameter " + k)
		}
	}
	if revoked || get("oauth_consumer_key") != s.opts.ConsumerKey {
		return authErr("Consumer key is invalid.")
	}
	var newHash func() hash.Hash
	switch get("oauth_signature_method") {
	case "HMAC-SHA1":
		newHash = sha1.New
	case "HMAC-SHA256":
		newHash = sha256.New
	default:
		return authErr("Invalid signature - signature method is invalid.")
	}
	ts, err := strconv.ParseInt(get("oauth_timestamp"), 10, 64)
	now := s.now().Unix()
	if err != nil || ts < now-int64(OAuthWindow.Seconds()) {
		return authErr("Invalid timestamp.")
	}
	scheme := "http"
	if s.isSSL() {
		scheme = "https"
	}
	siteURL := s.opts.SiteURL
	if siteURL == "" {
		siteURL = s.URL
	}
	site, _ := url.Parse(siteURL)
	base := scheme + "://" + site.Host + r.URL.EscapedPath()
	provided := strings.ReplaceAll(get("oauth_signature"), " ", "+")
	signed := map[string][]string{}
	for k, vs := range params {
		if k != "oauth_signature" {
			signed[k] = vs
		}
	}
	mac := hmac.New(newHash, []byte(s.opts.ConsumerSecret+"&"))
	mac.Write([]byte(r.Method + "&" + rawurlencode(base) + "&" + wcQueryString(signed)))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(provided)) {
		return authErr("Invalid signature - provided signature does not match.")
	}
	key := get("oauth_consumer_key") + ":" + get("oauth_nonce")
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, t := range s.nonces {
		if t.Unix() < now-int64(OAuthWindow.Seconds()) {
			delete(s.nonces, k)
		}
	}
	if _, used := s.nonces[key]; used {
		return authErr("Invalid nonce - nonce has already been used.")
	}
	s.nonces[key] = s.now()
	return nil
}

// wcQueryString builds the parameter part of the base string as
// WooCommerce does: keys sorted with strcmp (PHP keeps only the last of
// repeated scalar keys), keys and values rawurlencoded, joined as key=value,
// and each pair rawurlencoded again before joining with %26.
func wcQueryString(params map[string][]string) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vs := params[k]
		name, isArray := strings.CutSuffix(k, "[]")
		if isArray {
			// PHP turns status[]=a&status[]=b into an array, which
			// WooCommerce signs as status%5B0%5D=a: not what a
			// standard OAuth client signs.
			for i, v := range vs {
				parts = append(parts, rawurlencode(rawurlencode(name)+"%5B"+strconv.Itoa(i)+"%5D="+rawurlencode(v)))
			}
			continue
		}
		parts = append(parts, rawurlencode(rawurlencode(k)+"="+rawurlencode(vs[len(vs)-1])))
	}
	return strings.Join(parts, "%26")
}

// rawurlencode is PHP's rawurlencode: RFC 3986, with ~ left as it is.
func rawurlencode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		default:
			b.WriteString("%" + strings.ToUpper(strconv.FormatInt(int64(c)>>4, 16)) + strings.ToUpper(strconv.FormatInt(int64(c)&15, 16)))
		}
	}
	return b.String()
}
