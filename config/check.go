package config

import (
	"encoding"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/loyaltyd/loyaltyd/loyalty"
)

// checker walks a plain tree (see reader) against the Go type it will be
// decoded into, reporting unknown keys and values of the wrong type, and
// replacing each wrong value by null so that the rest can still be decoded
// and validated.
type checker struct {
	src *source
	// open is a struct type whose unknown keys are accepted: the store,
	// whose other keys belong to the platform. They are moved from the
	// mapping to platform, by path.
	open     reflect.Type
	platform map[string]*yaml.Node
	errs     Errors
	failed   map[string]bool // paths already reported: validation skips them
}

func (c *checker) add(line int, path, msg string) {
	c.errs = append(c.errs, &Error{File: c.src.file, Line: line, Path: path, Msg: msg})
}

// fail records that the value at path is wrong and nulls it.
func (c *checker) fail(n *yaml.Node, path string) {
	c.failed[path] = true
	*n = *nullAt(n)
}

// invalid records a validation error, unless path or a key above it was
// already reported.
func (c *checker) invalid(path, format string, args ...any) {
	for q := path; ; q = parent(q) {
		if c.failed[q] {
			return
		}
		if q == "" {
			break
		}
	}
	c.add(c.src.lineOf(path), path, fmt.Sprintf(format, args...))
}

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	yamlUnmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	// yaml.v3 also honours the yaml.v2 form of the interface.
	obsoleteUnmarshalerType = reflect.TypeFor[interface {
		UnmarshalYAML(func(any) error) error
	}]()
	durationType = reflect.TypeFor[Duration]()
	dateType     = reflect.TypeFor[Date]()
	decimalType  = reflect.TypeFor[loyalty.Decimal]()
)

// check reports what is wrong with n as a t at path, and returns false if n
// itself is wrong, for the caller to null it. Wrong values below n are
// nulled here.
func (c *checker) check(n *yaml.Node, t reflect.Type, path string) bool {
	if isNull(n) {
		return true
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	pt := reflect.PointerTo(t)
	switch {
	case pt.Implements(yamlUnmarshalerType) || pt.Implements(obsoleteUnmarshalerType):
		return c.leaf(n, t, path)
	case pt.Implements(textUnmarshalerType):
		if n.Kind != yaml.ScalarNode {
			return c.wrongKind(n, t, path)
		}
		return c.leaf(n, t, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return c.wrongKind(n, t, path)
		}
		c.mapping(n, t, path, nil)
		return true
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return c.wrongKind(n, t, path)
		}
		kt := t.Key()
		kept := n.Content[:0:0]
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			kp := join(path, k.Value)
			if kt.Kind() != reflect.String {
				// Keys were made strings; read this one as the file
				// would for a key that is not.
				probe := yaml.Node{Kind: yaml.ScalarNode, Value: k.Value}
				k.Tag = probe.ShortTag()
				if !c.check(k, kt, kp) {
					continue
				}
			}
			if !c.check(v, t.Elem(), kp) {
				c.fail(v, kp)
			}
			kept = append(kept, k, v)
		}
		n.Content = kept
		return true
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return c.wrongKind(n, t, path)
		}
		if t.Kind() == reflect.Array && len(n.Content) != t.Len() {
			c.add(n.Line, path, fmt.Sprintf("expected a list of %d, got %d", t.Len(), len(n.Content)))
			return false
		}
		for i, it := range n.Content {
			ip := item(path, i)
			if !c.check(it, t.Elem(), ip) {
				c.fail(it, ip)
			}
		}
		return true
	case reflect.Interface:
		if t.NumMethod() != 0 {
			return c.leaf(n, t, path)
		}
		// Anything goes, but each scalar must decode, and is reported
		// at its own path (which may be a secret one).
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				kp := join(path, n.Content[i].Value)
				if !c.check(n.Content[i+1], t, kp) {
					c.fail(n.Content[i+1], kp)
				}
			}
			return true
		case yaml.SequenceNode:
			for i, it := range n.Content {
				if !c.check(it, t, item(path, i)) {
					c.fail(it, item(path, i))
				}
			}
			return true
		}
		return c.leaf(n, t, path)
	case reflect.Bool, reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		if n.Kind != yaml.ScalarNode {
			return c.wrongKind(n, t, path)
		}
		return c.scalar(n, t, path)
	}
	return c.leaf(n, t, path)
}

