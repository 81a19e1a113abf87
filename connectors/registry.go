package connectors

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	stdsync "sync"
	"time"

	"github.com/sirupsen/logrus"
)

// Options is what a Factory receives to open a connector for one store.
type Options struct {
	// StoreID is the store's id in loyaltyd's configuration.
	StoreID string
	// Decode decodes the store's platform settings into v, a pointer to the
	// connector's own options struct, strictly: a key v does not declare is
	// an error that names the file and line. It is never nil when Open
	// calls the factory.
	Decode func(v any) error
	// Log receives the connector's log lines; nil means discard.
	Log logrus.FieldLogger
	// HTTPClient, if set, is the client under the connector's own retries.
	HTTPClient *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// WebhookURL is the public address of this store's webhook endpoint,
	// when the operator configured one (a WebhookSubscriber points the
	// platform's subscriptions at it).
	WebhookURL string
}

// Logger returns o.Log, or a logger that discards everything.
func (o Options) Logger() logrus.FieldLogger {
	if o.Log != nil {
		return o.Log
	}
	l := logrus.New()
	l.Out = discard{}
	return l
}

// Clock returns o.Now, or time.Now.
func (o Options) Clock() func() time.Time {
	if o.Now != nil {
		return o.Now
	}
	return time.Now
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Factory opens a connector from options. It validates its settings and
// returns an error naming the setting at fault; it should not call the
// platform (Checker does that).
type Factory func(ctx context.Context, o Options) (Connector, error)

var (
	mu        stdsync.RWMutex
	factories = map[string]Factory{}
)

// Register makes a connector available under a platform name. It is called
// from the connector package's init function and panics if the name is
// taken or the factory is nil.
func Register(platform string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if f == nil {
		panic("connectors: Register factory is nil for " + platform)
	}
	if _, dup := factories[platform]; dup {
		panic("connectors: Register called twice for " + platform)
	}
	factories[platform] = f
}

// Platforms returns the registered platform names, sorted.
func Platforms() []string {
	mu.RLock()
	defer mu.RUnlock()
	names := make([]string, 0, len(factories))
	for n := range factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Registered reports whether a connector is registered under platform.
func Registered(platform string) bool {
	return slices.Contains(Platforms(), platform)
}

// Open opens the connector registered under platform. It returns an error
// wrapping ErrUnknownPlatform, which lists the known platforms, when none is.
func Open(ctx context.Context, platform string, o Options) (Connector, error) {
	mu.RLock()
	f, ok := factories[platform]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownPlatform, platform, joinNames(Platforms()))
	}
	if o.Decode == nil {
		o.Decode = func(any) error { return nil }
	}
	c, err := f(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", platform, err)
	}
	return c, nil
}

func joinNames(names []string) string {
	if len(names) == 0 {
		return "none registered"
	}
	return strings.Join(names, ", ")
}

// Secret is a credential in a connector's options. It prints as "[redacted]"
// so that it cannot reach a log line or an error message by accident; use
// Reveal to get the value.
type Secret string

// String returns "[redacted]" for a non-empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString is String, so that %#v does not reveal the value either.
func (s Secret) GoString() string { return s.String() }

// MarshalText redacts the secret in any text encoding.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret's value, for the one place that sends it.
func (s Secret) Reveal() string { return string(s) }
