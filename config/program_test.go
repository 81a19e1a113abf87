package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/loyaltyd/loyaltyd/config"
	"github.com/loyaltyd/loyaltyd/loyalty"
)

func TestLoadProgram(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want loyalty.Program
	}{
		{
			file: "program.yaml", // a bare program block
			want: loyalty.Program{Currency: "USD", Enrollment: "open",
				Earn: loyalty.Earn{PointsPerUnit: loyalty.DecimalFromInt(2), PendingDays: 30},
				Tags: loyalty.Tags{Prefix: "loyalty-"}},
		},
		{
			file: "candidate.yaml", // a whole configuration; its store's variable is unset
			want: loyalty.Program{Currency: "USD", Enrollment: "invite", InviteTag: "pilot",
				Earn: loyalty.Earn{PointsPerUnit: loyalty.DecimalFromInt(3)},
				Tags: loyalty.Tags{Prefix: "loyalty-"}},
		},
		{
			file: "full.yaml", // the program of a complete configuration
			want: loyalty.Program{Currency: "EUR", Enrollment: "invite", InviteTag: "vip",
				Earn: loyalty.Earn{PointsPerUnit: loyalty.MustDecimal("1.5"), PendingDays: 14, FirstOrderBonus: 100},
				Tags: loyalty.Tags{Prefix: "club-"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			p, err := config.LoadProgram(filepath.Join("testdata", tt.file), options(nil))
			if err != nil {
				t.Fatal(err)
			}
			tt.want.SetDefaults() // the defaults are loyalty's; compare what the file said
			if !reflect.DeepEqual(*p, tt.want) {
				t.Errorf("LoadProgram = %+v, want %+v", *p, tt.want)
			}
		})
	}
}

func TestLoadProgramErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	bad := filepath.Join("testdata", "program-bad.yaml")
	tests := []struct {
		name, path string
		want       []string
	}{
		{
			name: "bare block: paths as in the file",
			path: bad,
			want: []string{
				bad + `:2: invite_tag: required when enrollment is "invite"`,
				bad + ":5: earn.points_per_unit: must be greater than 0, got -2",
				bad + ":6: earn.pending_dayz: unknown key (known: campaigns, first_order_bonus, multipliers, pending_days, points_per_unit)",
			},
		},
		{
			name: "whole configuration: program paths and a misspelt top-level key",
			path: write("whole.yaml", "lisen: x\nstores: [{id: a, token: '${UNSET}'}]\nprogram:\n  currency: usd\n  earn: {points_per_unit: 0}\n"),
			want: []string{
				filepath.Join(dir, "whole.yaml") + ":1: lisen: unknown key (known: admin_token, dashboard, database, link_secret, listen, log, notify, program, public_url, stores)",
				filepath.Join(dir, "whole.yaml") + ":5: program.earn.points_per_unit: must be greater than 0, got 0",
			},
		},
		{
			name: "whole configuration with a program that is not a mapping",
			path: write("list.yaml", "program: [currency, USD]\n"),
			want: []string{filepath.Join(dir, "list.yaml") + ":1: program: expected a mapping, got a list"},
		},
		{
			name: "empty file",
			path: write("empty.yaml", "\n"),
			want: []string{filepath.Join(dir, "empty.yaml") + ": the file is empty: expected a program block (currency:, earn:, …) or a whole configuration with a program: key"},
		},
		{
			name: "environment in the program",
			path: write("env.yaml", "currency: ${NO_SUCH_CURRENCY}\n"),
			want: []string{filepath.Join(dir, "env.yaml") + ":1: currency: environment variable NO_SUCH_CURRENCY is not set (set it, or give a default: ${NO_SUCH_CURRENCY:-default})"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := config.LoadProgram(tt.path, options(nil))
			if err == nil {
				t.Fatalf("LoadProgram = %+v, want errors", p)
			}
			if got, want := err.Error(), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("LoadProgram errors:\n%s\nwant:\n%s", got, want)
			}
		})
	}

	missing := filepath.Join(dir, "candidate.yaml")
	_, err := config.LoadProgram(missing, options(nil))
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("LoadProgram of a missing file: error = %v, want fs.ErrNotExist naming %s", err, missing)
	}
}

// TestProgramErrorsInListsKeepTheirLine checks that a program mistake
// inside a list (a tier level) is named by its real path and line.
func TestProgramErrorsInListsKeepTheirLine(t *testing.T) {
	t.Parallel()
	src := `database: ./l.db
program:
  currency: USD
  tiers:
    levels:
      - {name: gold, min_spend: 500}
      - {name: silver, min_spend: 100}
`
	_, err := config.Parse("t.yaml", []byte(src), options(nil))
	if err == nil || !strings.Contains(err.Error(), "t.yaml:7: program.tiers.levels[1]: level \"silver\" must ask for more") {
		t.Errorf("Parse = %v", err)
	}
}

// TestProgramWithoutEnvironment: a program sent to the server (pasted on
// the dashboard, posted to the API) must not read the server's
// environment, where the platforms' tokens are; the rest of a whole
// configuration sent along is not read at all.
func TestProgramWithoutEnvironment(t *testing.T) {
	t.Parallel()
	o := config.Options{NoEnv: true, LookupEnv: func(string) (string, bool) { return "secret-value", true }}
	whole := "stores: [{id: a, platform: memory, token: '${SHOP_TOKEN}'}]\nprogram:\n  currency: USD\n  earn: {points_per_unit: 2}\n"
	p, err := config.ParseProgram("candidate", []byte(whole), o)
	if err != nil {
		t.Fatalf("a whole configuration's stores are not the program's business: %v", err)
	}
	if p.Earn.PointsPerUnit != loyalty.DecimalFromInt(2) {
		t.Errorf("points per unit %v", p.Earn.PointsPerUnit)
	}
	_, err = config.ParseProgram("candidate", []byte("program:\n  currency: USD\n  name: '${SHOP_TOKEN}'\n"), o)
	want := "candidate:3: program.name: ${SHOP_TOKEN}: environment variables are not read in a program sent to the server; write the value itself"
	if err == nil || err.Error() != want {
		t.Errorf("a reference in the program: %v, want %s", err, want)
	}
	if err != nil && strings.Contains(err.Error(), "secret-value") {
		t.Errorf("the error shows the variable's value: %v", err)
	}
}
