-- loyaltyd schema, version 3: indexes for the apply path, so that no
-- statement it runs for one customer reads the whole store's rows.

-- orders_counting holds each customer's credited orders that still count,
-- oldest first, with what they count for: tiers read a customer's orders
-- through it without sorting them, and the first-order bonus finds its
-- order through it.
CREATE INDEX orders_counting ON orders (store_id, customer_id, processed_at, id, eligible_minor)
	WHERE snapshot IS NOT NULL AND deleted_at IS NULL AND eligible_minor > 0;

-- redemptions_auto finds the automatic redemptions of a month (the
-- monthly budget), which every member's refresh checks when automatic
-- redemption is on.
CREATE INDEX redemptions_auto ON redemptions (store_id, created_at) WHERE auto = 1;
