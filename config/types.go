package config

import (
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

const day = 24 * time.Hour

// Duration is a time.Duration read from text: a Go duration ("90s", "5m",
// "1h30m") or a number of whole days with an optional Go-duration remainder
// ("7d", "1d12h").
type Duration struct{ time.Duration }

// UnmarshalText parses a duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, ok := parseDuration(string(b))
	if !ok {
		return errors.New(durationError(quoteShort(string(b))))
	}
	d.Duration = v
	return nil
}

// MarshalText writes a short form that UnmarshalText reads back: "14d",
// "36h", "5m", "1m30s". Whole weeks and more are written in days.
func (d Duration) MarshalText() ([]byte, error) { return []byte(formatDuration(d.Duration)), nil }

func durationError(shown string) string {
	return "invalid duration " + shown + " (examples: 30s, 5m, 1h, 7d)"
}

func parseDuration(s string) (time.Duration, bool) {
	t, neg := s, false
	if t != "" && (t[0] == '-' || t[0] == '+') {
		t, neg = t[1:], t[0] == '-'
	}
	var days time.Duration
	if i := strings.IndexByte(t, 'd'); i >= 0 {
		if i == 0 || !allDigits(t[:i]) {
			return 0, false
		}
		n, err := strconv.ParseInt(t[:i], 10, 64)
		if err != nil || n > math.MaxInt64/int64(day) {
			return 0, false
		}
		days, t = time.Duration(n)*day, t[i+1:]
		if t == "" {
			return sign(days, neg), true
		}
	}
	if t == "" || t[0] == '-' || t[0] == '+' {
		return 0, false
	}
	rest, err := time.ParseDuration(t)
	if err != nil || rest > math.MaxInt64-days {
		return 0, false
	}
	return sign(days+rest, neg), true
}

func sign(d time.Duration, neg bool) time.Duration {
	if neg {
		return -d
	}
	return d
}

func formatDuration(d time.Duration) string {
	if d%day == 0 && (d >= 7*day || d <= -7*day) {
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Date is a point in time in UTC, read as a calendar date ("2025-01-01",
// midnight UTC) or as RFC 3339 ("2025-01-01T09:30:00+02:00"). The zero Date
// means "not set".
type Date struct{ time.Time }

const dateLayout = "2006-01-02"

// UnmarshalText parses a date; empty text is the zero Date.
func (d *Date) UnmarshalText(b []byte) error {
	s := string(b)
	if s == "" {
		d.Time = time.Time{}
		return nil
	}
	t, err := time.Parse(dateLayout, s)
	if err != nil {
		t, err = time.Parse(time.RFC3339, s)
	}
	if err != nil {
		return errors.New(dateError(quoteShort(s)))
	}
	d.Time = t.UTC()
	return nil
}

// MarshalText writes the date alone when d is midnight UTC, RFC 3339
// otherwise, and nothing for the zero Date.
func (d Date) MarshalText() ([]byte, error) {
	switch t := d.UTC(); {
	case d.IsZero():
		return nil, nil
	case t.Equal(t.Truncate(day)):
		return []byte(t.Format(dateLayout)), nil
	default:
		return []byte(t.Format(time.RFC3339Nano)), nil
	}
}

// MarshalJSON is MarshalText as a JSON string; without it the embedded
// time.Time's would be used.
func (d Date) MarshalJSON() ([]byte, error) {
	text, _ := d.MarshalText()
	return json.Marshal(string(text))
}

// UnmarshalJSON is UnmarshalText from a JSON string.
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(dateError(quoteShort(string(b))))
	}
	return d.UnmarshalText([]byte(s))
}

func dateError(shown string) string {
	return "invalid date " + shown + " (use 2025-01-01 or RFC 3339 such as 2025-01-01T09:30:00Z)"
}

// Secret is a credential read from the configuration. It prints as
// "[redacted]" so that it cannot reach a log line, an error message or
// Config.Redacted by accident; use Reveal for the value.
type Secret string

const redacted = "[redacted]"

// String returns "[redacted]", or "" for an empty secret so that a missing
// one shows as missing.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString is String, so that %#v does not reveal the value either.
func (s Secret) GoString() string { return s.String() }

// MarshalText redacts the secret in every text encoding (YAML, JSON).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret's value, for the one place that sends it.
func (s Secret) Reveal() string { return string(s) }

// quoteShort quotes s for a message, shortened to 60 bytes.
func quoteShort(s string) string {
	const max = 60
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
