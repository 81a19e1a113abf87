package store

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// Redemption statuses.
const (
	// RedemptionIssued: points taken, the code queued for the platform.
	RedemptionIssued = "issued"
	// RedemptionCreated: the code exists on the platform.
	RedemptionCreated = "created"
	// RedemptionUsed: an order used the code.
	RedemptionUsed = "used"
	// RedemptionExpired: the code expired unused.
	RedemptionExpired = "expired"
	// RedemptionFailed: the platform refused the code; the points were given back.
	RedemptionFailed = "failed"
)

// Redemption is a reward bought with points.
type Redemption struct {
	ID          int64
	StoreID     string
	CustomerID  string
	RewardID    string
	Points      int64
	Code        string
	Value       commerce.Money
	Auto        bool
	Actor       string
	Status      string
	Reason      string
	CreatedAt   time.Time
	ExpiresAt   time.Time
	DeliveredAt time.Time
	UsedAt      time.Time
	UsedOrderID string
}

const redemptionCols = `id, store_id, customer_id, reward_id, points, coalesce(code, ''), value_minor, currency, auto, actor,
	status, reason, created_at, expires_at, delivered_at, used_at, used_order_id`

func scanRedemption(sc interface{ Scan(...any) error }) (*Redemption, error) {
	var (
		r                        Redemption
		created                  string
		expires, delivered, used sql.NullString
	)
	if err := sc.Scan(&r.ID, &r.StoreID, &r.CustomerID, &r.RewardID, &r.Points, &r.Code, &r.Value.Minor, &r.Value.Currency,
		&r.Auto, &r.Actor, &r.Status, &r.Reason, &created, &expires, &delivered, &used, &r.UsedOrderID); err != nil {
		return nil, err
	}
	var err error
	if r.CreatedAt, err = mustTS(created); err != nil {
		return nil, err
	}
	for _, f := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&r.ExpiresAt, expires}, {&r.DeliveredAt, delivered}, {&r.UsedAt, used}} {
		if *f.dst, err = parseTS(f.src); err != nil {
			return nil, err
		}
	}
	return &r, nil
}

