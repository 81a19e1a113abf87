-- loyaltyd schema, version 2: what the daemon needs to run for months.

-- inbox: verified webhook deliveries, stored before they are acknowledged
-- and applied afterwards. A delivery whose signature was right but whose
-- body could not be read is kept as rejected, for inspection.
CREATE TABLE inbox (
	id           INTEGER PRIMARY KEY,
	store_id     TEXT NOT NULL REFERENCES stores(id),
	dedupe_key   TEXT NOT NULL,
	topic        TEXT NOT NULL,
	kind         TEXT NOT NULL,
	resource_id  TEXT NOT NULL DEFAULT '',
	received_at  TEXT NOT NULL,
	body         BLOB NOT NULL,
	event        TEXT,
	status       TEXT NOT NULL CHECK (status IN ('pending', 'processed', 'rejected', 'ignored', 'failed')),
	error        TEXT NOT NULL DEFAULT '',
	processed_at TEXT,
	duplicates   INTEGER NOT NULL DEFAULT 0,
	UNIQUE (store_id, dedupe_key)
) STRICT;
CREATE INDEX inbox_status ON inbox (store_id, status, id);

-- sync_status: how each store's sync stands, for `loyaltyd status`, the
-- readiness check and the dashboard.
CREATE TABLE sync_status (
	store_id              TEXT PRIMARY KEY REFERENCES stores(id),
	last_pass_at          TEXT,
	last_success_at       TEXT,
	last_error            TEXT NOT NULL DEFAULT '',
	failures              INTEGER NOT NULL DEFAULT 0,
	last_reconcile_at     TEXT,
	last_reconcile_found  INTEGER NOT NULL DEFAULT 0,
	reconcile_found_total INTEGER NOT NULL DEFAULT 0,
	updated_at            TEXT NOT NULL
) STRICT;

-- exports: the data of a customer, gathered when the platform asks for it
-- (customers/data_request), for the operator to hand over.
CREATE TABLE exports (
	id           INTEGER PRIMARY KEY,
	store_id     TEXT NOT NULL REFERENCES stores(id),
	customer_id  TEXT NOT NULL,
	requested_at TEXT NOT NULL,
	data         TEXT NOT NULL
) STRICT;
