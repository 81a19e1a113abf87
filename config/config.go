package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/loyaltyd/loyaltyd/loyalty"
)

// Defaults and limits of the settings, as documented on the fields.
const (
	defaultDatabase          = "loyaltyd.db"
	defaultListen            = "127.0.0.1:8380"
	defaultLogLevel          = "info"
	defaultLogFormat         = "auto"
	defaultPollInterval      = 5 * time.Minute
	defaultOverlap           = 10 * time.Minute
	defaultReconcileInterval = 24 * time.Hour

	minPollInterval      = 10 * time.Second
	minOverlap           = time.Minute
	maxOverlap           = 72 * time.Hour
	minReconcileInterval = time.Minute
)

var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"auto", "text", "json"}
)

// Options says what Load, Parse and LoadProgram may rely on besides the file.
type Options struct {
	// Platforms are the platform names a store may name (usually
	// connectors.Platforms()). Any other name is an error that lists them.
	Platforms []string
	// LookupEnv looks up environment variables for ${NAME} references;
	// nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
	// NoEnv refuses ${NAME} references instead of expanding them: a
	// program that arrives over HTTP must not read the server's
	// environment, where the platforms' tokens are.
	NoEnv bool
}

// Config is loyaltyd's configuration, with defaults applied and validated.
type Config struct {
	// File is the file it was read from, as given to Load or Parse.
	File string `yaml:"-"`
	// Database is the SQLite file, default "loyaltyd.db". A relative path
	// is resolved against the configuration file's folder; ":memory:" and
	// "file:" URIs are kept as they are.
	Database string `yaml:"database"`
	// Listen is the host:port of the HTTP server (admin API, dashboard,
	// webhooks), default "127.0.0.1:8380".
	Listen string `yaml:"listen"`
	// AdminToken authorizes the staff API.
	AdminToken Secret `yaml:"admin_token"`
	// Log says how the daemon logs.
	Log Log `yaml:"log"`
	// Stores are the shops the program runs for.
	Stores []Store `yaml:"stores"`
	// Program is the loyalty program, with its defaults set and validated.
	Program loyalty.Program `yaml:"program"`
	// PublicURL is the address customers reach loyaltyd at (through a
	// proxy), for the balance links written to their records and e-mails.
	PublicURL string `yaml:"public_url"`
	// LinkSecret signs customers' balance links (/me/{token}); without it
	// no link is made.
	LinkSecret Secret `yaml:"link_secret"`
	// Notify are endpoints that receive the program's events.
	Notify []Notify `yaml:"notify"`
	// Dashboard says how the staff dashboard is shown.
	Dashboard Dashboard `yaml:"dashboard"`

	src *source
}

// Dashboard says how the staff dashboard is shown.
type Dashboard struct {
	// Language is one of DashboardLanguages, default en: the pages'
	// language when the browser accepts none of them.
	Language string `yaml:"language"`
}

// DashboardLanguages are the languages the dashboard speaks: English,
// Estonian, Hebrew and Arabic.
var DashboardLanguages = []string{"en", "et", "he", "ar"}

// Notify is an endpoint that receives the program's events (tier_changed,
// reward_issued, points_expiring, referral_rewarded) as signed JSON, so
// that a store's e-mail tool can act on them.
type Notify struct {
	// URL receives POSTs.
	URL string `yaml:"url"`
	// Secret signs each body (HMAC-SHA256, in X-Loyaltyd-Signature).
	Secret Secret `yaml:"secret"`
	// Events are the events sent; empty means all.
	Events []string `yaml:"events"`
}

// NotifyEvents are the events a notify endpoint can receive.
var NotifyEvents = []string{"tier_changed", "reward_issued", "points_expiring", "referral_rewarded"}

// Log says how the daemon logs.
type Log struct {
	// Level is debug, info, warn or error; default info.
	Level string `yaml:"level"`
	// Format is auto (text on a terminal, JSON otherwise), text or json;
	// default auto.
	Format string `yaml:"format"`
}

