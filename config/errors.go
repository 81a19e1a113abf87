package config

import (
	"sort"
	"strconv"
	"strings"
)

// Error is one mistake in a configuration file.
type Error struct {
	// File is the file's name as given to Load or Parse.
	File string
	// Line is the 1-based line of the key or value at fault, or of the
	// mapping a required key is missing from; 0 when the mistake concerns
	// the file as a whole.
	Line int
	// Path is the key path, such as "stores[1].platform"; empty when the
	// mistake concerns the document as a whole.
	Path string
	// Msg says what is wrong. It never contains a secret value.
	Msg string
}

// Error formats e as "file:line: path: msg", leaving out the line and the
// path when they are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every mistake found in a file, sorted by line. Parse, Load,
// LoadProgram and Store.Decode return it as their error.
type Errors []*Error

// Error lists the errors one per line.
func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap returns the errors, so that errors.As finds an *Error.
func (es Errors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

// sorted returns es ordered by line (keeping the order of discovery within a
// line) without exact repeats, which aliases can cause, or nil if es is
// empty.
func (es Errors) sorted() error {
	if len(es) == 0 {
		return nil
	}
	type key struct {
		line      int
		path, msg string
	}
	seen := make(map[key]bool, len(es))
	out := make(Errors, 0, len(es))
	for _, e := range es {
		k := key{e.Line, e.Path, e.Msg}
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Line < out[j].Line })
	return out
}
