// Package config reads loyaltyd's configuration file. It is the only package
// that reads the file or the environment for settings; everything else gets a
// *Config (or, for `loyaltyd simulate`, a *loyalty.Program).
//
// The file is one YAML document, a mapping:
//
//	database: ./loyaltyd.db        # default loyaltyd.db, relative to the file's folder
//	listen: 127.0.0.1:8380         # host:port of the admin API and webhooks
//	admin_token: ${LOYALTYD_ADMIN_TOKEN}
//	log: {level: info, format: auto}
//	stores:
//	  - id: acme                   # [a-z0-9][a-z0-9_-]{0,62}, unique
//	    platform: shopify          # a registered connector
//	    poll_interval: 5m          # default 5m, at least 10s
//	    overlap: 10m               # default 10m, 1m to 72h
//	    reconcile_interval: 24h    # default 24h
//	    backfill_from: 2025-01-01  # optional; a date or RFC 3339
//	    webhook_url: https://loyalty.example.com/webhooks/acme  # optional
//	    shop: acme.myshopify.com   # every other key belongs to the platform
//	    access_token: ${SHOPIFY_ACCESS_TOKEN}
//	program:                       # loyalty.Program
//	  currency: USD
//	  earn: {points_per_unit: 1, pending_days: 14}
//
// Reading is strict: a key the program does not know is an error, and every
// error names the file, the line and the key path
// ("loyaltyd.yaml:14: stores[1].platform: unknown platform ..."). All errors
// of a file are reported at once, as Errors. A store's platform keys are
// checked by its connector, through Store.Decode.
//
// Values (never keys or comments) may refer to the environment: ${NAME} is
// the variable's value and an error if it is not set, ${NAME:-default} falls
// back to default when NAME is unset or empty, and $$ stands for a single $;
// any other $ is an error. An expanded value is always a string, however it
// looks, except where the setting is a number or a boolean.
//
// Durations are Go durations ("90s", "5m", "1h30m") or whole days with an
// optional remainder ("7d", "1d12h"). YAML anchors, aliases and merge keys
// (<<) may be used to share settings between stores.
//
// Secrets stay secret: the value of a key named admin_token or ending in
// token, secret, password or _key, and every value that refers to the
// environment, never appears in an error message or in Config.Redacted.
package config