// Store is one shop on one platform. Its keys other than those below are the
// platform's own settings, which the platform's connector reads with Decode.
type Store struct {
	// ID names the store in loyaltyd: 1 to 63 lowercase letters, digits,
	// "-" and "_", starting with a letter or digit; unique.
	ID string `yaml:"id"`
	// Platform is the connector's name, one of Options.Platforms.
	Platform string `yaml:"platform"`
	// PollInterval is the time between incremental polls, default 5m,
	// at least 10s.
	PollInterval Duration `yaml:"poll_interval"`
	// Overlap is how far each poll re-reads behind its cursor, default
	// 10m, from 1m to 72h: platforms stamp some changes with a time a little
	// before they become readable, and a pass that does not look back
	// would step over them until the next reconciliation.
	Overlap Duration `yaml:"overlap"`
	// ReconcileInterval is the time between reconciliation passes,
	// default 24h, at least 1m.
	ReconcileInterval Duration `yaml:"reconcile_interval"`
	// BackfillFrom, if set, is how far back the first sync reads orders.
	BackfillFrom Date `yaml:"backfill_from,omitempty"`
	// WebhookURL, if set, is the public URL the platform delivers webhooks
	// to: an absolute https URL, or http for a loopback host.
	WebhookURL string `yaml:"webhook_url,omitempty"`

	src      *source
	path     string     // "stores[1]"
	platform *yaml.Node // a mapping of the platform keys, or nil
}

var (
	configType  = reflect.TypeFor[Config]()
	storeType   = reflect.TypeFor[Store]()
	programType = reflect.TypeFor[loyalty.Program]()
	storeKeys   = fieldsOf(storeType).keys
	storeIDRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
)

const (
	wantConfig  = "a mapping of settings (stores:, program:, …)"
	wantProgram = "a program block (currency:, earn:, …) or a whole configuration with a program: key"
)

// Load reads and checks the configuration file at path. A missing file is an
// error, wrapping fs.ErrNotExist, that says how to create one; mistakes in
// the file are returned as Errors.
func Load(path string, o Options) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, readError(err, "config file "+path+" does not exist: create it (a minimal one is a program: block with a currency, and a stores: list; the README has a complete example), or name another file with -c FILE or LOYALTYD_CONFIG")
	}
	return Parse(path, data, o)
}

// LoadProgram reads a candidate program for `loyaltyd simulate`: either a
// whole configuration, of which only the program: block is read (and the
// names of the other top-level keys checked), or a bare program block at the
// top level. Defaults are set and the program is validated; mistakes are
// returned as Errors, with key paths as they are in the file.
func LoadProgram(path string, o Options) (*loyalty.Program, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, readError(err, "program file "+path+" does not exist")
	}
	return parseProgram(path, data, o)
}

// ParseProgram is LoadProgram for a program already in memory (uploaded
// through the admin API, written in a test); name is used in positions.
func ParseProgram(name string, data []byte, o Options) (*loyalty.Program, error) {
	return parseProgram(name, data, o)
}

// readError explains an error reading a file, with notFound as the message
// when the file does not exist.
func readError(err error, notFound string) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &notFoundError{msg: notFound, err: err}
	}
	return fmt.Errorf("config: %w", err)
}

// notFoundError is a missing file, with advice; it wraps the error from os.
type notFoundError struct {
	msg string
	err error
}

func (e *notFoundError) Error() string { return e.msg }
func (e *notFoundError) Unwrap() error { return e.err }

// Parse reads and checks a configuration from data. name is the file's name
// for error positions, and its folder is where a relative database path
// starts. Every mistake found is returned at once, as Errors.
func Parse(name string, data []byte, o Options) (*Config, error) {
	r := newReader(name, o)
	r.open, r.platform = storeType, make(map[string]*yaml.Node)
	root := r.document(data, wantConfig)
	if root == nil {
		return nil, r.errs.sorted()
	}
	root = r.normalize(root, "")
	r.index(root, "", false)
	r.check(root, configType, "")
	var c Config
	if err := root.Decode(&c); err != nil {
		// check should have caught everything yaml.v3 rejects.
		r.add(0, "", "cannot decode: "+r.src.scrub(strings.TrimPrefix(err.Error(), "yaml: ")))
		return nil, r.errs.sorted()
	}
	c.File, c.src = name, r.src
	r.finish(&c, o)
	if err := r.errs.sorted(); err != nil {
		return nil, err
	}
	return &c, nil
}

