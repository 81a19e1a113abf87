package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/config"
)

// shopOptions is a connector's options struct, as a connector declares it.
type shopOptions struct {
	Shop        string          `yaml:"shop"`
	AccessToken config.Secret   `yaml:"access_token"`
	APIVersion  string          `yaml:"api_version"`
	Timeout     config.Duration `yaml:"timeout"`
	MaxRetries  int             `yaml:"max_retries"`
	Scopes      []string        `yaml:"scopes"`
	Limits      struct {
		Burst int `yaml:"burst"`
	} `yaml:"limits"`
}

// storeFile is a store whose platform keys are given, starting on line 6.
func storeFile(platformKeys ...string) []byte {
	return doc(append([]string{
		program,
		"stores:",
		"  - id: other",
		"    platform: memory",
		"  - id: acme",
	}, append([]string{"    platform: shopify"}, platformKeys...)...)...)
}

func TestStoreDecode(t *testing.T) {
	t.Parallel()
	const known = "(known: access_token, api_version, backfill_from, id, limits, max_retries, overlap, platform, poll_interval, reconcile_interval, scopes, shop, timeout, webhook_url)"
	tests := []struct {
		name string
		file []byte
		env  map[string]string
		want shopOptions
		errs []string
	}{
		{
			name: "good",
			file: storeFile(
				"    shop: acme.myshopify.com",
				"    access_token: ${TOKEN}",
				"    api_version: '2025-07'",
				"    timeout: 30s",
				"    max_retries: ${RETRIES}",
				"    scopes: [read_orders, read_customers]",
				"    limits: {burst: 40}",
				"    poll_interval: 1m",
			),
			env: map[string]string{"TOKEN": "shpat_x", "RETRIES": "3"},
			want: shopOptions{Shop: "acme.myshopify.com", AccessToken: "shpat_x", APIVersion: "2025-07",
				Timeout: config.Duration{Duration: 30 * time.Second}, MaxRetries: 3,
				Scopes: []string{"read_orders", "read_customers"}, Limits: struct {
					Burst int `yaml:"burst"`
				}{40}},
		},
		{
			name: "no platform keys",
			file: storeFile(),
		},
		{
			name: "unknown key",
			file: storeFile("    shop: acme.myshopify.com", "    acess_token: x"),
			errs: []string{"t.yaml:8: stores[1].acess_token: unknown key " + known},
		},
		{
			name: "misspelt store key is found by Decode",
			file: storeFile("    pol_interval: 1m"),
			errs: []string{"t.yaml:7: stores[1].pol_interval: unknown key " + known},
		},
		{
			name: "unknown nested key",
			file: storeFile("    limits:", "      burst: 40", "      bust: 2"),
			errs: []string{"t.yaml:9: stores[1].limits.bust: unknown key (known: burst)"},
		},
		{
			name: "wrong types, all at once",
			file: storeFile(
				"    max_retries: many",
				"    scopes: read_orders",
				"    timeout: 30",
				"    limits: {burst: 1.5}",
				"    shop: {name: acme}",
			),
			errs: []string{
				`t.yaml:7: stores[1].max_retries: expected a whole number, got "many"`,
				`t.yaml:8: stores[1].scopes: expected a list, got "read_orders"`,
				`t.yaml:9: stores[1].timeout: invalid duration "30" (examples: 30s, 5m, 1h, 7d)`,
				`t.yaml:10: stores[1].limits.burst: expected a whole number, got "1.5"`,
				`t.yaml:11: stores[1].shop: expected a string, got a mapping`,
			},
		},
		{
			name: "number from the environment that is not one",
			file: storeFile("    max_retries: ${RETRIES}"),
			env:  map[string]string{"RETRIES": "3x"},
			errs: []string{"t.yaml:7: stores[1].max_retries: expected a whole number, got [from ${RETRIES}]"},
		},
		{
			name: "platform keys merged from an anchor",
			file: doc(program, "stores:",
				"  - &base {id: other, platform: memory, shop: base.example, max_retries: 2}",
				"  - <<: *base",
				"    id: acme",
				"    shop: acme.example"),
			want: shopOptions{Shop: "acme.example", MaxRetries: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Parse("t.yaml", tt.file, options(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			var got shopOptions
			err = c.Stores[1].Decode(&got)
			if tt.errs != nil {
				if err == nil || err.Error() != strings.Join(tt.errs, "\n") {
					t.Errorf("Decode error:\n%v\nwant:\n%s", err, strings.Join(tt.errs, "\n"))
				}
				var errs config.Errors
				if !errors.As(err, &errs) {
					t.Errorf("Decode error is a %T, want config.Errors", err)
				}
				if !reflect.DeepEqual(got, shopOptions{}) {
					t.Errorf("Decode changed its target despite errors: %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestStoreDecodeMapsAndAny(t *testing.T) {
	t.Parallel()
	const secret = "n0t-a-float-S3CR3T"
	c, err := config.Parse("t.yaml", storeFile(
		"    ports: {80: http, 443: https}",
		"    extra:",
		"      list: [1, two, {three: 3}]",
		"      flag: true",
	), options(nil))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Ports map[int]string `yaml:"ports"`
		Extra map[string]any `yaml:"extra"`
	}
	if err := c.Stores[1].Decode(&got); err != nil {
		t.Fatal(err)
	}
	if want := map[int]string{80: "http", 443: "https"}; !reflect.DeepEqual(got.Ports, want) {
		t.Errorf("ports = %#v, want %#v", got.Ports, want)
	}
	wantExtra := map[string]any{"list": []any{1, "two", map[string]any{"three": 3}}, "flag": true}
	if !reflect.DeepEqual(got.Extra, wantExtra) {
		t.Errorf("extra = %#v, want %#v", got.Extra, wantExtra)
	}

	c, err = config.Parse("t.yaml", storeFile(
		"    ports: {eighty: http}",
		"    extra:",
		"      nested: {api_key: !!float "+secret+"}",
	), options(nil))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Stores[1].Decode(&got)
	want := "t.yaml:7: stores[1].ports.eighty: expected a whole number, got \"eighty\"\n" +
		"t.yaml:9: stores[1].extra.nested.api_key: expected a valid value, got [redacted]"
	if err == nil || err.Error() != want {
		t.Errorf("Decode error:\n%v\nwant:\n%s", err, want)
	}
}

func TestStoreDecodeLeavesTheStoreAlone(t *testing.T) {
	t.Parallel()
	c, err := config.Parse("t.yaml", storeFile("    max_retries: 3"), options(nil))
	if err != nil {
		t.Fatal(err)
	}
	var wrong struct {
		MaxRetries []int `yaml:"max_retries"`
	}
	if err := c.Stores[1].Decode(&wrong); err == nil {
		t.Fatal("Decode into a list succeeded, want an error")
	}
	var right shopOptions
	if err := c.Stores[1].Decode(&right); err != nil || right.MaxRetries != 3 {
		t.Errorf("second Decode = %+v, %v; want max_retries 3 and no error", right, err)
	}
}

func TestStoreDecodeNeedsAPointer(t *testing.T) {
	t.Parallel()
	c, err := config.Parse("t.yaml", storeFile(), options(nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{shopOptions{}, (*shopOptions)(nil), nil} {
		if err := c.Stores[1].Decode(v); err == nil {
			t.Errorf("Decode(%#v) succeeded, want an error", v)
		}
	}
	var s config.Store
	if err := s.Decode(&shopOptions{}); err != nil {
		t.Errorf("Decode on a Store not read from a file = %v, want nil", err)
	}
}

func TestStorePosition(t *testing.T) {
	t.Parallel()
	c, err := config.Parse("t.yaml", storeFile("    shop: acme.example", "    limits:", "      burst: 1"), options(nil))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Stores[1]
	tests := []struct{ key, want string }{
		{"shop", "t.yaml:7"},
		{"platform", "t.yaml:6"},
		{"limits.burst", "t.yaml:9"},
		{"access_token", "t.yaml:5"},
		{"", "t.yaml:5"},
	}
	for _, tt := range tests {
		if got := s.Position(tt.key); got != tt.want {
			t.Errorf("Position(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
	if got := (&config.Store{}).Position("shop"); got != "" {
		t.Errorf("Position on a Store not read from a file = %q, want \"\"", got)
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	t.Parallel()
	c, err := config.Parse("t.yaml", doc(
		"stores:",
		"  - &defaults",
		"    id: a",
		"    platform: memory",
		"    poll_interval: 1m",
		"  - <<: *defaults",
		"    id: b",
		"  - <<: [{overlap: 1h, id: x}, *defaults]",
		"    id: c",
		"    poll_interval: 2m",
		program,
	), options(nil))
	if err != nil {
		t.Fatal(err)
	}
	type store struct {
		id            string
		poll, overlap time.Duration
	}
	var got []store
	for _, s := range c.Stores {
		got = append(got, store{s.ID, s.PollInterval.Duration, s.Overlap.Duration})
	}
	want := []store{{"a", time.Minute, 10 * time.Minute}, {"b", time.Minute, 10 * time.Minute}, {"c", 2 * time.Minute, time.Hour}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stores = %+v, want %+v", got, want)
	}
}

func TestAliasExpansionIsBounded(t *testing.T) {
	t.Parallel()
	lines := []string{"a: &a [x, x, x, x, x, x, x, x, x, x]"}
	for _, name := range []string{"b", "c", "d", "e", "f"} {
		prev := string(rune(name[0] - 1))
		lines = append(lines, name+": &"+name+" [*"+prev+strings.Repeat(", *"+prev, 9)+"]")
	}
	_, err := config.Parse("t.yaml", doc(lines...), options(nil))
	if err == nil || !strings.Contains(err.Error(), "the document is too large") {
		t.Errorf("Parse of an alias bomb: error = %v, want one saying the document is too large", err)
	}
}
