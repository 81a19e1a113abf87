package config

import (
	"slices"
	"strings"
)

// expansion is one scalar value with its environment references expanded.
type expansion struct {
	value string
	// vars are the variables the value refers to, in order of appearance,
	// without repeats, including those whose default was used.
	vars []string
	// errs say what is wrong; they name variables but never values.
	errs []string
}

// expand replaces ${NAME}, ${NAME:-default} and $$ in s. A default may
// itself contain references; they are looked up only when it is used.
func expand(s string, lookup func(string) (string, bool)) expansion {
	e := expander{s: s, lookup: lookup}
	v := e.text(false)
	return expansion{value: v, vars: e.vars, errs: append(e.errs, e.unset...)}
}

type expander struct {
	s      string
	i      int
	lookup func(string) (string, bool)
	vars   []string
	errs   []string // syntax mistakes: always reported
	unset  []string // unset variables: not reported from an unused default
}

// text expands up to the end of s or, when nested, up to the } that closes
// a default (which it leaves for the caller).
func (e *expander) text(nested bool) string {
	var b strings.Builder
	for e.i < len(e.s) {
		c := e.s[e.i]
		switch {
		case nested && c == '}':
			return b.String()
		case c != '$':
			b.WriteByte(c)
			e.i++
		case strings.HasPrefix(e.s[e.i:], "$$"):
			b.WriteByte('$')
			e.i += 2
		case strings.HasPrefix(e.s[e.i:], "${"):
			e.i += 2
			b.WriteString(e.reference())
		default:
			e.errs = append(e.errs, "a $ must start ${NAME} or ${NAME:-default}; write $$ for a literal $")
			b.WriteByte('$')
			e.i++
		}
	}
	return b.String()
}

// reference expands one reference, just after its "${".
func (e *expander) reference() string {
	start := e.i
	for e.i < len(e.s) && isNameByte(e.s[e.i]) {
		e.i++
	}
	name := e.s[start:e.i]
	if name == "" || (name[0] >= '0' && name[0] <= '9') {
		e.errs = append(e.errs, "${ must be followed by a variable name (letters, digits and _, not starting with a digit)")
		e.skip()
		return ""
	}
	if !slices.Contains(e.vars, name) {
		e.vars = append(e.vars, name)
	}
	unterminated := "${" + name + " is missing its closing }"
	if e.i == len(e.s) {
		e.errs = append(e.errs, unterminated)
		return ""
	}
	switch {
	case e.s[e.i] == '}':
		e.i++
		v, ok := e.lookup(name)
		if !ok {
			e.unset = append(e.unset, "environment variable "+name+" is not set (set it, or give a default: ${"+name+":-default})")
		}
		return v
	case strings.HasPrefix(e.s[e.i:], ":-"):
		e.i += 2
		before := len(e.unset)
		def := e.text(true)
		if e.i == len(e.s) {
			e.errs = append(e.errs, unterminated)
			return ""
		}
		e.i++ // the closing }
		if v, ok := e.lookup(name); ok && v != "" {
			e.unset = e.unset[:before]
			return v
		}
		return def
	default:
		e.errs = append(e.errs, "unsupported form of ${"+name+"…}: only ${"+name+"} and ${"+name+":-default} are supported")
		e.skip()
		return ""
	}
}

// skip moves past the next }, or to the end.
func (e *expander) skip() {
	if j := strings.IndexByte(e.s[e.i:], '}'); j >= 0 {
		e.i += j + 1
	} else {
		e.i = len(e.s)
	}
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
