package config_test

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/loyaltyd/loyaltyd/config"
)

func TestParseExpandsEnvironment(t *testing.T) {
	t.Parallel()
	special := `a: b # c ${A} $$ "q" 'q' [x] {y} \n`
	tests := []struct {
		name string
		line string // the value of the store's platform key "value"
		env  map[string]string
		want any
	}{
		{"set", "value: ${V}", map[string]string{"V": "from-env"}, "from-env"},
		{"inside text", "value: https://${HOST}/x", map[string]string{"HOST": "h.example"}, "https://h.example/x"},
		{"default when unset", "value: ${V:-fallback}", nil, "fallback"},
		{"default when empty", "value: ${V:-fallback}", map[string]string{"V": ""}, "fallback"},
		{"set wins over default", "value: ${V:-fallback}", map[string]string{"V": "set"}, "set"},
		{"set but empty", "value: ${V}", map[string]string{"V": ""}, ""},
		{"dollar dollar", "value: pa$$word", nil, "pa$word"},
		{"dollar dollar before a brace", "value: $${V}", map[string]string{"V": "no"}, "${V}"},
		{"special characters stay verbatim", "value: ${V}", map[string]string{"V": special}, special},
		{"YAML in a value stays a string", "value: ${V}", map[string]string{"V": "[1, 2]"}, "[1, 2]"},
		{"a number in a value stays a string", "value: ${V}", map[string]string{"V": "8080"}, "8080"},
		{"null in a value stays a string", "value: ${V}", map[string]string{"V": "~"}, "~"},
		{"quoted", `value: "${V}"`, map[string]string{"V": "q"}, "q"},
		{"in a list", "value: ['${V}', x]", map[string]string{"V": "first"}, []any{"first", "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Parse("t.yaml", doc(program, "stores:", "  - id: a", "    platform: memory", "    "+tt.line), options(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			var got struct {
				Value any `yaml:"value"`
			}
			if err := c.Stores[0].Decode(&got); err != nil {
				t.Fatal(err)
			}
			if !equal(got.Value, tt.want) {
				t.Errorf("value = %#v, want %#v", got.Value, tt.want)
			}
		})
	}
}

func equal(a, b any) bool {
	as, ok := a.([]any)
	if !ok {
		return a == b
	}
	bs, ok := b.([]any)
	return ok && slices.Equal(as, bs)
}