// finish sets defaults and validates what the types alone do not.
func (r *reader) finish(c *Config, o Options) {
	src := r.src
	if c.Database == "" {
		c.Database = defaultDatabase
	}
	if c.Database != ":memory:" && !strings.HasPrefix(c.Database, "file:") && !filepath.IsAbs(c.Database) {
		c.Database = filepath.Join(filepath.Dir(src.file), c.Database)
	}
	if c.Listen == "" {
		c.Listen = defaultListen
	} else if !hostPort(c.Listen) {
		r.invalid("listen", "must be host:port, such as %s; got %s", defaultListen, src.quote("listen", c.Listen))
	}
	if c.Log.Level == "" {
		c.Log.Level = defaultLogLevel
	} else if !slices.Contains(logLevels, c.Log.Level) {
		r.invalid("log.level", "unknown level %s (known: %s)", src.quote("log.level", c.Log.Level), strings.Join(logLevels, ", "))
	}
	if c.Log.Format == "" {
		c.Log.Format = defaultLogFormat
	} else if !slices.Contains(logFormats, c.Log.Format) {
		r.invalid("log.format", "unknown format %s (known: %s)", src.quote("log.format", c.Log.Format), strings.Join(logFormats, ", "))
	}

	if c.Dashboard.Language == "" {
		c.Dashboard.Language = "en"
	} else if !slices.Contains(DashboardLanguages, c.Dashboard.Language) {
		r.invalid("dashboard.language", "unknown language %s (known: %s)", src.quote("dashboard.language", c.Dashboard.Language), strings.Join(DashboardLanguages, ", "))
	}

	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			r.invalid("public_url", "must be an absolute http or https address, got %s", src.quote("public_url", c.PublicURL))
		}
	}
	if n := len(c.LinkSecret.Reveal()); n > 0 && n < 16 {
		r.invalid("link_secret", "must be at least 16 characters (it signs customers' links)")
	}
	for i, n := range c.Notify {
		path := item("notify", i)
		if u, err := url.Parse(n.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			r.invalid(path+".url", "must be an absolute http or https address, got %s", src.quote(path+".url", n.URL))
		}
		if n.Secret.Reveal() == "" {
			r.invalid(path+".secret", "required: it signs every event so the receiver can trust it")
		}
		for j, ev := range n.Events {
			if !slices.Contains(NotifyEvents, ev) {
				r.invalid(fmt.Sprintf("%s.events[%d]", path, j), "unknown event %q (known: %s)", ev, strings.Join(NotifyEvents, ", "))
			}
		}
	}

	platforms := slices.Sorted(slices.Values(o.Platforms))
	ids := make(map[string]int)
	for i := range c.Stores {
		s := &c.Stores[i]
		s.src, s.path = src, item("stores", i)
		s.platform = r.platform[s.path]
		r.store(s, ids, platforms)
		if _, dup := ids[s.ID]; !dup {
			ids[s.ID] = i
		}
	}

	before := c.Program
	c.Program.SetDefaults()
	r.defaulted(reflect.ValueOf(before), reflect.ValueOf(c.Program), "program")
	r.program(c.Program.Validate(), "program")
}

