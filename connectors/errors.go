package connectors

import (
	"errors"
	"fmt"
	"time"
)

// Errors a connector returns, wrapped with context. Callers test them with
// errors.Is.
var (
	// ErrNotFound: the platform has no such record.
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: the platform refused the credentials or a permission.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrBadSignature: a webhook's signature is missing or wrong.
	ErrBadSignature = errors.New("bad signature")
	// ErrBadPayload: a correctly signed webhook body cannot be decoded.
	ErrBadPayload = errors.New("bad payload")
	// ErrRejected: the platform refused a write for a reason that retrying
	// will not fix (a validation error).
	ErrRejected = errors.New("rejected by the platform")
	// ErrUnsupported: the platform cannot do what was asked.
	ErrUnsupported = errors.New("not supported by the platform")
	// ErrUnknownPlatform: no connector is registered under that name.
	ErrUnknownPlatform = errors.New("unknown platform")
	// ErrBadCursor: the cursor's Token was not issued by this connector or
	// can no longer be continued (a format from an older version, an
	// expired platform page token). The caller starts the window again
	// from its Since with an empty Token.
	ErrBadCursor = errors.New("cursor cannot be continued")
)

// RateLimitError says the platform asked loyaltyd to slow down and the
// connector's own retries did not get through.
type RateLimitError struct {
	// RetryAfter is how long the platform asked to wait; zero if it did not say.
	RetryAfter time.Duration
}

func (e *RateLimitError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("rate limited: retry after %s", e.RetryAfter)
	}
	return "rate limited"
}
