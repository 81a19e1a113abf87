package admin

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// ErrBadLink is returned for a balance link that was not made by this
// loyaltyd, was altered, or has expired.
var ErrBadLink = errors.New("invalid or expired link")

// Links makes and checks the signed, expiring links (/me/{token}) that let
// a customer see their balance without an account: in e-mails, or on a
// WooCommerce store's pages.
type Links struct {
	// Secret signs the links (config link_secret).
	Secret []byte
	// BaseURL is where customers reach loyaltyd (config public_url).
	BaseURL string
}

// Token returns the token of a customer's link, valid until expires.
func (l *Links) Token(storeID, customerID string, expires time.Time) string {
	payload := make([]byte, 8, 8+len(storeID)+1+len(customerID))
	binary.BigEndian.PutUint64(payload, uint64(expires.Unix()))
	payload = append(payload, storeID...)
	payload = append(payload, 0)
	payload = append(payload, customerID...)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(l.mac(payload))
}

func (l *Links) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, l.Secret)
	m.Write([]byte("loyaltyd balance link\x00"))
	m.Write(payload)
	return m.Sum(nil)[:18]
}

// URL returns a customer's link. The expiry is rounded up to the end of
// the quarter after the one containing now, so that the link written to a
// customer's record changes four times a year, not with every visit.
func (l *Links) URL(storeID, customerID string, now time.Time) string {
	if len(l.Secret) == 0 || l.BaseURL == "" {
		return ""
	}
	t := now.UTC()
	q := (int(t.Month()) - 1) / 3
	expires := time.Date(t.Year(), time.Month(q*3+1), 1, 0, 0, 0, 0, time.UTC).AddDate(0, 6, 0)
	return strings.TrimRight(l.BaseURL, "/") + "/me/" + l.Token(storeID, customerID, expires)
}

// Verify checks a token at now and returns the store and customer it
// names, or an error wrapping ErrBadLink.
func (l *Links) Verify(token string, now time.Time) (storeID, customerID string, err error) {
	if len(l.Secret) == 0 {
		return "", "", ErrBadLink
	}
	p, s, ok := strings.Cut(token, ".")
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p)
	sig, err2 := enc.DecodeString(s)
	if !ok || err1 != nil || err2 != nil || len(payload) < 10 || !hmac.Equal(sig, l.mac(payload)) {
		return "", "", ErrBadLink
	}
	if now.Unix() >= int64(binary.BigEndian.Uint64(payload[:8])) {
		return "", "", ErrBadLink
	}
	storeID, customerID, ok = strings.Cut(string(payload[8:]), "\x00")
	if !ok || storeID == "" || customerID == "" {
		return "", "", ErrBadLink
	}
	return storeID, customerID, nil
}