func (r *reader) store(s *Store, ids map[string]int, platforms []string) {
	src, p := r.src, s.path
	at := func(key string) string { return join(p, key) }

	switch first, dup := ids[s.ID]; {
	case s.ID == "":
		r.invalid(at("id"), "required: the store's name in loyaltyd, such as acme")
	case !storeIDRE.MatchString(s.ID):
		r.invalid(at("id"), "invalid store id %s: use 1 to 63 lowercase letters, digits, - and _, starting with a letter or digit", src.quote(at("id"), s.ID))
	case dup:
		fp := item("stores", first)
		r.invalid(at("id"), "duplicate store id %s (also %s, line %d)", src.quote(at("id"), s.ID), fp, src.lineOf(join(fp, "id")))
	}

	switch {
	case s.Platform == "":
		r.invalid(at("platform"), "required (known: %s)", listOrNone(platforms))
	case !slices.Contains(platforms, s.Platform):
		r.invalid(at("platform"), "unknown platform %s (known: %s)", src.quote(at("platform"), s.Platform), listOrNone(platforms))
	}

	// A duration the file leaves out (or null) takes its default; one it
	// gives, even 0s, must be in range.
	given := func(key string, d *Duration, def time.Duration) bool {
		if !src.set(at(key)) {
			d.Duration = def
			return false
		}
		return true
	}
	shown := func(key string, d Duration) string { return src.plain(at(key), formatDuration(d.Duration)) }
	if given("poll_interval", &s.PollInterval, defaultPollInterval) && s.PollInterval.Duration < minPollInterval {
		r.invalid(at("poll_interval"), "must be at least %s, got %s", formatDuration(minPollInterval), shown("poll_interval", s.PollInterval))
	}
	if given("overlap", &s.Overlap, defaultOverlap) && (s.Overlap.Duration < minOverlap || s.Overlap.Duration > maxOverlap) {
		r.invalid(at("overlap"), "must be from %s to %s (changes the platform stamps late are re-read within it), got %s",
			formatDuration(minOverlap), formatDuration(maxOverlap), shown("overlap", s.Overlap))
	}
	if given("reconcile_interval", &s.ReconcileInterval, defaultReconcileInterval) && s.ReconcileInterval.Duration < minReconcileInterval {
		r.invalid(at("reconcile_interval"), "must be at least %s, got %s", formatDuration(minReconcileInterval), shown("reconcile_interval", s.ReconcileInterval))
	}

	if s.WebhookURL != "" {
		if problem := webhookURLProblem(s.WebhookURL); problem != "" {
			r.invalid(at("webhook_url"), "%s; got %s", problem, src.quote(at("webhook_url"), s.WebhookURL))
		}
	}
}

// defaulted reports keys that the file sets to a zero value which
// SetDefaults then replaced: "points_per_unit: 0" must not quietly mean 1.
func (r *reader) defaulted(before, after reflect.Value, path string) {
	t := before.Type()
	if t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(textUnmarshalerType) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "-" || f.Anonymous {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			r.defaulted(before.Field(i), after.Field(i), join(path, name))
		}
		return
	}
	if !before.IsZero() || after.IsZero() || !r.src.set(path) {
		return
	}
	if h, hidden := r.src.hidden(path); hidden {
		r.invalid(path, "invalid value %s (leave the key out for the default)", h)
		return
	}
	zero, def := "0", fmt.Sprint(after.Interface())
	if t.Kind() == reflect.String {
		zero, def = "empty", strconv.Quote(def)
	}
	r.invalid(path, "must not be %s (leave the key out for the default, %s)", zero, def)
}

// program records the program's validation errors at their lines.
func (r *reader) program(err error, prefix string) {
	var fes loyalty.FieldErrors
	if !errors.As(err, &fes) {
		if err != nil {
			r.invalid(prefix, "%s", r.src.scrub(err.Error()))
		}
		return
	}
	for _, fe := range fes {
		// loyalty's paths are written as config paths already
		// ("tiers.levels[2].name"): put them under the prefix as they are.
		path := fe.Path
		if prefix != "" {
			path = prefix + "." + fe.Path
		}
		msg := fe.Msg
		if h, hidden := r.src.hidden(path); hidden && r.src.nodes[path] != nil && r.src.nodes[path].Value != "" {
			// The message may repeat the value, perhaps reformatted.
			msg = "invalid value " + h
		}
		r.invalid(path, "%s", msg)
	}
}

func hostPort(s string) bool {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return false
	}
	_, err = strconv.ParseUint(port, 10, 16)
	return err == nil
}

