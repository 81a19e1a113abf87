package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// source is what reading a file learned about it: where each key is, and
// which values must not be shown. It is shared, read-only, by the Config and
// its Stores.
type source struct {
	file string
	// lines maps a key path to the line of its key, or of the item for a
	// list item; "" is the document.
	lines map[string]int
	// nodes maps a key path to its value.
	nodes map[string]*yaml.Node
	// env maps the path of a value that refers to the environment to the
	// variables it refers to.
	env map[string][]string
	// secret holds the paths of values that must not be shown: those under
	// a secret key and those that refer to the environment.
	secret map[string]bool
}

func newSource(file string) *source {
	return &source{
		file:   file,
		lines:  make(map[string]int),
		nodes:  make(map[string]*yaml.Node),
		env:    make(map[string][]string),
		secret: make(map[string]bool),
	}
}

// hidden returns what a message shows instead of the value at path, and
// whether the value must be hidden.
func (s *source) hidden(path string) (string, bool) {
	if s == nil {
		return "", false
	}
	if vars := s.env[path]; len(vars) > 0 {
		refs := make([]string, len(vars))
		for i, v := range vars {
			refs[i] = "${" + v + "}"
		}
		return "[from " + strings.Join(refs, ", ") + "]", true
	}
	if s.secret[path] {
		return redacted, true
	}
	return "", false
}

// quote returns v quoted for a message about path, or its stand-in.
func (s *source) quote(path, v string) string {
	if h, ok := s.hidden(path); ok {
		return h
	}
	return quoteShort(v)
}

// plain is quote without the quotes, for durations and numbers.
func (s *source) plain(path, v string) string {
	if h, ok := s.hidden(path); ok {
		return h
	}
	return v
}

// set reports whether the file gives path a non-null value.
func (s *source) set(path string) bool {
	n := s.nodes[path]
	return n != nil && !isNull(n)
}

// lineOf returns the line of path or, if the file does not have it, of the
// nearest enclosing key that it has.
func (s *source) lineOf(path string) int {
	for {
		if l, ok := s.lines[path]; ok {
			return l
		}
		if path == "" {
			return 0
		}
		path = parent(path)
	}
}

// scrub removes every hidden value from msg. It is the last line of defence
// for messages from code that does not know which values are secret.
func (s *source) scrub(msg string) string {
	for path := range s.secret {
		if n := s.nodes[path]; n != nil && n.Kind == yaml.ScalarNode && n.Value != "" {
			msg = strings.ReplaceAll(msg, n.Value, redacted)
		}
	}
	return msg
}

// join returns the path of key inside the mapping at path. A key that is
// not a plain name is quoted, so that a path is always one line.
func join(path, key string) string {
	if !plainKey(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func item(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		if !isNameByte(k[i]) && k[i] != '-' {
			return false
		}
	}
	return true
}

// parent returns the path of the mapping or list that holds path.
func parent(path string) string {
	if strings.HasSuffix(path, "]") {
		if i := strings.LastIndexByte(path, '['); i >= 0 {
			return path[:i]
		}
	}
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// secretKey reports whether values under a key of this name are secret.
func secretKey(key string) bool {
	k := strings.ToLower(key)
	for _, suffix := range []string{"token", "secret", "password", "_key"} {
		if strings.HasSuffix(k, suffix) {
			return true
		}
	}
	return false
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

func nullAt(n *yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: n.Line, Column: n.Column}
}

// maxNodes bounds the number of values once aliases are expanded, so that a
// small file cannot expand into a huge one.
const maxNodes = 1 << 16

// reader reads a document into a plain tree: no aliases, no merge keys, no
// duplicate keys, keys are strings, values have their environment
// references expanded, and every path is in src.
type reader struct {
	checker
	lookup func(string) (string, bool)
	noEnv  bool
	count  int
	active map[*yaml.Node]bool // anchored nodes being copied, to catch an alias inside its own anchor
}

func newReader(file string, o Options) *reader {
	lookup := o.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv // the only place this package reads the environment
	}
	src := newSource(file)
	return &reader{
		checker: checker{src: src, failed: make(map[string]bool)},
		lookup:  lookup,
		noEnv:   o.NoEnv,
		active:  make(map[*yaml.Node]bool),
	}
}

var yamlLine = regexp.MustCompile(`(?s)^yaml: line ([0-9]+): (.*)$`)

// document parses data and returns its top-level mapping, or nil after
// recording why there is none. want says what the file should hold.
func (r *reader) document(data []byte, want string) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			r.add(0, "", "the file is empty: expected "+want)
		} else {
			r.syntax(err, data)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		r.syntax(err, data)
		return nil
	case len(next.Content) > 0 && !isNull(next.Content[0]):
		r.add(next.Line, "", "a second YAML document: the file must hold exactly one (remove the --- line)")
		return nil
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		r.add(0, "", "the file holds no settings: expected "+want)
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		r.add(root.Line, "", "expected "+want+", got "+kindOf(root, ""))
		return nil
	}
	r.src.lines[""] = root.Line
	return root
}