func TestParseExpandsIntoTypedSettings(t *testing.T) {
	t.Parallel()
	c, err := config.Parse("t.yaml", doc(
		"admin_token: ${TOKEN}",
		"listen: ${HOST:-127.0.0.1}:${PORT}",
		"stores:",
		"  - id: ${STORE}",
		"    platform: memory",
		"    poll_interval: ${POLL}",
		"program:",
		"  currency: ${CURRENCY}",
		"  earn: {pending_days: '${DAYS}', points_per_unit: '${RATE}'}",
	), options(map[string]string{
		"TOKEN": "t: {not yaml}", "PORT": "9000", "STORE": "acme", "POLL": "2m",
		"CURRENCY": "JPY", "DAYS": "7", "RATE": "0.5",
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		got, want any
	}{
		{"admin_token", c.AdminToken.Reveal(), "t: {not yaml}"},
		{"listen", c.Listen, "127.0.0.1:9000"},
		{"stores[0].id", c.Stores[0].ID, "acme"},
		{"stores[0].poll_interval", c.Stores[0].PollInterval.String(), "2m0s"},
		{"program.currency", c.Program.Currency, "JPY"},
		{"program.earn.pending_days", c.Program.Earn.PendingDays, 7},
		{"program.earn.points_per_unit", c.Program.Earn.PointsPerUnit.String(), "0.5"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s = %#v, want %#v", tt.name, tt.got, tt.want)
		}
	}
}

func TestParseExpandsValuesOnly(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var looked []string
	lookup := func(name string) (string, bool) {
		mu.Lock()
		defer mu.Unlock()
		looked = append(looked, name)
		return "value-of-" + name, true
	}
	file := doc(
		"# ${IN_A_COMMENT}",
		program+" # ${AFTER_A_VALUE}",
		"stores:",
		"  - id: a # ${ALSO_A_COMMENT}",
		"    platform: memory",
		"    ${IN_A_KEY}: ${IN_A_VALUE}",
	)
	c, err := config.Parse("t.yaml", file, config.Options{Platforms: platforms, LookupEnv: lookup})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"IN_A_VALUE"}; !slices.Equal(looked, want) {
		t.Errorf("looked up %v, want only %v", looked, want)
	}
	var keys map[string]string
	if err := c.Stores[0].Decode(&keys); err != nil {
		t.Fatal(err)
	}
	if got, want := keys["${IN_A_KEY}"], "value-of-IN_A_VALUE"; got != want {
		t.Errorf("key ${IN_A_KEY} = %q, want %q (keys: %v)", got, want, keys)
	}
}

// TestSecretsNeverShown makes every kind of mistake with a secret value and
// checks that the value appears in no message.
func TestSecretsNeverShown(t *testing.T) {
	t.Parallel()
	const secret = "S3cr3t-V4lue"
	vars := map[string]string{"S": secret}
	tests := []struct {
		name string
		file []byte
		// path is a key path the error must name, to show that the
		// mistake was found.
		path string
		// shows is the stand-in the message must show for the value.
		shows string
	}{
		{"platform from env", doc(program, "stores: [{id: a, platform: '${S}'}]"), "stores[0].platform", "[from ${S}]"},
		{"id from env", doc(program, "stores: [{id: '${S}', platform: memory}]"), "stores[0].id", "[from ${S}]"},
		{"duplicate id from env", doc(program, "stores: [{id: s, platform: memory}, {id: '${S:-s}', platform: memory}]"), "stores[1].id", "[from ${S}]"},
		{"listen from env", doc(program, "listen: ${S}"), "listen", "[from ${S}]"},
		{"webhook_url from env", doc(program, "stores: [{id: a, platform: memory, webhook_url: 'http://${S}.example'}]"), "stores[0].webhook_url", "[from ${S}]"},
		{"duration from env", doc(program, "stores: [{id: a, platform: memory, poll_interval: '${S}'}]"), "stores[0].poll_interval", "[from ${S}]"},
		{"short duration from env", doc(program, "stores: [{id: a, platform: memory, poll_interval: '${SHORT}'}]"), "stores[0].poll_interval", "[from ${SHORT}]"},
		{"date from env", doc(program, "stores: [{id: a, platform: memory, backfill_from: '${S}'}]"), "stores[0].backfill_from", "[from ${S}]"},
		{"log level from env", doc(program, "log: {level: '${S}'}"), "log.level", "[from ${S}]"},
		{"currency from env", doc("program: {currency: '${S}'}"), "program.currency", "[from ${S}]"},
		{"integer from env", doc("program: {currency: USD, earn: {pending_days: '${S}'}}"), "program.earn.pending_days", "[from ${S}]"},
		{"negative integer from env", doc("program: {currency: USD, earn: {pending_days: '${NEG}'}}"), "program.earn.pending_days", "[from ${NEG}]"},
		{"decimal from env", doc("program: {currency: USD, earn: {points_per_unit: '${S}'}}"), "program.earn.points_per_unit", "[from ${S}]"},
		{"zero decimal from env", doc("program: {currency: USD, earn: {points_per_unit: '${ZERO}'}}"), "program.earn.points_per_unit", "[from ${ZERO}]"},
		{"literal under a secret key, wrong type", doc(program, "admin_token: {value: "+secret+"}"), "admin_token", "a mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"S": secret, "SHORT": "1s", "NEG": "-1", "ZERO": "0"}
			_, err := config.Parse("t.yaml", tt.file, options(vars))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, " "+tt.path+": ") || !strings.Contains(msg, tt.shows) {
				t.Errorf("error does not name %s and show %s: %s", tt.path, tt.shows, msg)
			}
			if strings.Contains(msg, secret) {
				t.Errorf("error shows the secret: %s", msg)
			}
			// The short values could occur by chance ("0"), but never
			// as what a message says it got.
			for _, v := range []string{"1s", "-1", "0"} {
				if strings.Contains(msg, "got "+v) || strings.Contains(msg, `"`+v+`"`) {
					t.Errorf("error shows the value %q: %s", v, msg)
				}
			}
		})
	}

	// Secret keys of a store's platform settings, read with the wrong type.
	c, err := config.Parse("t.yaml", doc(program, "stores:", "  - id: a", "    platform: memory",
		"    access_token: "+secret, "    api_password: '${S}'", "    signing_key: [x, "+secret+"]"), options(vars))
	if err != nil {
		t.Fatal(err)
	}
	var opts struct {
		AccessToken int            `yaml:"access_token"`
		APIPassword bool           `yaml:"api_password"`
		SigningKey  map[string]int `yaml:"signing_key"`
	}
	err = c.Stores[0].Decode(&opts)
	if err == nil {
		t.Fatal("Decode succeeded, want type errors")
	}
	if got, want := len(err.(config.Errors)), 3; got != want {
		t.Errorf("Decode returned %d errors, want %d: %v", got, want, err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("Decode error shows a secret: %v", err)
	}

	// Redacted hides secret keys and everything from the environment.
	c, err = config.Parse("t.yaml", doc(
		"database: /data/${S}.db",
		"admin_token: literal-"+secret,
		"stores:",
		"  - id: a",
		"    platform: memory",
		"    shop: ${S:-x}.example",
		"    nested: {list: [one, '${S}'], client_secret: literal-"+secret+"}",
		"    password: literal-"+secret,
		program,
	), options(vars))
	if err != nil {
		t.Fatal(err)
	}
	out := c.Redacted()
	if strings.Contains(out, secret) {
		t.Errorf("Redacted() shows a secret:\n%s", out)
	}
	for _, want := range []string{"database: '[redacted]'", "admin_token: '[redacted]'", "shop: '[redacted]'",
		"- one\n", "- '[redacted]'\n", "client_secret: '[redacted]'", "password: '[redacted]'", "platform: memory"} {
		if !strings.Contains(out, want) {
			t.Errorf("Redacted() lacks %q:\n%s", want, out)
		}
	}
}
