package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/term"

	"github.com/loyaltyd/loyaltyd/admin"
	"github.com/loyaltyd/loyaltyd/config"
	"github.com/loyaltyd/loyaltyd/connectors"
	_ "github.com/loyaltyd/loyaltyd/connectors/all"
	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/sync"
	"github.com/loyaltyd/loyaltyd/webhooks"
)

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// loadConfig reads the configuration; its errors are usage errors (exit 2).
func (m *Main) loadConfig(c *common) (*config.Config, error) {
	cfg, err := config.Load(c.config, config.Options{Platforms: connectors.Platforms(), LookupEnv: m.LookupEnv})
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

// logger builds the process's logger: text on a terminal, JSON otherwise,
// unless the flags or the configuration say otherwise.
func (m *Main) logger(c *common, cfg *config.Config) (*logrus.Logger, error) {
	format, level := "auto", "info"
	if cfg != nil {
		if cfg.Log.Format != "" {
			format = cfg.Log.Format
		}
		if cfg.Log.Level != "" {
			level = cfg.Log.Level
		}
	}
	if c != nil && c.logFormat != "" {
		format = c.logFormat
	}
	if c != nil && c.logLevel != "" {
		level = c.logLevel
	}
	l := logrus.New()
	l.Out = m.Stderr
	lv, err := logrus.ParseLevel(level)
	if err != nil {
		return nil, usagef("log level %q: want debug, info, warn or error", level)
	}
	l.Level = lv
	switch format {
	case "auto":
		if m.IsTerminal != nil && m.IsTerminal(m.Stderr) {
			l.Formatter = &logrus.TextFormatter{FullTimestamp: true}
		} else {
			l.Formatter = &logrus.JSONFormatter{}
		}
	case "text":
		l.Formatter = &logrus.TextFormatter{FullTimestamp: true, DisableColors: !(m.IsTerminal != nil && m.IsTerminal(m.Stderr))}
	case "json":
		l.Formatter = &logrus.JSONFormatter{}
	default:
		return nil, usagef("log format %q: want auto, text or json", format)
	}
	return l, nil
}

// app is the wired program: the database, the connectors and the engine.
type app struct {
	cfg    *config.Config
	log    *logrus.Logger
	db     *store.DB
	engine *sync.Engine
	links  *admin.Links
}

// linksOf returns the balance-link signer the configuration asks for, or
// nil.
func linksOf(cfg *config.Config) *admin.Links {
	if cfg.PublicURL == "" || cfg.LinkSecret.Reveal() == "" {
		return nil
	}
	return &admin.Links{Secret: []byte(cfg.LinkSecret.Reveal()), BaseURL: cfg.PublicURL}
}

// openApp opens the database and, when withConnectors is set, every
// store's connector, and wires the engine. Configuration mistakes found
// while opening connectors are usage errors.
func (m *Main) openApp(ctx context.Context, c *common, withConnectors bool) (*app, error) {
	cfg, err := m.loadConfig(c)
	if err != nil {
		return nil, err
	}
	log, err := m.logger(c, cfg)
	if err != nil {
		return nil, err
	}
	return m.wire(ctx, cfg, log, withConnectors)
}

func (m *Main) wire(ctx context.Context, cfg *config.Config, log *logrus.Logger, withConnectors bool) (*app, error) {
	a := &app{cfg: cfg, log: log}
	a.engine = &sync.Engine{Program: &cfg.Program, Log: log, Now: m.Now}
	if a.links = linksOf(cfg); a.links != nil {
		a.engine.Link = a.links.URL
	}
	if len(cfg.Notify) > 0 {
		sender := &webhooks.Sender{Secrets: map[string]string{}}
		for _, n := range cfg.Notify {
			a.engine.Notify = append(a.engine.Notify, sync.NotifyEndpoint{URL: n.URL, Events: n.Events})
			sender.Secrets[n.URL] = n.Secret.Reveal()
		}
		a.engine.Notifier = sender
	}
	if withConnectors {
		stores, err := m.openStores(ctx, cfg, log)
		if err != nil {
			return nil, err
		}
		a.engine.Stores = stores
	} else {
		for _, s := range cfg.Stores {
			a.engine.Stores = append(a.engine.Stores, &sync.Store{ID: s.ID, Platform: s.Platform})
		}
	}
	db, err := store.Open(ctx, cfg.Database, store.Options{})
	if err != nil {
		return nil, err
	}
	db.Now = m.Now
	a.db = db
	a.engine.DB = db
	if err := a.engine.Prepare(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

// openStores opens every configured store's connector.
func (m *Main) openStores(ctx context.Context, cfg *config.Config, log *logrus.Logger) ([]*sync.Store, error) {
	var stores []*sync.Store
	var errs []error
	for i := range cfg.Stores {
		s := &cfg.Stores[i]
		conn, err := connectors.Open(ctx, s.Platform, connectors.Options{
			StoreID:    s.ID,
			Decode:     s.Decode,
			Log:        log.WithFields(logrus.Fields{"store": s.ID, "platform": s.Platform}),
			Now:        m.Now,
			WebhookURL: s.WebhookURL,
		})
		if err != nil {
			var cerr config.Errors
			if errors.As(err, &cerr) {
				errs = append(errs, cerr)
			} else {
				errs = append(errs, fmt.Errorf("%s: stores[%d] (%s): %w", s.Position(""), i, s.ID, err))
			}
			continue
		}
		stores = append(stores, &sync.Store{
			ID:           s.ID,
			Platform:     s.Platform,
			Conn:         conn,
			BackfillFrom: s.BackfillFrom.Time,
			Overlap:      s.Overlap.Duration,
		})
	}
	if len(errs) > 0 {
		return nil, usageError{errors.Join(errs...)}
	}
	return stores, nil
}

// checkStores asks every store's connector that can to verify, before
// anything runs, that the platform answers and the credentials carry what
// loyaltyd needs. It returns the stores that passed, and the errors of the
// others.
func (a *app) checkStores(ctx context.Context) ([]*sync.Store, []error) {
	var ok []*sync.Store
	var errs []error
	for _, st := range a.engine.Stores {
		if ck, can := st.Conn.(connectors.Checker); can {
			cctx, cancel := context.WithTimeout(ctx, time.Minute)
			err := ck.Check(cctx)
			cancel()
			if err != nil {
				errs = append(errs, fmt.Errorf("store %s: %w", st.ID, err))
				continue
			}
		}
		ok = append(ok, st)
	}
	return ok, errs
}

func (a *app) Close() error {
	var errs []error
	for _, s := range a.engine.Stores {
		if c, ok := s.Conn.(io.Closer); ok {
			errs = append(errs, c.Close())
		}
	}
	if a.db != nil {
		errs = append(errs, a.db.Close())
	}
	return errors.Join(errs...)
}

// openAppFor opens the application without connectors and picks the store
// storeID names, or the only one; the caller closes the application.
func (m *Main) openAppFor(ctx context.Context, c *common, storeID string) (*app, string, error) {
	a, err := m.openApp(ctx, c, false)
	if err != nil {
		return nil, "", err
	}
	sid, err := pickStore(a.cfg, storeID)
	if err != nil {
		a.Close()
		return nil, "", err
	}
	return a, sid, nil
}

// pickStore returns the store named by flag, or the only store when the
// flag is empty and there is one.
func pickStore(cfg *config.Config, id string) (string, error) {
	if id != "" {
		for _, s := range cfg.Stores {
			if s.ID == id {
				return id, nil
			}
		}
		return "", usagef("--store %q: no such store in %s (stores: %s)", id, cfg.File, storeIDs(cfg))
	}
	if len(cfg.Stores) == 1 {
		return cfg.Stores[0].ID, nil
	}
	return "", usagef("--store is required: %s has %d stores (%s)", cfg.File, len(cfg.Stores), storeIDs(cfg))
}

func storeIDs(cfg *config.Config) string {
	ids := make([]string, len(cfg.Stores))
	for i, s := range cfg.Stores {
		ids[i] = s.ID
	}
	if len(ids) == 0 {
		return "none"
	}
	return strings.Join(ids, ", ")
}