// syntax records a parse error from yaml.v3 at its line. yaml.v3 leaves the
// line out for the first line and for bad characters; we find it.
func (r *reader) syntax(err error, data []byte) {
	msg := err.Error()
	line := 0
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if parserProblem(msg) {
			// yaml.v3 reports parser errors (unlike scanner errors) at
			// the 0-based line of the construct that failed.
			line++
		}
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
		line = guessLine(msg, data)
	}
	if strings.Contains(msg, "cannot start any token") && line > 0 && strings.Contains(lineText(data, line), "\t") {
		msg += " (YAML does not allow tabs for indentation: use spaces)"
	}
	r.add(line, "", "invalid YAML: "+msg)
}

// parserProblem reports whether msg is one of libyaml's parser problems
// (parserc.go), as opposed to its scanner's.
func parserProblem(msg string) bool {
	switch msg {
	case "did not find expected ',' or ']'",
		"did not find expected ',' or '}'",
		"did not find expected '-' indicator",
		"did not find expected <document start>",
		"did not find expected <stream-start>",
		"did not find expected key",
		"did not find expected node content",
		"found duplicate %TAG directive",
		"found duplicate %YAML directive",
		"found incompatible YAML document",
		"found undefined tag handle":
		return true
	}
	return false
}

// guessLine finds the line of an error that yaml.v3 reported without one.
func guessLine(msg string, data []byte) int {
	if name, ok := strings.CutPrefix(msg, "unknown anchor '"); ok {
		name, _, _ = strings.Cut(name, "'")
		if i := bytes.Index(data, []byte("*"+name)); i >= 0 {
			return 1 + bytes.Count(data[:i], []byte("\n"))
		}
	}
	if i := badChar(data); i >= 0 {
		return 1 + bytes.Count(data[:i], []byte("\n"))
	}
	if len(data) > 0 {
		return 1 // a scanner or parser error on the first line
	}
	return 0
}

// badChar returns the offset of the first character YAML does not allow
// (invalid UTF-8, control characters), or -1.
func badChar(data []byte) int {
	for i := 0; i < len(data); {
		c, size := utf8.DecodeRune(data[i:])
		switch {
		case c == utf8.RuneError && size <= 1,
			c < 0x20 && c != '\t' && c != '\n' && c != '\r',
			c >= 0x7F && c < 0xA0 && c != 0x85,
			c >= 0xD800 && c < 0xE000, c == 0xFFFE, c == 0xFFFF:
			return i
		}
		i += size
	}
	return -1
}

func lineText(data []byte, line int) string {
	lines := bytes.Split(data, []byte("\n"))
	if line < 1 || line > len(lines) {
		return ""
	}
	return string(lines[line-1])
}

// normalize returns a copy of n with aliases replaced by copies of their
// targets, merge keys applied, duplicate and non-string keys dropped (and
// reported), and no anchors or comments.
func (r *reader) normalize(n *yaml.Node, path string) *yaml.Node {
	r.count++
	if r.count > maxNodes {
		if r.count == maxNodes+1 {
			r.reject(n.Line, path, fmt.Sprintf("the document is too large: more than %d values once aliases are expanded", maxNodes))
		}
		return nullAt(n)
	}
	switch n.Kind {
	case yaml.AliasNode:
		t := n.Alias
		if t == nil {
			return nullAt(n)
		}
		if r.active[t] {
			r.reject(n.Line, path, "alias *"+n.Value+" is inside the value it refers to")
			return nullAt(n)
		}
		out := r.normalize(t, path)
		out.Line, out.Column = n.Line, n.Column
		return out
	}
	if n.Anchor != "" {
		// An alias below n may refer to n itself.
		r.active[n] = true
		defer delete(r.active, n)
	}
	switch n.Kind {
	case yaml.MappingNode:
		return r.mapping(n, path)
	case yaml.SequenceNode:
		out := &yaml.Node{Kind: n.Kind, Tag: n.Tag, Style: n.Style, Line: n.Line, Column: n.Column}
		out.Content = make([]*yaml.Node, len(n.Content))
		for i, it := range n.Content {
			out.Content[i] = r.normalize(it, item(path, i))
		}
		return out
	default:
		return &yaml.Node{Kind: n.Kind, Tag: n.Tag, Style: n.Style, Value: n.Value, Line: n.Line, Column: n.Column}
	}
}

