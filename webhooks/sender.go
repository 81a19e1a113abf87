package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/loyaltyd/loyaltyd/connectors"
)

// Headers of the program's outbound events.
const (
	HeaderEvent     = "X-Loyaltyd-Event"
	HeaderDelivery  = "X-Loyaltyd-Delivery"
	HeaderSignature = "X-Loyaltyd-Signature"
)

// Sender delivers the program's events to the notify endpoints, each body
// signed with the endpoint's secret: "sha256=" and the hex HMAC-SHA256 of
// the raw body, which the receiver recomputes to trust the event.
type Sender struct {
	// Secrets are the endpoints' secrets, by URL.
	Secrets map[string]string
	// Client sends the requests; nil means a client with a 10 s timeout.
	Client *http.Client
}

// Sign returns the signature header value of body under secret.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Notify POSTs an event. A 2xx answer delivers it; a 4xx other than 408
// and 429 is a refusal for good (wrapping connectors.ErrRejected); the rest
// is retried by the outbox.
func (s *Sender) Notify(ctx context.Context, url, event, deliveryID string, body []byte) error {
	secret, ok := s.Secrets[url]
	if !ok {
		return fmt.Errorf("notify %s: the endpoint is no longer configured: %w", url, connectors.ErrRejected)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notify: %v: %w", err, connectors.ErrRejected)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "loyaltyd")
	req.Header.Set(HeaderEvent, event)
	req.Header.Set(HeaderDelivery, deliveryID)
	req.Header.Set(HeaderSignature, Sign(secret, body))
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("notify %s: %w", url, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests:
		return &connectors.RateLimitError{RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout:
		return fmt.Errorf("notify %s: %s: %w", url, resp.Status, connectors.ErrRejected)
	}
	return fmt.Errorf("notify %s: %s", url, resp.Status)
}

func retryAfter(v string) time.Duration {
	var secs float64
	if _, err := fmt.Sscanf(v, "%g", &secs); err == nil && secs > 0 {
		return time.Duration(secs * float64(time.Second))
	}
	return 0
}
