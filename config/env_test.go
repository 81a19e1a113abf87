package config

import (
	"reflect"
	"testing"
)

func TestExpand(t *testing.T) {
	t.Parallel()
	vars := map[string]string{
		"A":       "alpha",
		"EMPTY":   "",
		"SPECIAL": `a: b # c ${A} $$ "q" 'q' [x] {y} \n` + "\n\ttab",
		"_x1":     "underscore",
	}
	lookup := func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
	unset := func(name string) string {
		return "environment variable " + name + " is not set (set it, or give a default: ${" + name + ":-default})"
	}
	const stray = "a $ must start ${NAME} or ${NAME:-default}; write $$ for a literal $"
	tests := []struct {
		in   string
		want expansion
	}{
		{"plain", expansion{value: "plain"}},
		{"${A}", expansion{value: "alpha", vars: []string{"A"}}},
		{"pre-${A}-post", expansion{value: "pre-alpha-post", vars: []string{"A"}}},
		{"${A}${A}", expansion{value: "alphaalpha", vars: []string{"A"}}},
		{"${_x1}", expansion{value: "underscore", vars: []string{"_x1"}}},
		{"${EMPTY}", expansion{value: "", vars: []string{"EMPTY"}}},
		{"${SPECIAL}", expansion{value: vars["SPECIAL"], vars: []string{"SPECIAL"}}},
		{"${NOPE}", expansion{value: "", vars: []string{"NOPE"}, errs: []string{unset("NOPE")}}},
		{"${NOPE}/${NADA}", expansion{value: "/", vars: []string{"NOPE", "NADA"}, errs: []string{unset("NOPE"), unset("NADA")}}},
		{"${NOPE:-fallback}", expansion{value: "fallback", vars: []string{"NOPE"}}},
		{"${EMPTY:-fallback}", expansion{value: "fallback", vars: []string{"EMPTY"}}},
		{"${A:-fallback}", expansion{value: "alpha", vars: []string{"A"}}},
		{"${NOPE:-}", expansion{value: "", vars: []string{"NOPE"}}},
		{"${NOPE:-a:b-c $$ d}", expansion{value: "a:b-c $ d", vars: []string{"NOPE"}}},
		{"${NOPE:-${A}}", expansion{value: "alpha", vars: []string{"NOPE", "A"}}},
		{"${NOPE:-${NADA:-deep}}", expansion{value: "deep", vars: []string{"NOPE", "NADA"}}},
		{"${A:-${NADA}}", expansion{value: "alpha", vars: []string{"A", "NADA"}}},
		{"${NOPE:-${NADA}}", expansion{value: "", vars: []string{"NOPE", "NADA"}, errs: []string{unset("NADA")}}},
		{"$$", expansion{value: "$"}},
		{"$${A}", expansion{value: "${A}"}},
		{"pa$$$$word", expansion{value: "pa$$word"}},
		{"a$b", expansion{value: "a$b", errs: []string{stray}}},
		{"trailing$", expansion{value: "trailing$", errs: []string{stray}}},
		{"$A", expansion{value: "$A", errs: []string{stray}}},
		{"${", expansion{errs: []string{"${ must be followed by a variable name (letters, digits and _, not starting with a digit)"}}},
		{"${}x", expansion{value: "x", errs: []string{"${ must be followed by a variable name (letters, digits and _, not starting with a digit)"}}},
		{"${1A}x", expansion{value: "x", errs: []string{"${ must be followed by a variable name (letters, digits and _, not starting with a digit)"}}},
		{"${A", expansion{vars: []string{"A"}, errs: []string{"${A is missing its closing }"}}},
		{"${A:-x", expansion{vars: []string{"A"}, errs: []string{"${A is missing its closing }"}}},
		{"${A:?x}y", expansion{value: "y", vars: []string{"A"}, errs: []string{"unsupported form of ${A…}: only ${A} and ${A:-default} are supported"}}},
		{"${A-x}", expansion{vars: []string{"A"}, errs: []string{"unsupported form of ${A…}: only ${A} and ${A:-default} are supported"}}},
	}
	for _, tt := range tests {
		got := expand(tt.in, lookup)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("expand(%q) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}