// mapping checks the keys of a mapping decoded into the struct t, and
// leaves in it only the keys t declares: unknown keys are reported, and the
// keys of the open type are moved to c.platform. known are further keys to
// list as known (the store's own, when decoding its platform keys).
func (c *checker) mapping(n *yaml.Node, t reflect.Type, path string, known []string) {
	fs := fieldsOf(t)
	kept := n.Content[:0:0]
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		kp := join(path, k.Value)
		ft, ok := fs.types[k.Value]
		switch {
		case ok:
		case fs.rest != nil:
			ft = fs.rest
		case t == c.open:
			p := c.platform[path]
			if p == nil {
				p = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
				c.platform[path] = p
			}
			p.Content = append(p.Content, k, v)
			continue
		default:
			names := append(append([]string(nil), fs.keys...), known...)
			sort.Strings(names)
			c.add(k.Line, kp, "unknown key (known: "+listOrNone(names)+")")
			continue
		}
		if !c.check(v, ft, kp) {
			c.fail(v, kp)
		}
		kept = append(kept, k, v)
	}
	// yaml.v3 compares every pair of keys of a mapping it decodes: handing
	// it only the keys that matter keeps a huge mapping from taking long.
	n.Content = kept
}

func listOrNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// scalar checks a scalar for a basic kind. yaml.v3 is lax here (it stores
// 1.5 in an int as 1); a configuration should not be.
func (c *checker) scalar(n *yaml.Node, t reflect.Type, path string) bool {
	want := ""
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		want = "!!int"
	case reflect.Float32, reflect.Float64:
		want = "!!float"
	case reflect.Bool:
		want = "!!bool"
	}
	if want != "" && len(c.src.env[path]) > 0 && n.Style&yaml.TaggedStyle == 0 {
		// An expanded value is a string; where a number or boolean is
		// wanted, read it as the file would have.
		probe := yaml.Node{Kind: yaml.ScalarNode, Value: n.Value}
		n.Tag = probe.ShortTag()
	}
	switch tag := n.ShortTag(); {
	case want == "!!int" && tag != "!!int",
		want == "!!float" && tag != "!!float" && tag != "!!int":
		c.add(n.Line, path, "expected "+describe(t)+", got "+kindOf(n, c.src.quote(path, n.Value)))
		return false
	}
	return c.leaf(n, t, path)
}

// leaf checks n by decoding it on its own.
func (c *checker) leaf(n *yaml.Node, t reflect.Type, path string) bool {
	err := n.Decode(reflect.New(t).Interface())
	if err == nil {
		return true
	}
	var msg string
	var te *yaml.TypeError
	switch h, hidden := c.src.hidden(path); {
	case hidden && t == durationType:
		msg = durationError(h)
	case hidden && t == dateType:
		msg = dateError(h)
	case hidden:
		// The error may quote the value, perhaps reformatted: say less.
		msg = "expected " + describe(t) + ", got " + kindOf(n, h)
	case errors.As(err, &te):
		msg = "expected " + describe(t) + ", got " + kindOf(n, quoteShort(n.Value))
	default:
		msg = strings.TrimPrefix(err.Error(), "yaml: ")
	}
	c.add(n.Line, path, msg)
	return false
}

func (c *checker) wrongKind(n *yaml.Node, t reflect.Type, path string) bool {
	c.add(n.Line, path, "expected "+describe(t)+", got "+kindOf(n, c.src.quote(path, n.Value)))
	return false
}

// describe names what a value of t looks like, with an article.
func describe(t reflect.Type) string {
	switch t {
	case durationType:
		return "a duration such as 30s, 5m, 1h or 7d"
	case dateType:
		return "a date such as 2025-01-01"
	case decimalType:
		return "a decimal number"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		if !reflect.PointerTo(t).Implements(textUnmarshalerType) {
			return "a mapping"
		}
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "a whole number"
	case reflect.Int8, reflect.Int16, reflect.Int32:
		bits := t.Bits()
		return fmt.Sprintf("a whole number from %d to %d", -(int64(1) << (bits - 1)), int64(1)<<(bits-1)-1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if t.Bits() < 64 {
			return fmt.Sprintf("a whole number from 0 to %d", uint64(1)<<t.Bits()-1)
		}
		return "a whole number, 0 or more"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Interface:
		return "a valid value"
	}
	return "a single value"
}

// fields is what a struct accepts as keys.
type fields struct {
	types map[string]reflect.Type
	keys  []string     // sorted
	rest  reflect.Type // the value type of an ",inline" map, which takes any other key
}

// fieldsOf reads a struct's keys the way yaml.v3 does: the yaml tag's name
// or the lower-cased field name, "-" skipped, ",inline" structs and maps
// flattened.
func fieldsOf(t reflect.Type) fields {
	fs := fields{types: make(map[string]reflect.Type)}
	fs.collect(t, 0)
	sort.Strings(fs.keys)
	return fs
}

func (fs *fields) collect(t reflect.Type, depth int) {
	for i := range t.NumField() {
		f := t.Field(i)
		if f.PkgPath != "" && !f.Anonymous {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if hasOption(opts, "inline") && depth < 8 {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			switch ft.Kind() {
			case reflect.Map:
				fs.rest = ft.Elem()
				continue
			case reflect.Struct:
				fs.collect(ft, depth+1)
				continue
			}
		}
		if f.PkgPath != "" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		if _, dup := fs.types[name]; !dup {
			fs.keys = append(fs.keys, name)
		}
		fs.types[name] = f.Type
	}
}

func hasOption(opts, want string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}