// CreateRedemption records a redemption; its code is derived from the id
// the database gives it, by codeFor. It fills in r.ID, r.Code and
// r.CreatedAt.
func (tx *Tx) CreateRedemption(r *Redemption, codeFor func(id int64) string) error {
	if r.CreatedAt.IsZero() {
		r.CreatedAt = tx.now
	}
	if r.Status == "" {
		r.Status = RedemptionIssued
	}
	res, err := tx.execRow(`INSERT INTO redemptions (store_id, customer_id, reward_id, points, value_minor, currency, auto, actor,
			status, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.StoreID, r.CustomerID, r.RewardID, r.Points, r.Value.Minor, r.Value.Currency, r.Auto, r.Actor, r.Status,
		ts(r.CreatedAt), nullTS(r.ExpiresAt))
	if err != nil {
		return fmt.Errorf("store: redemption: %w", err)
	}
	r.ID, _ = res.LastInsertId()
	r.Code = codeFor(r.ID)
	if _, err := tx.execRow(`UPDATE redemptions SET code = ? WHERE id = ?`, r.Code, r.ID); err != nil {
		return fmt.Errorf("store: redemption %d: %w", r.ID, err)
	}
	return nil
}

// UpdateRedemption saves a redemption's status and dates.
func (tx *Tx) UpdateRedemption(r *Redemption) error {
	_, err := tx.execRow(`UPDATE redemptions SET status = ?, reason = ?, delivered_at = ?, used_at = ?, used_order_id = ?
		WHERE id = ? AND store_id = ?`, r.Status, r.Reason, nullTS(r.DeliveredAt), nullTS(r.UsedAt), r.UsedOrderID, r.ID, r.StoreID)
	if err != nil {
		return fmt.Errorf("store: redemption %d: %w", r.ID, err)
	}
	return nil
}

// Redemption returns a redemption by id, or an error wrapping ErrNotFound.
func (tx *Tx) Redemption(storeID string, id int64) (*Redemption, error) {
	return tx.oneRedemption(`SELECT `+redemptionCols+` FROM redemptions WHERE store_id = ? AND id = ?`, storeID, id)
}

// RedemptionByCode returns the redemption of a code (compared without
// regard to case), or an error wrapping ErrNotFound.
func (tx *Tx) RedemptionByCode(storeID, code string) (*Redemption, error) {
	return tx.oneRedemption(`SELECT `+redemptionCols+` FROM redemptions WHERE store_id = ? AND code = upper(?)`, storeID, code)
}

func (tx *Tx) oneRedemption(q string, args ...any) (*Redemption, error) {
	r, err := scanRedemption(tx.queryRow(q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: redemption: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: redemption: %w", err)
	}
	return r, nil
}

// Redemptions returns the store's redemptions, of one customer when
// customerID is set, oldest first.
func (tx *Tx) Redemptions(storeID, customerID string) ([]*Redemption, error) {
	q, args := `SELECT `+redemptionCols+` FROM redemptions WHERE store_id = `+textArg+` ORDER BY id`, []any{storeID}
	if customerID != "" {
		// Spelled out rather than folded into one statement with
		// "(? = '' OR customer_id = ?)", which SQLite cannot answer from
		// the customer's index.
		q, args = `SELECT `+redemptionCols+` FROM redemptions WHERE store_id = `+textArg+` AND customer_id = `+textArg+` ORDER BY id`,
			[]any{storeID, customerID}
	}
	read := tx.query
	if customerID != "" {
		read = tx.queryKey
	}
	rows, err := read(q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: redemptions: %w", err)
	}
	defer rows.Close()
	var out []*Redemption
	for rows.Next() {
		r, err := scanRedemption(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// AutoRedeemedValue sums the value of rewards issued automatically since
// a time (and not failed): what counts against the monthly budget.
func (tx *Tx) AutoRedeemedValue(storeID string, since time.Time) (int64, error) {
	var v int64
	err := tx.queryRow(`SELECT coalesce(sum(value_minor), 0) FROM redemptions
		WHERE store_id = ? AND auto = 1 AND status <> 'failed' AND created_at >= ?`, storeID, ts(since)).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("store: auto-redeemed value: %w", err)
	}
	return v, nil
}

// Referral statuses.
const (
	ReferralPending   = "pending"
	ReferralRewarded  = "rewarded"
	ReferralCancelled = "cancelled"
	ReferralRefused   = "refused"
)

// Referral is a friend's first order that used a member's referral code.
type Referral struct {
	StoreID       string
	FriendOrderID string
	ReferrerID    string
	FriendID      string
	Code          string
	// Points is what the referrer earned (or will earn), frozen when the
	// referral was recorded.
	Points      int64
	Status      string
	Reason      string
	CreatedAt   time.Time
	AvailableAt time.Time
	RewardedAt  time.Time
}

const referralCols = `store_id, friend_order_id, referrer_id, friend_id, code, points, status, reason, created_at, available_at, rewarded_at`

func scanReferral(sc interface{ Scan(...any) error }) (*Referral, error) {
	var (
		r                   Referral
		created             string
		available, rewarded sql.NullString
	)
	if err := sc.Scan(&r.StoreID, &r.FriendOrderID, &r.ReferrerID, &r.FriendID, &r.Code, &r.Points, &r.Status, &r.Reason,
		&created, &available, &rewarded); err != nil {
		return nil, err
	}
	var err error
	if r.CreatedAt, err = mustTS(created); err != nil {
		return nil, err
	}
	if r.AvailableAt, err = parseTS(available); err != nil {
		return nil, err
	}
	if r.RewardedAt, err = parseTS(rewarded); err != nil {
		return nil, err
	}
	return &r, nil
}

// SaveReferral creates or updates the referral of a friend's order.
func (tx *Tx) SaveReferral(r *Referral) error {
	if r.CreatedAt.IsZero() {
		r.CreatedAt = tx.now
	}
	_, err := tx.execRow(`INSERT INTO referrals (`+referralCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (store_id, friend_order_id) DO UPDATE SET referrer_id = excluded.referrer_id,
			friend_id = excluded.friend_id, code = excluded.code, points = excluded.points, status = excluded.status,
			reason = excluded.reason, available_at = excluded.available_at, rewarded_at = excluded.rewarded_at`,
		r.StoreID, r.FriendOrderID, r.ReferrerID, r.FriendID, r.Code, r.Points, r.Status, r.Reason, ts(r.CreatedAt),
		nullTS(r.AvailableAt), nullTS(r.RewardedAt))
	if err != nil {
		return fmt.Errorf("store: referral %s: %w", r.FriendOrderID, err)
	}
	return nil
}

// ReferralOf returns the referral of a friend's order, or an error
// wrapping ErrNotFound.
func (tx *Tx) ReferralOf(storeID, friendOrderID string) (*Referral, error) {
	r, err := scanReferral(tx.queryRow(`SELECT `+referralCols+` FROM referrals WHERE store_id = ? AND friend_order_id = ?`,
		storeID, friendOrderID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: referral %s: %w", friendOrderID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: referral %s: %w", friendOrderID, err)
	}
	return r, nil
}

// Referrals returns the store's referrals, filtered by referrer and status
// when those are set, oldest first.
func (tx *Tx) Referrals(storeID, referrerID, status string) ([]*Referral, error) {
	q, args := `SELECT `+referralCols+` FROM referrals WHERE store_id = `+textArg+`
		AND (`+textArg+` = '' OR status = `+textArg+`) ORDER BY created_at, friend_order_id`, []any{storeID, status, status}
	if referrerID != "" {
		// Spelled out so that SQLite answers from the referrer's index.
		q, args = `SELECT `+referralCols+` FROM referrals WHERE store_id = `+textArg+` AND referrer_id = `+textArg+`
		AND (`+textArg+` = '' OR status = `+textArg+`) ORDER BY created_at, friend_order_id`, []any{storeID, referrerID, status, status}
	}
	read := tx.query
	if referrerID != "" {
		read = tx.queryKey
	}
	rows, err := read(q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: referrals: %w", err)
	}
	defer rows.Close()
	var out []*Referral
	for rows.Next() {
		r, err := scanReferral(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
