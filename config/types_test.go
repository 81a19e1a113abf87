package config_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/config"
)

func TestDurationText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		text string // MarshalText of the result
	}{
		{"0", 0, "0s"},
		{"0s", 0, "0s"},
		{"90s", 90 * time.Second, "1m30s"},
		{"5m", 5 * time.Minute, "5m"},
		{"1h30m", 90 * time.Minute, "1h30m"},
		{"24h", 24 * time.Hour, "24h"},
		{"1d", 24 * time.Hour, "24h"},
		{"1d12h", 36 * time.Hour, "36h"},
		{"7d", 7 * 24 * time.Hour, "7d"},
		{"14d", 14 * 24 * time.Hour, "14d"},
		{"-1d", -24 * time.Hour, "-24h"},
		{"+5m", 5 * time.Minute, "5m"},
		{"1.5h", 90 * time.Minute, "1h30m"},
		{"250ms", 250 * time.Millisecond, "250ms"},
	}
	for _, tt := range tests {
		var d config.Duration
		if err := d.UnmarshalText([]byte(tt.in)); err != nil {
			t.Errorf("UnmarshalText(%q): %v", tt.in, err)
			continue
		}
		if d.Duration != tt.want {
			t.Errorf("UnmarshalText(%q) = %v, want %v", tt.in, d.Duration, tt.want)
		}
		text, _ := d.MarshalText()
		if string(text) != tt.text {
			t.Errorf("MarshalText(%v) = %q, want %q", d.Duration, text, tt.text)
		}
		var back config.Duration
		if err := back.UnmarshalText(text); err != nil || back != d {
			t.Errorf("UnmarshalText(MarshalText(%v)) = %v, %v", d.Duration, back.Duration, err)
		}
	}
	for _, in := range []string{"", "5", "5x", "d", "1.5d", "d5h", "1h1d", "1d-5h", "--1d", "1dd", "+-5m", "99999999999d", "1d 5h", " 5m"} {
		var d config.Duration
		err := d.UnmarshalText([]byte(in))
		if err == nil {
			t.Errorf("UnmarshalText(%q) = %v, want an error", in, d.Duration)
			continue
		}
		if want := fmt.Sprintf("invalid duration %q (examples: 30s, 5m, 1h, 7d)", in); err.Error() != want {
			t.Errorf("UnmarshalText(%q) error = %q, want %q", in, err, want)
		}
	}
}

func TestDateText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Time
		text string
	}{
		{"2025-01-01", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), "2025-01-01"},
		{"2024-02-29", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), "2024-02-29"},
		{"2025-01-01T00:00:00Z", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), "2025-01-01"},
		{"2025-03-01T09:30:00+02:00", time.Date(2025, 3, 1, 7, 30, 0, 0, time.UTC), "2025-03-01T07:30:00Z"},
		{"2025-01-01T02:00:00+02:00", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), "2025-01-01"},
		{"2025-01-01T10:00:00.5Z", time.Date(2025, 1, 1, 10, 0, 0, 5e8, time.UTC), "2025-01-01T10:00:00.5Z"},
		{"", time.Time{}, ""},
	}
	for _, tt := range tests {
		var d config.Date
		if err := d.UnmarshalText([]byte(tt.in)); err != nil {
			t.Errorf("UnmarshalText(%q): %v", tt.in, err)
			continue
		}
		if !d.Equal(tt.want) || d.Location() != time.UTC {
			t.Errorf("UnmarshalText(%q) = %v, want %v in UTC", tt.in, d.Time, tt.want)
		}
		text, _ := d.MarshalText()
		if string(text) != tt.text {
			t.Errorf("MarshalText(%v) = %q, want %q", d.Time, text, tt.text)
		}
	}
	for _, in := range []string{"2025-13-01", "2023-02-29", "2025-1-1", "01/02/2025", "2025-01-01 10:00", "2025-01-01T10:00:00", "yesterday"} {
		var d config.Date
		err := d.UnmarshalText([]byte(in))
		if want := fmt.Sprintf("invalid date %q (use 2025-01-01 or RFC 3339 such as 2025-01-01T09:30:00Z)", in); err == nil || err.Error() != want {
			t.Errorf("UnmarshalText(%q) error = %v, want %q", in, err, want)
		}
	}
}

func TestDateJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		date config.Date
		json string
	}{
		{config.Date{Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}, `"2025-01-01"`},
		{config.Date{Time: time.Date(2025, 1, 1, 9, 30, 0, 0, time.UTC)}, `"2025-01-01T09:30:00Z"`},
		{config.Date{}, `""`},
	}
	for _, tt := range tests {
		b, err := json.Marshal(tt.date)
		if err != nil || string(b) != tt.json {
			t.Errorf("json.Marshal(%v) = %s, %v; want %s", tt.date.Time, b, err, tt.json)
		}
		var back config.Date
		if err := json.Unmarshal(b, &back); err != nil || !back.Equal(tt.date.Time) {
			t.Errorf("json.Unmarshal(%s) = %v, %v; want %v", b, back.Time, err, tt.date.Time)
		}
	}
	var d config.Date
	if err := json.Unmarshal([]byte("20250101"), &d); err == nil {
		t.Errorf("json.Unmarshal of a number = %v, want an error", d.Time)
	}
}

func TestSecretIsRedacted(t *testing.T) {
	t.Parallel()
	const value = "hunter2"
	s := config.Secret(value)
	j, err := json.Marshal(struct{ Token config.Secret }{s})
	if err != nil {
		t.Fatal(err)
	}
	text, _ := s.MarshalText()
	tests := []struct{ name, got, want string }{
		{"String", s.String(), "[redacted]"},
		{"%v", fmt.Sprintf("%v", s), "[redacted]"},
		{"%s", fmt.Sprintf("%s", s), "[redacted]"},
		{"%#v", fmt.Sprintf("%#v", s), "[redacted]"},
		{"%+v of a struct", fmt.Sprintf("%+v", struct{ T config.Secret }{s}), "{T:[redacted]}"},
		{"MarshalText", string(text), "[redacted]"},
		{"JSON", string(j), `{"Token":"[redacted]"}`},
		{"Reveal", s.Reveal(), value},
		{"empty String", config.Secret("").String(), ""},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  config.Error
		want string
	}{
		{config.Error{File: "l.yaml", Line: 14, Path: "stores[1].platform", Msg: "bad"}, "l.yaml:14: stores[1].platform: bad"},
		{config.Error{File: "l.yaml", Line: 3, Msg: "invalid YAML: x"}, "l.yaml:3: invalid YAML: x"},
		{config.Error{File: "l.yaml", Msg: "the file is empty"}, "l.yaml: the file is empty"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	es := config.Errors{&tests[0].err, &tests[1].err}
	if got, want := es.Error(), tests[0].want+"\n"+tests[1].want; got != want {
		t.Errorf("Errors.Error() = %q, want %q", got, want)
	}
}
