package config_test

import (
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/config"
	"github.com/loyaltyd/loyaltyd/loyalty"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// platforms is deliberately unsorted: messages list them sorted.
var platforms = []string{"woocommerce", "memory", "shopify"}

// env returns a LookupEnv that knows only vars.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func options(vars map[string]string) config.Options {
	return config.Options{Platforms: platforms, LookupEnv: env(vars)}
}

// doc joins lines into a file, so that a test can count them.
func doc(lines ...string) []byte { return []byte(strings.Join(lines, "\n") + "\n") }

const program = "program: {currency: USD}"

func read(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestIssueExample(t *testing.T) {
	t.Parallel()
	data := read(t, "issue.yaml")
	if got, want := strings.Split(string(data), "\n")[13], "    platform: shopfy"; got != want {
		t.Fatalf("line 14 of testdata/issue.yaml = %q, want %q", got, want)
	}
	_, err := config.Parse("loyaltyd.yaml", data, options(map[string]string{
		"LOYALTYD_ADMIN_TOKEN": "t", "SHOPIFY_ACCESS_TOKEN": "a", "SHOPIFY_API_SECRET": "s",
		"WC_CONSUMER_KEY": "k", "WC_CONSUMER_SECRET": "c",
	}))
	want := `loyaltyd.yaml:14: stores[1].platform: unknown platform "shopfy" (known: memory, shopify, woocommerce)`
	if err == nil || err.Error() != want {
		t.Fatalf("Parse error = %v, want %s", err, want)
	}
	var errs config.Errors
	if !errors.As(err, &errs) || len(errs) != 1 {
		t.Fatalf("Parse error is %T %v, want config.Errors of 1", err, err)
	}
	got, wantErr := *errs[0], config.Error{File: "loyaltyd.yaml", Line: 14, Path: "stores[1].platform", Msg: `unknown platform "shopfy" (known: memory, shopify, woocommerce)`}
	if got != wantErr {
		t.Errorf("error = %+v, want %+v", got, wantErr)
	}
	var one *config.Error
	if !errors.As(err, &one) || one.Line != 14 {
		t.Errorf("errors.As(*config.Error) = %v, want the line-14 error", one)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file []byte
		env  map[string]string
		// noPlatforms leaves Options.Platforms empty.
		noPlatforms bool
		want        []string // the error's lines
	}{
		{
			name: "unknown top-level key",
			file: doc("databse: x.db", program),
			want: []string{"t.yaml:1: databse: unknown key (known: admin_token, dashboard, database, link_secret, listen, log, notify, program, public_url, stores)"},
		},
		{
			name: "unknown key in log",
			file: doc(program, "log:", "  level: info", "  colour: true"),
			want: []string{"t.yaml:4: log.colour: unknown key (known: format, level)"},
		},
		{
			name: "unknown key in program.earn",
			file: doc("program:", "  currency: USD", "  earn:", "    points_per_unit: 2", "    pending_day: 14"),
			want: []string{"t.yaml:5: program.earn.pending_day: unknown key (known: campaigns, first_order_bonus, multipliers, pending_days, points_per_unit)"},
		},
		{
			name: "unknown key in a flow mapping",
			file: doc(program, "log: {level: info, colour: true}"),
			want: []string{"t.yaml:2: log.colour: unknown key (known: format, level)"},
		},
		{
			name: "bad store id",
			file: doc("stores:", "  - id: Acme!", "    platform: memory", program),
			want: []string{`t.yaml:2: stores[0].id: invalid store id "Acme!": use 1 to 63 lowercase letters, digits, - and _, starting with a letter or digit`},
		},
		{
			name: "store id too long",
			file: doc("stores:", "  - id: "+strings.Repeat("a", 64), "    platform: memory", program),
			want: []string{`t.yaml:2: stores[0].id: invalid store id "` + strings.Repeat("a", 60) + `"…: use 1 to 63 lowercase letters, digits, - and _, starting with a letter or digit`},
		},
		{
			name: "store id starting with a dash",
			file: doc("stores:", "  - {id: -acme, platform: memory}", program),
			want: []string{`t.yaml:2: stores[0].id: invalid store id "-acme": use 1 to 63 lowercase letters, digits, - and _, starting with a letter or digit`},
		},
		{
			name: "duplicate store ids",
			file: doc("stores:", "  - id: acme", "    platform: memory", "  - id: acme", "    platform: shopify", program),
			want: []string{`t.yaml:4: stores[1].id: duplicate store id "acme" (also stores[0], line 2)`},
		},
		{
			name: "missing id and platform point at the store",
			file: doc(program, "stores:", "  - poll_interval: 1m", "    overlap: 1m"),
			want: []string{
				"t.yaml:3: stores[0].id: required: the store's name in loyaltyd, such as acme",
				"t.yaml:3: stores[0].platform: required (known: memory, shopify, woocommerce)",
			},
		},
		{
			name: "unknown dashboard language",
			file: doc(program, "dashboard:", "  language: de"),
			want: []string{`t.yaml:3: dashboard.language: unknown language "de" (known: en, et, he, ar)`},
		},
		{
			name: "unknown key in dashboard",
			file: doc(program, "dashboard: {lang: he}"),
			want: []string{"t.yaml:2: dashboard.lang: unknown key (known: language)"},
		},
		{
			name: "listen without a port",
			file: doc("listen: localhost", program),
			want: []string{`t.yaml:1: listen: must be host:port, such as 127.0.0.1:8380; got "localhost"`},
		},
		{
			name: "listen with a port out of range",
			file: doc("listen: 127.0.0.1:65536", program),
			want: []string{`t.yaml:1: listen: must be host:port, such as 127.0.0.1:8380; got "127.0.0.1:65536"`},
		},
		{
			name: "listen with a named port",
			file: doc("listen: 127.0.0.1:http", program),
			want: []string{`t.yaml:1: listen: must be host:port, such as 127.0.0.1:8380; got "127.0.0.1:http"`},
		},
		{
			name: "log level and format",
			file: doc(program, "log: {level: verbose, format: xml}"),
			want: []string{
				`t.yaml:2: log.level: unknown level "verbose" (known: debug, info, warn, error)`,
				`t.yaml:2: log.format: unknown format "xml" (known: auto, text, json)`,
			},
		},
		{
			name: "webhook_url over plain http to a public host",
			file: doc("stores:", "  - id: a", "    platform: memory", "    webhook_url: http://loyalty.example.com/hook", program),
			want: []string{`t.yaml:4: stores[0].webhook_url: must use https (plain http only for loopback hosts such as 127.0.0.1 or localhost); got "http://loyalty.example.com/hook"`},
		},
		{
			name: "webhook_url relative",
			file: doc("stores:", "  - id: a", "    platform: memory", "    webhook_url: /webhooks/a", program),
			want: []string{`t.yaml:4: stores[0].webhook_url: must be an absolute URL such as https://loyalty.example.com/webhooks; got "/webhooks/a"`},
		},
		{
			name: "webhook_url without a host",
			file: doc("stores:", "  - id: a", "    platform: memory", "    webhook_url: https:///hook", program),
			want: []string{`t.yaml:4: stores[0].webhook_url: must be an absolute URL such as https://loyalty.example.com/webhooks; got "https:///hook"`},
		},
		{
			name: "webhook_url with another scheme",
			file: doc("stores:", "  - id: a", "    platform: memory", "    webhook_url: ftp://loyalty.example.com/", program),
			want: []string{`t.yaml:4: stores[0].webhook_url: must be an https URL; got "ftp://loyalty.example.com/"`},
		},
		{
			name: "webhook_url with credentials",
			file: doc("stores:", "  - id: a", "    platform: memory", "    webhook_url: https://u@loyalty.example.com/", program),
			want: []string{`t.yaml:4: stores[0].webhook_url: must not contain a user name or password; got "https://u@loyalty.example.com/"`},
		},
		{
			name: "bad duration",
			file: doc("stores:", "  - id: a", "    platform: memory", "    poll_interval: 5x", program),
			want: []string{`t.yaml:4: stores[0].poll_interval: invalid duration "5x" (examples: 30s, 5m, 1h, 7d)`},
		},
		{
			name: "duration without a unit",
			file: doc("stores:", "  - id: a", "    platform: memory", "    poll_interval: 300", program),
			want: []string{`t.yaml:4: stores[0].poll_interval: invalid duration "300" (examples: 30s, 5m, 1h, 7d)`},
		},
		{
			name: "duration that is a mapping",
			file: doc("stores:", "  - id: a", "    platform: memory", "    poll_interval: {minutes: 5}", program),
			want: []string{`t.yaml:4: stores[0].poll_interval: expected a duration such as 30s, 5m, 1h or 7d, got a mapping`},
		},
		{
			name: "poll_interval too short",
			file: doc("stores:", "  - id: a", "    platform: memory", "    poll_interval: 5s", program),
			want: []string{`t.yaml:4: stores[0].poll_interval: must be at least 10s, got 5s`},
		},
		{
			name: "poll_interval zero is not the default",
			file: doc("stores:", "  - id: a", "    platform: memory", "    poll_interval: 0s", program),
			want: []string{`t.yaml:4: stores[0].poll_interval: must be at least 10s, got 0s`},
		},
		{
			name: "overlap too long",
			file: doc("stores:", "  - id: a", "    platform: memory", "    overlap: 4d", program),
			want: []string{`t.yaml:4: stores[0].overlap: must be from 1m to 72h (changes the platform stamps late are re-read within it), got 96h`},
		},
		{
			name: "overlap negative",
			file: doc("stores:", "  - id: a", "    platform: memory", "    overlap: -1m", program),
			want: []string{`t.yaml:4: stores[0].overlap: must be from 1m to 72h (changes the platform stamps late are re-read within it), got -1m`},
		},
		{
			name: "reconcile_interval too short",
			file: doc("stores:", "  - id: a", "    platform: memory", "    reconcile_interval: 30s", program),
			want: []string{`t.yaml:4: stores[0].reconcile_interval: must be at least 1m, got 30s`},
		},
		{
			name: "bad date",
			file: doc("stores:", "  - id: a", "    platform: memory", "    backfill_from: 2025-13-01", program),
			want: []string{`t.yaml:4: stores[0].backfill_from: invalid date "2025-13-01" (use 2025-01-01 or RFC 3339 such as 2025-01-01T09:30:00Z)`},
		},
		{
			name: "date without a zone",
			file: doc("stores:", "  - id: a", "    platform: memory", "    backfill_from: 2025-01-01T10:00:00", program),
			want: []string{`t.yaml:4: stores[0].backfill_from: invalid date "2025-01-01T10:00:00" (use 2025-01-01 or RFC 3339 such as 2025-01-01T09:30:00Z)`},
		},
		{
			name: "program field error at its line",
			file: doc("program:", "  currency: USD", "  earn:", "    points_per_unit: -1"),
			want: []string{"t.yaml:4: program.earn.points_per_unit: must be greater than 0, got -1"},
		},
		{
			name: "program zero that a default would replace",
			file: doc("program:", "  currency: USD", "  earn:", "    points_per_unit: 0"),
			want: []string{"t.yaml:4: program.earn.points_per_unit: must be greater than 0, got 0"},
		},
		{
			name: "program empty string that a default would replace",
			file: doc("program:", "  currency: USD", "  tags: {prefix: ''}"),
			want: []string{`t.yaml:3: program.tags.prefix: must not be empty (leave the key out for the default, "loyalty-")`},
		},
		{
			name: "program errors from several keys",
			file: doc("program:", "  currency: XYZ", "  earn:", "    pending_days: -3", "  tags:", "    prefix: 'a b'"),
			want: []string{
				`t.yaml:2: program.currency: unknown currency "XYZ" (want an ISO 4217 code such as USD, EUR, JPY)`,
				"t.yaml:4: program.earn.pending_days: must not be negative, got -3",
				`t.yaml:6: program.tags.prefix: must not contain commas or spaces, got "a b"`,
			},
		},
		{
			name: "missing program key points at the program",
			file: doc("listen: 127.0.0.1:1", "program:", "  enrollment: invite"),
			want: []string{
				"t.yaml:2: program.currency: required (the shop currency, such as USD)",
				`t.yaml:2: program.invite_tag: required when enrollment is "invite"`,
			},
		},
		{
			name: "no program at all points at the document",
			file: doc("# settings", "listen: 127.0.0.1:1"),
			want: []string{"t.yaml:2: program.currency: required (the shop currency, such as USD)"},
		},
		{
			name: "integer expected",
			file: doc("program:", "  currency: USD", "  earn: {pending_days: two}"),
			want: []string{`t.yaml:3: program.earn.pending_days: expected a whole number, got "two"`},
		},
		{
			name: "fraction where an integer is expected",
			file: doc("program:", "  currency: USD", "  earn: {pending_days: 1.5}"),
			want: []string{`t.yaml:3: program.earn.pending_days: expected a whole number, got "1.5"`},
		},
		{
			name: "bad decimal",
			file: doc("program:", "  currency: USD", "  earn: {points_per_unit: 1.2345678}"),
			want: []string{`t.yaml:3: program.earn.points_per_unit: "1.2345678" is not a decimal number with at most 6 decimals`},
		},
		{
			name: "string where a mapping is expected",
			file: doc(program, "log: info"),
			want: []string{`t.yaml:2: log: expected a mapping, got "info"`},
		},
		{
			name: "mapping where a list is expected",
			file: doc(program, "stores:", "  acme: {platform: memory}"),
			want: []string{`t.yaml:3: stores: expected a list, got a mapping`},
		},
		{
			name: "store that is not a mapping is reported once",
			file: doc(program, "stores:", "  - acme"),
			want: []string{`t.yaml:3: stores[0]: expected a mapping, got "acme"`},
		},
		{
			name: "list where a string is expected",
			file: doc(program, "listen: [127.0.0.1, 8380]"),
			want: []string{`t.yaml:2: listen: expected a string, got a list`},
		},
		{
			name: "duplicate key",
			file: doc(program, "listen: 127.0.0.1:1", "listen: 127.0.0.1:2"),
			want: []string{"t.yaml:3: listen: duplicate key (first at line 2)"},
		},
		{
			name: "duplicate key inside a store",
			file: doc(program, "stores:", "  - id: a", "    platform: memory", "    shop: x", "    shop: y"),
			want: []string{"t.yaml:6: stores[0].shop: duplicate key (first at line 5)"},
		},
		{
			name: "tab indentation",
			file: doc(program, "log:", "\tlevel: info"),
			want: []string{"t.yaml:3: invalid YAML: found character that cannot start any token (YAML does not allow tabs for indentation: use spaces)"},
		},
		{
			name: "syntax error",
			file: doc(program, "listen: [127.0.0.1"),
			want: []string{"t.yaml:2: invalid YAML: did not find expected ',' or ']'"},
		},
		{
			name: "syntax error on the first line",
			file: doc("listen: a: b", program),
			want: []string{"t.yaml:1: invalid YAML: mapping values are not allowed in this context"},
		},
		{
			name: "control character",
			file: doc(program, "listen: \x01"),
			want: []string{"t.yaml:2: invalid YAML: control characters are not allowed"},
		},
		{
			name: "unknown alias",
			file: doc(program, "listen: *nope"),
			want: []string{"t.yaml:2: invalid YAML: unknown anchor 'nope' referenced"},
		},
		{
			name: "alias inside its own anchor",
			file: doc(program, "stores: &s [*s]"),
			want: []string{"t.yaml:2: stores[0]: alias *s is inside the value it refers to"},
		},
		{
			name: "merge of a string",
			file: doc(program, "log:", "  <<: info"),
			want: []string{"t.yaml:3: log: a merge (<<) needs a mapping or a list of mappings, got a single value"},
		},
		{
			name: "key that is not a string",
			file: doc(program, "? [a, b]", ": c"),
			want: []string{"t.yaml:2: a key must be a plain string, not a list"},
		},
		{
			name: "second document",
			file: doc(program, "---", "listen: 127.0.0.1:1"),
			want: []string{"t.yaml:2: a second YAML document: the file must hold exactly one (remove the --- line)"},
		},
		{
			name: "empty file",
			file: []byte(""),
			want: []string{"t.yaml: the file is empty: expected a mapping of settings (stores:, program:, …)"},
		},
		{
			name: "only comments",
			file: doc("# nothing yet"),
			want: []string{"t.yaml: the file is empty: expected a mapping of settings (stores:, program:, …)"},
		},
		{
			name: "only a null",
			file: doc("---", "~"),
			want: []string{"t.yaml: the file holds no settings: expected a mapping of settings (stores:, program:, …)"},
		},
		{
			name: "a list",
			file: doc("- program: {currency: USD}"),
			want: []string{"t.yaml:1: expected a mapping of settings (stores:, program:, …), got a list"},
		},
		{
			name: "a string",
			file: doc("# comment", "hello"),
			want: []string{"t.yaml:2: expected a mapping of settings (stores:, program:, …), got a single value"},
		},
		{
			name: "unset variable",
			file: doc(program, "admin_token: ${NOPE}"),
			want: []string{"t.yaml:2: admin_token: environment variable NOPE is not set (set it, or give a default: ${NOPE:-default})"},
		},
		{
			name: "unset variables in a store and in a list",
			file: doc(program, "stores:", "  - id: a", "    platform: memory", "    hosts: [x, '${H1}', '${H2}']"),
			want: []string{
				"t.yaml:5: stores[0].hosts[1]: environment variable H1 is not set (set it, or give a default: ${H1:-default})",
				"t.yaml:5: stores[0].hosts[2]: environment variable H2 is not set (set it, or give a default: ${H2:-default})",
			},
		},
		{
			name: "lone dollar",
			file: doc(program, "database: price$.db"),
			want: []string{"t.yaml:2: database: a $ must start ${NAME} or ${NAME:-default}; write $$ for a literal $"},
		},
		{
			name: "unterminated reference",
			file: doc(program, "database: ${DB"),
			want: []string{"t.yaml:2: database: ${DB is missing its closing }"},
		},
		{
			name: "unsupported reference",
			file: doc(program, "database: ${DB:?required}"),
			env:  map[string]string{"DB": "x"},
			want: []string{"t.yaml:2: database: unsupported form of ${DB…}: only ${DB} and ${DB:-default} are supported"},
		},
		{
			name:        "unknown platform with none known",
			file:        doc(program, "stores: [{id: a, platform: memory}]"),
			noPlatforms: true,
			want:        []string{`t.yaml:2: stores[0].platform: unknown platform "memory" (known: none)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o := options(tt.env)
			if tt.noPlatforms {
				o.Platforms = nil
			}
			c, err := config.Parse("t.yaml", tt.file, o)
			if err == nil {
				t.Fatalf("Parse succeeded (%+v), want errors:\n%s", c, strings.Join(tt.want, "\n"))
			}
			if got, want := err.Error(), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("Parse errors:\n%s\nwant:\n%s", got, want)
			}
			if c != nil {
				t.Errorf("Parse returned a config with its errors: %+v", c)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		file  []byte
		check func(*config.Config) (got, want any)
	}{
		{
			name:  "the shortest overlap is kept",
			file:  doc(program, "stores: [{id: a, platform: memory, overlap: 1m}]"),
			check: func(c *config.Config) (any, any) { return c.Stores[0].Overlap.Duration, time.Minute },
		},
		{
			name:  "a null duration takes the default",
			file:  doc(program, "stores: [{id: a, platform: memory, poll_interval: ~}]"),
			check: func(c *config.Config) (any, any) { return c.Stores[0].PollInterval.Duration, 5 * time.Minute },
		},
		{
			name:  "days",
			file:  doc(program, "stores: [{id: a, platform: memory, reconcile_interval: 1d12h}]"),
			check: func(c *config.Config) (any, any) { return c.Stores[0].ReconcileInterval.Duration, 36 * time.Hour },
		},
		{
			name: "webhook_url over http to loopback hosts",
			file: doc(program, "stores:",
				"  - {id: a, platform: memory, webhook_url: 'http://127.0.0.1:8380/w'}",
				"  - {id: b, platform: memory, webhook_url: 'http://localhost/w'}",
				"  - {id: c, platform: memory, webhook_url: 'http://[::1]:9/w'}",
				"  - {id: d, platform: memory, webhook_url: 'https://example.com/w?store=d'}"),
			check: func(c *config.Config) (any, any) { return len(c.Stores), 4 },
		},
		{
			name: "store ids at the edges of the pattern",
			file: doc(program, "stores:",
				"  - {id: "+strings.Repeat("z", 63)+", platform: memory}",
				"  - {id: 0, platform: memory}",
				"  - {id: a_b-c, platform: memory}"),
			check: func(c *config.Config) (any, any) { return c.Stores[1].ID, "0" },
		},
		{
			name: "date in RFC 3339 is kept in UTC",
			file: doc(program, "stores: [{id: a, platform: memory, backfill_from: '2025-03-01T09:30:00+02:00'}]"),
			check: func(c *config.Config) (any, any) {
				return c.Stores[0].BackfillFrom.Time, time.Date(2025, 3, 1, 7, 30, 0, 0, time.UTC)
			},
		},
		{
			name:  "a right-to-left dashboard",
			file:  doc(program, "dashboard: {language: he}"),
			check: func(c *config.Config) (any, any) { return c.Dashboard.Language, "he" },
		},
		{
			name:  "listen on every interface",
			file:  doc(program, "listen: ':8380'"),
			check: func(c *config.Config) (any, any) { return c.Listen, ":8380" },
		},
		{
			name:  "absolute database path is kept",
			file:  doc(program, "database: /var/lib/loyaltyd/l.db"),
			check: func(c *config.Config) (any, any) { return c.Database, "/var/lib/loyaltyd/l.db" },
		},
		{
			name:  "in-memory database is kept",
			file:  doc(program, "database: ':memory:'"),
			check: func(c *config.Config) (any, any) { return c.Database, ":memory:" },
		},
		{
			name:  "relative database path is resolved against the file's folder",
			file:  doc(program, "database: ../db/l.db"),
			check: func(c *config.Config) (any, any) { return c.Database, filepath.Join("etc", "db", "l.db") },
		},
		{
			name:  "platform keys are left for Decode",
			file:  doc(program, "stores: [{id: a, platform: memory, anything: [1, 2], goes: {here: yes}}]"),
			check: func(c *config.Config) (any, any) { return c.Stores[0].Platform, "memory" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Parse("etc/loyaltyd/t.yaml", tt.file, options(nil))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got, want := tt.check(c); !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestErrorsAllAtOnceInLineOrder(t *testing.T) {
	t.Parallel()
	_, err := config.Parse("errors.yaml", read(t, "errors.yaml"), options(nil))
	want := strings.Join([]string{
		`errors.yaml:2: listen: must be host:port, such as 127.0.0.1:8380; got "localhost"`,
		`errors.yaml:3: log.level: unknown level "loud" (known: debug, info, warn, error)`,
		`errors.yaml:7: stores[0].poll_interval: invalid duration "5x" (examples: 30s, 5m, 1h, 7d)`,
		`errors.yaml:8: stores[1].id: duplicate store id "acme" (also stores[0], line 5)`,
		`errors.yaml:9: stores[1].platform: unknown platform "magento" (known: memory, shopify, woocommerce)`,
		`errors.yaml:10: stores[1].overlap: must be from 1m to 72h (changes the platform stamps late are re-read within it), got 100h`,
		`errors.yaml:11: stores[2].id: required: the store's name in loyaltyd, such as acme`,
		`errors.yaml:15: program.earn.points_per_unit: must be greater than 0, got -1`,
		`errors.yaml:16: program.earn.pending_days: expected a whole number, got "1.5"`,
		`errors.yaml:17: colour: unknown key (known: admin_token, dashboard, database, link_secret, listen, log, notify, program, public_url, stores)`,
	}, "\n")
	if err == nil || err.Error() != want {
		t.Errorf("Parse errors:\n%v\nwant:\n%s", err, want)
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.Load(filepath.Join("testdata", "minimal.yaml"), options(nil))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"File", c.File, filepath.Join("testdata", "minimal.yaml")},
		{"Database", c.Database, filepath.Join("testdata", "loyaltyd.db")},
		{"Listen", c.Listen, "127.0.0.1:8380"},
		{"AdminToken", c.AdminToken.Reveal(), ""},
		{"Log.Level", c.Log.Level, "info"},
		{"Log.Format", c.Log.Format, "auto"},
		{"Dashboard.Language", c.Dashboard.Language, "en"},
		{"Stores", len(c.Stores), 0},
		{"Program.Enrollment", c.Program.Enrollment, loyalty.EnrollOpen},
		{"Program.Earn.PointsPerUnit", c.Program.Earn.PointsPerUnit, loyalty.One},
		{"Program.Tags.Prefix", c.Program.Tags.Prefix, "loyalty-"},
	}
	for _, tt := range tests {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}

	c, err = config.Parse("t.yaml", doc(program, "stores: [{id: a, platform: memory}]"), options(nil))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Stores[0]
	for _, tt := range []struct {
		name      string
		got, want any
	}{
		{"PollInterval", s.PollInterval.Duration, 5 * time.Minute},
		{"Overlap", s.Overlap.Duration, 10 * time.Minute},
		{"ReconcileInterval", s.ReconcileInterval.Duration, 24 * time.Hour},
		{"BackfillFrom", s.BackfillFrom.IsZero(), true},
		{"WebhookURL", s.WebhookURL, ""},
	} {
		if !reflect.DeepEqual(tt.got, tt.want) {
			t.Errorf("store %s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

// fullEnv is what testdata/full.yaml needs.
var fullEnv = map[string]string{
	"LOYALTYD_ADMIN_TOKEN": "admin-t0ken-value",
	"SHOPIFY_ACCESS_TOKEN": "shpat_0123456789",
	"SHOPIFY_API_SECRET":   "shpss_0123456789",
	"WC_CONSUMER_KEY":      "ck_0123456789",
	"WC_CONSUMER_SECRET":   "cs_0123456789",
	"WC_WEBHOOK_SECRET":    "whsec_0123456789",
}

func TestLoadFull(t *testing.T) {
	t.Parallel()
	c, err := config.Load(filepath.Join("testdata", "full.yaml"), options(fullEnv))
	if err != nil {
		t.Fatal(err)
	}
	type store struct {
		ID, Platform                      string
		Poll, Overlap, Reconcile          time.Duration
		Backfill, WebhookURL, AccessToken string
	}
	var got []store
	for _, s := range c.Stores {
		var keys map[string]string
		if err := s.Decode(&keys); err != nil {
			t.Fatalf("%s: Decode: %v", s.ID, err)
		}
		got = append(got, store{s.ID, s.Platform, s.PollInterval.Duration, s.Overlap.Duration,
			s.ReconcileInterval.Duration, s.BackfillFrom.Format(time.RFC3339), s.WebhookURL, keys["access_token"]})
	}
	want := []store{
		{"acme", "shopify", time.Minute, time.Minute, 7 * 24 * time.Hour, "2025-01-01T00:00:00Z", "https://loyalty.example.com/webhooks/acme", "shpat_0123456789"},
		{"acme-eu", "shopify", time.Minute, time.Minute, 7 * 24 * time.Hour, "2025-03-01T07:30:00Z", "https://loyalty.example.com/webhooks/acme-eu", "shpat_0123456789"},
		{"corner", "woocommerce", 5 * time.Minute, 10 * time.Minute, 24 * time.Hour, "0001-01-01T00:00:00Z", "http://127.0.0.1:8380/webhooks/corner", ""},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stores:\n got %+v\nwant %+v", got, want)
	}
	if got, want := c.Database, filepath.Join("testdata", "data", "loyaltyd.db"); got != want {
		t.Errorf("Database = %q, want %q", got, want)
	}
	if got, want := c.Listen, "0.0.0.0:9000"; got != want {
		t.Errorf("Listen = %q, want %q", got, want)
	}
	if got, want := c.AdminToken.Reveal(), fullEnv["LOYALTYD_ADMIN_TOKEN"]; got != want {
		t.Errorf("AdminToken = %q, want %q", got, want)
	}
	if got, want := c.Log, (config.Log{Level: "debug", Format: "json"}); got != want {
		t.Errorf("Log = %+v, want %+v", got, want)
	}
	wantProgram := loyalty.Program{
		Currency: "EUR", Enrollment: "invite", InviteTag: "vip",
		Earn: loyalty.Earn{PointsPerUnit: loyalty.MustDecimal("1.5"), PendingDays: 14, FirstOrderBonus: 100},
		Tags: loyalty.Tags{Prefix: "club-"},
	}
	wantProgram.SetDefaults()
	if !reflect.DeepEqual(c.Program, wantProgram) {
		t.Errorf("Program = %+v, want %+v", c.Program, wantProgram)
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "loyaltyd.yaml")
	_, err := config.Load(path, options(nil))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load error = %v, want one wrapping fs.ErrNotExist", err)
	}
	for _, want := range []string{path, "does not exist", "create it", "program:", "-c FILE", "LOYALTYD_CONFIG"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Load error %q does not mention %q", err, want)
		}
	}
}

func TestLoadDirectory(t *testing.T) {
	t.Parallel()
	_, err := config.Load(t.TempDir(), options(nil))
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a directory: error = %v, want a read error", err)
	}
}

func TestRedacted(t *testing.T) {
	t.Parallel()
	c, err := config.Load(filepath.Join("testdata", "full.yaml"), options(fullEnv))
	if err != nil {
		t.Fatal(err)
	}
	got := c.Redacted()
	golden := filepath.Join("testdata", "full.redacted.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("Redacted():\n%s\nwant (%s):\n%s", got, golden, want)
	}
	for name, secret := range fullEnv {
		if strings.Contains(got, secret) {
			t.Errorf("Redacted() shows the value of %s", name)
		}
	}
}

func TestNotifyAndLinks(t *testing.T) {
	t.Parallel()
	src := `database: ./l.db
public_url: ftp://nope
link_secret: short
notify:
  - url: https://mail.example/hooks
    secret: ${HOOK_SECRET}
    events: [tier_changed, birthday]
  - url: mail.example
program:
  currency: USD
`
	_, err := config.Parse("n.yaml", []byte(src), options(map[string]string{"HOOK_SECRET": "s3cr3t-hook"}))
	want := []string{
		"n.yaml:2: public_url: must be an absolute http or https address",
		"n.yaml:3: link_secret: must be at least 16 characters",
		`n.yaml:7: notify[0].events[1]: unknown event "birthday"`,
		"n.yaml:8: notify[1].url: must be an absolute http or https address",
		"notify[1].secret: required",
	}
	for _, w := range want {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("Parse errors lack %q:\n%v", w, err)
		}
	}
	if err != nil && (strings.Contains(err.Error(), "s3cr3t-hook") || strings.Contains(err.Error(), "short")) {
		t.Errorf("a secret reached an error message: %v", err)
	}
	ok := `database: ./l.db
public_url: https://loyalty.example
link_secret: 0123456789abcdef0123
notify: [{url: "https://mail.example/hooks", secret: "${HOOK_SECRET}"}]
program: {currency: USD}
`
	c, err := config.Parse("ok.yaml", []byte(ok), options(map[string]string{"HOOK_SECRET": "s3cr3t-hook"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Notify[0].Secret.Reveal() != "s3cr3t-hook" || strings.Contains(c.Redacted(), "s3cr3t-hook") || strings.Contains(c.Redacted(), "0123456789abcdef0123") {
		t.Errorf("notify %+v; redacted:\n%s", c.Notify, c.Redacted())
	}
}
