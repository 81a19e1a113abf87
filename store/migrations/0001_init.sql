-- loyaltyd schema, version 1.
-- Times are TEXT in UTC with fixed-width nanoseconds
-- (2006-01-02T15:04:05.000000000Z), so they sort as strings.

-- stores: created_at is when loyaltyd first synced the store (the
-- program's launch unless the configuration names one); last_daily is the
-- last day (in the program's time zone) the daily re-evaluation ran.
CREATE TABLE stores (
	id             TEXT PRIMARY KEY,
	platform       TEXT NOT NULL,
	created_at     TEXT NOT NULL,
	uninstalled_at TEXT,
	last_daily     TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE customers (
	store_id      TEXT NOT NULL REFERENCES stores(id),
	id            TEXT NOT NULL,
	email         TEXT NOT NULL DEFAULT '',
	email_folded  TEXT NOT NULL DEFAULT '',
	first_name    TEXT NOT NULL DEFAULT '',
	last_name     TEXT NOT NULL DEFAULT '',
	tags          TEXT NOT NULL DEFAULT '[]',
	guest         INTEGER NOT NULL DEFAULT 0,
	created_at    TEXT NOT NULL,
	updated_at    TEXT NOT NULL,
	first_seen_at TEXT NOT NULL,
	deleted_at    TEXT,
	raw           BLOB,
	PRIMARY KEY (store_id, id)
) STRICT;
CREATE INDEX customers_email ON customers (store_id, email_folded);
CREATE INDEX customers_updated ON customers (store_id, updated_at, id);

-- orders keeps the normalised order (data, JSON of commerce.Order) and the
-- platform's payload (raw), so that history can be replayed. snapshot holds
-- the rules frozen when the order was first credited.
CREATE TABLE orders (
	store_id      TEXT NOT NULL REFERENCES stores(id),
	id            TEXT NOT NULL,
	number        TEXT NOT NULL DEFAULT '',
	customer_id   TEXT NOT NULL DEFAULT '',
	currency      TEXT NOT NULL,
	state         TEXT NOT NULL,
	total_minor   INTEGER NOT NULL,
	test          INTEGER NOT NULL DEFAULT 0,
	created_at    TEXT NOT NULL,
	processed_at  TEXT NOT NULL,
	updated_at    TEXT NOT NULL,
	cancelled_at  TEXT,
	data          TEXT NOT NULL,
	raw           BLOB,
	snapshot      TEXT,
	-- eligible_minor is what the order counts for (the rules' eligible
	-- amount, derived from data), kept so that tiers and segments are sums.
	eligible_minor INTEGER NOT NULL DEFAULT 0,
	first_seen_at TEXT NOT NULL,
	deleted_at    TEXT,
	PRIMARY KEY (store_id, id)
) STRICT;
CREATE INDEX orders_customer ON orders (store_id, customer_id, processed_at);
CREATE INDEX orders_processed ON orders (store_id, processed_at);
CREATE INDEX orders_updated ON orders (store_id, updated_at, id);

-- members: every customer the program has placed, in a cohort (member,
-- holdout, not_invited), with their tier, segment, referral code, and the
-- tags and fields last queued for the platform (so that only changes are
-- written).
CREATE TABLE members (
	store_id       TEXT NOT NULL REFERENCES stores(id),
	customer_id    TEXT NOT NULL,
	cohort         TEXT NOT NULL CHECK (cohort IN ('member', 'holdout', 'not_invited')),
	enrolled_at    TEXT,
	tier           TEXT NOT NULL DEFAULT '',
	tier_since     TEXT,
	tier_below     TEXT,
	abc            TEXT NOT NULL DEFAULT '',
	rfm            TEXT NOT NULL DEFAULT '',
	referral_code  TEXT,
	tags_written   TEXT NOT NULL DEFAULT '[]',
	fields_written TEXT NOT NULL DEFAULT '{}',
	-- review_at is the next time the member's standing can change by the
	-- passing of time alone (points leaving pending, an order leaving the
	-- tier window, a grace period or expiry ending): the daily
	-- re-evaluation looks only at members whose time has come.
	review_at      TEXT,
	updated_at     TEXT NOT NULL,
	PRIMARY KEY (store_id, customer_id)
) STRICT;
CREATE INDEX members_review ON members (store_id, review_at);
CREATE UNIQUE INDEX members_referral_code ON members (store_id, referral_code) WHERE referral_code IS NOT NULL;

-- redemptions: rewards bought with points, each with its discount code.
CREATE TABLE redemptions (
	id            INTEGER PRIMARY KEY,
	store_id      TEXT NOT NULL REFERENCES stores(id),
	customer_id   TEXT NOT NULL,
	reward_id     TEXT NOT NULL,
	points        INTEGER NOT NULL CHECK (points > 0),
	code          TEXT,
	value_minor   INTEGER NOT NULL DEFAULT 0,
	currency      TEXT NOT NULL DEFAULT '',
	auto          INTEGER NOT NULL DEFAULT 0,
	actor         TEXT NOT NULL DEFAULT '',
	status        TEXT NOT NULL CHECK (status IN ('issued', 'created', 'used', 'expired', 'failed')),
	reason        TEXT NOT NULL DEFAULT '',
	created_at    TEXT NOT NULL,
	expires_at    TEXT,
	delivered_at  TEXT,
	used_at       TEXT,
	used_order_id TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE UNIQUE INDEX redemptions_code ON redemptions (store_id, code) WHERE code IS NOT NULL;
CREATE INDEX redemptions_customer ON redemptions (store_id, customer_id, id);

-- referrals: friends' first orders that used a member's referral code.
CREATE TABLE referrals (
	store_id        TEXT NOT NULL REFERENCES stores(id),
	friend_order_id TEXT NOT NULL,
	referrer_id     TEXT NOT NULL,
	friend_id       TEXT NOT NULL DEFAULT '',
	code            TEXT NOT NULL,
	points          INTEGER NOT NULL DEFAULT 0,
	status          TEXT NOT NULL CHECK (status IN ('pending', 'rewarded', 'cancelled', 'refused')),
	reason          TEXT NOT NULL DEFAULT '',
	created_at      TEXT NOT NULL,
	available_at    TEXT,
	rewarded_at     TEXT,
	PRIMARY KEY (store_id, friend_order_id)
) STRICT;
CREATE INDEX referrals_referrer ON referrals (store_id, referrer_id);
CREATE INDEX referrals_status ON referrals (store_id, status);

-- The points ledger is append-only. Entries form streams (one per thing
-- worth points); each entry continues its stream: seq is the previous seq
-- plus one and total the previous total plus points. The unique key and
-- the trigger make the database itself refuse an entry that does not
-- continue its stream, so that an entitlement can only ever be recorded
-- as its difference from what was credited.
CREATE TABLE ledger (
	id           INTEGER PRIMARY KEY,
	store_id     TEXT NOT NULL REFERENCES stores(id),
	customer_id  TEXT NOT NULL,
	stream       TEXT NOT NULL,
	seq          INTEGER NOT NULL CHECK (seq >= 1),
	kind         TEXT NOT NULL CHECK (kind IN ('earn', 'bonus', 'adjust_refund', 'adjust_cancel',
	               'redeem', 'redeem_return', 'expire', 'manual', 'referral')),
	points       INTEGER NOT NULL CHECK (points <> 0),
	total        INTEGER NOT NULL,
	order_id     TEXT NOT NULL DEFAULT '',
	at           TEXT NOT NULL,
	available_at TEXT NOT NULL,
	reason       TEXT NOT NULL,
	actor        TEXT NOT NULL DEFAULT '',
	UNIQUE (store_id, stream, seq)
) STRICT;
CREATE INDEX ledger_customer ON ledger (store_id, customer_id, id);

CREATE TRIGGER ledger_continues_stream BEFORE INSERT ON ledger
BEGIN
	SELECT RAISE(ABORT, 'ledger: entry does not continue its stream')
	WHERE NEW.seq <> 1 + coalesce((SELECT max(seq) FROM ledger
	                               WHERE store_id = NEW.store_id AND stream = NEW.stream), 0)
	   OR NEW.total <> NEW.points + coalesce((SELECT total FROM ledger
	                               WHERE store_id = NEW.store_id AND stream = NEW.stream
	                               ORDER BY seq DESC LIMIT 1), 0);
END;
CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger
BEGIN
	SELECT RAISE(ABORT, 'ledger: entries are never changed');
END;
CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger
BEGIN
	SELECT RAISE(ABORT, 'ledger: entries are never deleted');
END;

-- cursors: where sync stands in each store's stream of changed records.
CREATE TABLE cursors (
	store_id        TEXT NOT NULL REFERENCES stores(id),
	resource        TEXT NOT NULL,
	since           TEXT,
	until           TEXT,
	token           TEXT NOT NULL DEFAULT '',
	high_water      TEXT,
	high_water_id   TEXT NOT NULL DEFAULT '',
	pass_started_at TEXT,
	last_pass_at    TEXT,
	updated_at      TEXT NOT NULL,
	PRIMARY KEY (store_id, resource)
) STRICT;

-- outbox: write-backs to the platform, committed with the decision that
-- caused them and delivered afterwards.
CREATE TABLE outbox (
	id              INTEGER PRIMARY KEY,
	store_id        TEXT NOT NULL REFERENCES stores(id),
	kind            TEXT NOT NULL,
	-- lane orders the writes to one customer that must land in order
	-- (tags after tags); an item waits while an earlier one of its lane is
	-- undelivered.
	lane            TEXT NOT NULL DEFAULT '',
	customer_id     TEXT NOT NULL DEFAULT '',
	key             TEXT,
	payload         TEXT NOT NULL,
	state           TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at TEXT NOT NULL,
	last_error      TEXT NOT NULL DEFAULT '',
	result          TEXT NOT NULL DEFAULT '',
	created_at      TEXT NOT NULL,
	delivered_at    TEXT,
	UNIQUE (store_id, key)
) STRICT;
CREATE INDEX outbox_due ON outbox (store_id, state, next_attempt_at, id);
CREATE INDEX outbox_lane ON outbox (store_id, customer_id, lane, state, id);

CREATE TABLE audit (
	id          INTEGER PRIMARY KEY,
	at          TEXT NOT NULL,
	actor       TEXT NOT NULL,
	action      TEXT NOT NULL,
	store_id    TEXT NOT NULL DEFAULT '',
	customer_id TEXT NOT NULL DEFAULT '',
	detail      TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_customer ON audit (store_id, customer_id, id);
