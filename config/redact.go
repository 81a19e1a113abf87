package config

import (
	"bytes"

	"gopkg.in/yaml.v3"
)

// Redacted returns the effective configuration (defaults applied, the
// database path resolved, each store's platform keys after its own) as YAML,
// with every secret replaced by "[redacted]": the values of keys named
// admin_token or ending in token, secret, password or _key, and every value
// that refers to the environment. It is what `check-config --print` shows.
func (c *Config) Redacted() string {
	var root yaml.Node
	if err := root.Encode(c); err != nil {
		return "# cannot print the configuration: " + err.Error() + "\n"
	}
	c.src.redact(&root, "", false)
	if stores := valueOf(&root, "stores"); stores != nil && stores.Kind == yaml.SequenceNode {
		for i := range c.Stores {
			s := &c.Stores[i]
			if i >= len(stores.Content) || s.platform == nil {
				continue
			}
			out := stores.Content[i]
			for j := 0; j+1 < len(s.platform.Content); j += 2 {
				k, v := s.platform.Content[j].Value, clone(s.platform.Content[j+1])
				c.src.redact(v, join(s.path, k), secretKey(k))
				out.Content = append(out.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, v)
			}
		}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&root); err != nil {
		return "# cannot print the configuration: " + err.Error() + "\n"
	}
	if err := enc.Close(); err != nil {
		return "# cannot print the configuration: " + err.Error() + "\n"
	}
	return b.String()
}

// redact replaces, in place, every non-empty scalar under n that must not be
// shown, and prints mappings and lists in block style. secret says that n is
// under a secret key.
func (s *source) redact(n *yaml.Node, path string, secret bool) {
	n.Style &^= yaml.FlowStyle
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			s.redact(n.Content[i+1], join(path, k), secret || secretKey(k))
		}
	case yaml.SequenceNode:
		for i, it := range n.Content {
			s.redact(it, item(path, i), secret)
		}
	case yaml.ScalarNode:
		if _, hidden := s.hidden(path); (secret || hidden) && n.Value != "" {
			*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: redacted}
		}
	}
}

// valueOf returns the value of key in the mapping n, or nil.
func valueOf(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