// webhookURLProblem says what is wrong with a webhook URL, or "".
func webhookURLProblem(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || !u.IsAbs() || u.Opaque != "" || u.Host == "":
		return "must be an absolute URL such as https://loyalty.example.com/webhooks"
	case u.User != nil:
		return "must not contain a user name or password"
	case u.Scheme == "https":
		return ""
	case u.Scheme == "http" && loopback(u.Hostname()):
		return ""
	case u.Scheme == "http":
		return "must use https (plain http only for loopback hosts such as 127.0.0.1 or localhost)"
	default:
		return "must be an https URL"
	}
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func parseProgram(name string, data []byte, o Options) (*loyalty.Program, error) {
	r := newReader(name, o)
	root := r.document(data, wantProgram)
	if root == nil {
		return nil, r.errs.sorted()
	}
	root = r.normalize(root, "")
	block, prefix := root, ""
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i]; k.Value == "program" {
			block, prefix = root.Content[i+1], "program"
			r.src.lines[prefix], r.src.nodes[prefix] = k.Line, block
		}
	}
	if prefix != "" {
		// A whole configuration: the daemon's settings are not needed
		// (nor their environment variables), but a misspelt key is
		// still a mistake.
		known := fieldsOf(configType)
		for i := 0; i+1 < len(root.Content); i += 2 {
			if k := root.Content[i]; known.types[k.Value] == nil {
				r.add(k.Line, join("", k.Value), "unknown key (known: "+strings.Join(known.keys, ", ")+")")
			}
		}
	}
	r.index(block, prefix, false)
	if !r.check(block, programType, prefix) {
		r.fail(block, prefix)
	}
	var p loyalty.Program
	if err := block.Decode(&p); err != nil {
		r.add(0, "", "cannot decode: "+r.src.scrub(strings.TrimPrefix(err.Error(), "yaml: ")))
		return nil, r.errs.sorted()
	}
	before := p
	p.SetDefaults()
	r.defaulted(reflect.ValueOf(before), reflect.ValueOf(p), prefix)
	r.program(p.Validate(), prefix)
	if err := r.errs.sorted(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Decode decodes the store's platform keys (every key but its own) into v, a
// pointer to the connector's options struct, strictly: a key v does not
// declare (the message lists v's keys and the store's own), or a value of
// the wrong type, is an error naming the file, line and key path; all such
// errors are returned at once, as Errors, and v is then left alone. Decode does not change s and is safe for concurrent use.
// A Store that was not read from a file has no platform keys.
func (s *Store) Decode(v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("config: Store.Decode needs a non-nil pointer, got %T", v)
	}
	if s.platform == nil {
		return nil
	}
	m := clone(s.platform)
	c := checker{src: s.src, failed: make(map[string]bool)}
	t := rv.Type().Elem()
	if t.Kind() == reflect.Struct && !reflect.PointerTo(t).Implements(textUnmarshalerType) &&
		!reflect.PointerTo(t).Implements(yamlUnmarshalerType) {
		c.mapping(m, t, s.path, storeKeys)
	} else if !c.check(m, t, s.path) {
		c.fail(m, s.path)
	}
	if err := c.errs.sorted(); err != nil {
		return err
	}
	if err := m.Decode(v); err != nil {
		msg := "cannot decode the platform's settings: " + s.src.scrub(strings.TrimPrefix(err.Error(), "yaml: "))
		return Errors{{File: s.src.file, Line: m.Line, Path: s.path, Msg: msg}}
	}
	return nil
}

// Position returns "file:line" of the store's key (a dotted path for a key
// further down, "webhook.secret"), or of the store itself if the key is not
// in the file, for a connector's own error messages. It returns "" for a
// Store that was not read from a file.
func (s *Store) Position(key string) string {
	if s.src == nil {
		return ""
	}
	path := s.path
	for seg := range strings.SplitSeq(key, ".") {
		path = join(path, seg)
	}
	line, ok := s.src.lines[path]
	if !ok {
		line = s.src.lines[s.path]
	}
	return s.src.file + ":" + strconv.Itoa(line)
}

func clone(n *yaml.Node) *yaml.Node {
	c := *n
	if n.Content != nil {
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, child := range n.Content {
			c.Content[i] = clone(child)
		}
	}
	return &c
}