func (r *reader) mapping(n *yaml.Node, path string) *yaml.Node {
	out := &yaml.Node{Kind: n.Kind, Tag: n.Tag, Style: n.Style, Line: n.Line, Column: n.Column}
	seen := make(map[string]int)
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case k.Kind == yaml.ScalarNode && k.Tag == "!!merge":
			merges = append(merges, v)
			continue
		case k.Kind != yaml.ScalarNode:
			r.add(k.Line, path, "a key must be a plain string, not "+kindOf(k, ""))
			continue
		}
		kp := join(path, k.Value)
		if first, dup := seen[k.Value]; dup {
			r.add(k.Line, kp, fmt.Sprintf("duplicate key (first at line %d)", first))
			continue
		}
		seen[k.Value] = k.Line
		key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k.Value, Line: k.Line, Column: k.Column}
		out.Content = append(out.Content, key, r.normalize(v, kp))
	}
	// Merged keys come after the mapping's own, which win; among merged
	// mappings, the first one listed wins.
	for _, m := range merges {
		m = r.normalize(m, path)
		sources := []*yaml.Node{m}
		if m.Kind == yaml.SequenceNode {
			sources = m.Content
		}
		for _, s := range sources {
			if s.Kind != yaml.MappingNode {
				if !isNull(s) {
					r.reject(s.Line, path, "a merge (<<) needs a mapping or a list of mappings, got "+kindOf(s, ""))
				}
				continue
			}
			for i := 0; i+1 < len(s.Content); i += 2 {
				if _, ok := seen[s.Content[i].Value]; !ok {
					seen[s.Content[i].Value] = s.Content[i].Line
					out.Content = append(out.Content, s.Content[i], s.Content[i+1])
				}
			}
		}
	}
	return out
}

// reject records a mistake in the value at path, so that validation does
// not report what follows from it.
func (r *reader) reject(line int, path, msg string) {
	r.add(line, path, msg)
	r.failed[path] = true
}

// index records the line and value of every path under n, marks secret
// values and expands environment references in scalar values.
func (r *reader) index(n *yaml.Node, path string, secret bool) {
	if secret {
		r.src.secret[path] = true
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			kp := join(path, k.Value)
			r.src.lines[kp], r.src.nodes[kp] = k.Line, v
			r.index(v, kp, secret || secretKey(k.Value))
		}
	case yaml.SequenceNode:
		for i, it := range n.Content {
			ip := item(path, i)
			r.src.lines[ip], r.src.nodes[ip] = it.Line, it
			r.index(it, ip, secret)
		}
	case yaml.ScalarNode:
		if strings.IndexByte(n.Value, '$') >= 0 {
			r.expand(n, path)
		}
	}
}

func (r *reader) expand(n *yaml.Node, path string) {
	lookup := r.lookup
	if r.noEnv {
		lookup = func(string) (string, bool) { return "", false }
	}
	x := expand(n.Value, lookup)
	if r.noEnv && len(x.vars) > 0 {
		r.add(n.Line, path, "${"+x.vars[0]+"}: environment variables are not read in a program sent to the server; write the value itself")
		r.fail(n, path)
		return
	}
	if len(x.vars) > 0 {
		r.src.env[path] = x.vars
		r.src.secret[path] = true
	}
	for _, msg := range x.errs {
		r.add(n.Line, path, msg)
	}
	if len(x.errs) > 0 {
		r.fail(n, path)
		return
	}
	// The node keeps its tag: !!str, since no other type's plain form has
	// a $ in it, unless the file gave one. So whatever it looks like, an
	// expanded value is a string; check reads it as a number or boolean
	// where the setting is one.
	n.Value = x.value
}

// kindOf describes n for "expected X, got Y" messages; shown, if not empty,
// is what to say for a scalar (its quoted value, or a stand-in for a hidden
// one).
func kindOf(n *yaml.Node, shown string) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if isNull(n) {
		return "nothing"
	}
	if shown != "" {
		return shown
	}
	return "a single value"
}
