package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Cohorts of members, as loyalty.Cohort names them.
const (
	CohortMember     = "member"
	CohortHoldout    = "holdout"
	CohortNotInvited = "not_invited"
)

// Member is where the program has placed a customer, and what it last
// wrote about them.
type Member struct {
	StoreID    string
	CustomerID string
	// Cohort is member, holdout or not_invited.
	Cohort string
	// EnrolledAt is when the customer became a member; zero otherwise.
	EnrolledAt time.Time
	// Tier, TierSince and TierBelow are the member's tier state.
	Tier      string
	TierSince time.Time
	TierBelow time.Time
	// ABC and RFM are the segments ("a", "5-4-3").
	ABC string
	RFM string
	// ReferralCode is the member's personal referral code.
	ReferralCode string
	// TagsWritten and FieldsWritten are the program tags and fields last
	// queued for the platform.
	TagsWritten   []string
	FieldsWritten map[string]string
	// ReviewAt is the next time the member's standing can change with
	// time alone; zero for never.
	ReviewAt  time.Time
	UpdatedAt time.Time
}

const memberCols = `store_id, customer_id, cohort, enrolled_at, tier, tier_since, tier_below, abc, rfm, referral_code,
	tags_written, fields_written, review_at, updated_at`

func scanMember(sc interface{ Scan(...any) error }) (*Member, error) {
	var (
		m                                  Member
		enrolled, since, below, rc, review sql.NullString
		tags, fields, updated              string
	)
	if err := sc.Scan(&m.StoreID, &m.CustomerID, &m.Cohort, &enrolled, &m.Tier, &since, &below, &m.ABC, &m.RFM, &rc,
		&tags, &fields, &review, &updated); err != nil {
		return nil, err
	}
	m.ReferralCode = rc.String
	if err := json.Unmarshal([]byte(tags), &m.TagsWritten); err != nil {
		return nil, fmt.Errorf("store: member %s: tags: %w", m.CustomerID, err)
	}
	if err := json.Unmarshal([]byte(fields), &m.FieldsWritten); err != nil {
		return nil, fmt.Errorf("store: member %s: fields: %w", m.CustomerID, err)
	}
	var err error
	for _, f := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&m.EnrolledAt, enrolled}, {&m.TierSince, since}, {&m.TierBelow, below}, {&m.ReviewAt, review}, {&m.UpdatedAt, sql.NullString{String: updated, Valid: true}}} {
		if *f.dst, err = parseTS(f.src); err != nil {
			return nil, err
		}
	}
	return &m, nil
}

// Member returns where the program placed a customer, or an error wrapping
// ErrNotFound when it has not yet.
func (tx *Tx) Member(storeID, customerID string) (*Member, error) {
	if m, ok := tx.cache.member(storeID, customerID); ok {
		if m == nil {
			return nil, fmt.Errorf("store: member %s/%s: %w", storeID, customerID, ErrNotFound)
		}
		return m, nil
	}
	m, err := scanMember(tx.queryRow(`SELECT `+memberCols+` FROM members WHERE store_id = ? AND customer_id = ?`, storeID, customerID))
	if errors.Is(err, sql.ErrNoRows) {
		tx.cache.setMember(storeID, customerID, nil)
		return nil, fmt.Errorf("store: member %s/%s: %w", storeID, customerID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: member %s/%s: %w", storeID, customerID, err)
	}
	tx.cache.setMember(storeID, customerID, m)
	return m, nil
}

// MemberByReferralCode returns the member whose referral code is code
// (compared without regard to case), or an error wrapping ErrNotFound.
func (tx *Tx) MemberByReferralCode(storeID, code string) (*Member, error) {
	m, err := scanMember(tx.queryRow(`SELECT `+memberCols+` FROM members WHERE store_id = ? AND referral_code = upper(?)`, storeID, code))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: referral code: %w", ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: referral code: %w", err)
	}
	return m, nil
}

// SaveMember creates or replaces a member row.
func (tx *Tx) SaveMember(m *Member) error {
	tx.cache.forgetMember(m.StoreID, m.CustomerID)
	tags, err := json.Marshal(nonNil(m.TagsWritten))
	if err != nil {
		return err
	}
	fields := m.FieldsWritten
	if fields == nil {
		fields = map[string]string{}
	}
	fb, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	var rc any
	if m.ReferralCode != "" {
		rc = m.ReferralCode
	}
	_, err = tx.execRow(`INSERT INTO members (`+memberCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (store_id, customer_id) DO UPDATE SET cohort = excluded.cohort, enrolled_at = excluded.enrolled_at,
			tier = excluded.tier, tier_since = excluded.tier_since, tier_below = excluded.tier_below,
			abc = excluded.abc, rfm = excluded.rfm, referral_code = excluded.referral_code,
			tags_written = excluded.tags_written, fields_written = excluded.fields_written,
			review_at = excluded.review_at, updated_at = excluded.updated_at`,
		m.StoreID, m.CustomerID, m.Cohort, nullTS(m.EnrolledAt), m.Tier, nullTS(m.TierSince), nullTS(m.TierBelow),
		m.ABC, m.RFM, rc, string(tags), string(fb), nullTS(m.ReviewAt), ts(tx.now))
	if err != nil {
		return fmt.Errorf("store: save member %s/%s: %w", m.StoreID, m.CustomerID, err)
	}
	return nil
}

// MemberIDs returns the ids of the store's placed customers in a cohort
// (all cohorts when cohort is empty), sorted.
func (tx *Tx) MemberIDs(storeID, cohort string) ([]string, error) {
	rows, err := tx.query(`SELECT customer_id FROM members WHERE store_id = ? AND (? = '' OR cohort = ?) ORDER BY customer_id`,
		storeID, cohort, cohort)
	if err != nil {
		return nil, fmt.Errorf("store: members: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// MembersDue returns the ids of the store's members whose review time has
// come at now, sorted.
func (tx *Tx) MembersDue(storeID string, now time.Time) ([]string, error) {
	rows, err := tx.query(`SELECT customer_id FROM members WHERE store_id = ? AND cohort = 'member'
		AND review_at IS NOT NULL AND review_at <= ? ORDER BY customer_id`, storeID, ts(now))
	if err != nil {
		return nil, fmt.Errorf("store: members due: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// ForEachMember calls fn for every placed customer of the store.
func (tx *Tx) ForEachMember(storeID string, fn func(*Member) error) error {
	rows, err := tx.query(`SELECT `+memberCols+` FROM members WHERE store_id = ? ORDER BY customer_id`, storeID)
	if err != nil {
		return fmt.Errorf("store: members: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return err
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Segment is a member's place in the ABC and RFM segmentations, all the
// daily pass reads of every member.
type Segment struct {
	CustomerID, Cohort, ABC, RFM string
}

// Segments returns every member's segments, in customer order: the daily
// pass compares them with the new ones without decoding whole members.
func (tx *Tx) Segments(storeID string) ([]Segment, error) {
	rows, err := tx.query(`SELECT customer_id, cohort, abc, rfm FROM members WHERE store_id = `+textArg+` ORDER BY customer_id`, storeID)
	if err != nil {
		return nil, fmt.Errorf("store: segments: %w", err)
	}
	defer rows.Close()
	var out []Segment
	for rows.Next() {
		var s Segment
		if err := rows.Scan(&s.CustomerID, &s.Cohort, &s.ABC, &s.RFM); err != nil {
			return nil, fmt.Errorf("store: segments: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// SetSegment records a member's new segments; a non-zero reviewAt also
// makes the member due for review then.
func (tx *Tx) SetSegment(storeID, customerID, abc, rfm string, reviewAt time.Time) error {
	tx.cache.forgetMember(storeID, customerID)
	var review any
	if !reviewAt.IsZero() {
		review = ts(reviewAt)
	}
	_, err := tx.execRow(`UPDATE members SET abc = ?, rfm = ?, review_at = COALESCE(?, review_at), updated_at = ?
		WHERE store_id = ? AND customer_id = ?`, abc, rfm, review, ts(tx.now), storeID, customerID)
	if err != nil {
		return fmt.Errorf("store: member %s/%s: segment: %w", storeID, customerID, err)
	}
	return nil
}

// StoreInfo is what the store remembers about a configured store.
type StoreInfo struct {
	ID            string
	Platform      string
	CreatedAt     time.Time
	UninstalledAt time.Time
	// LastDaily is the last day ("2006-01-02", program time zone) the
	// daily re-evaluation ran.
	LastDaily string
}

// Store returns what is known of a store, or an error wrapping ErrNotFound.
func (tx *Tx) Store(id string) (*StoreInfo, error) {
	var (
		s           StoreInfo
		created     string
		uninstalled sql.NullString
	)
	err := tx.queryRow(`SELECT id, platform, created_at, uninstalled_at, last_daily FROM stores WHERE id = ?`, id).
		Scan(&s.ID, &s.Platform, &created, &uninstalled, &s.LastDaily)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("store: store %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: store %s: %w", id, err)
	}
	if s.CreatedAt, err = mustTS(created); err != nil {
		return nil, err
	}
	if s.UninstalledAt, err = parseTS(uninstalled); err != nil {
		return nil, err
	}
	return &s, nil
}

// SetLastDaily records the day the daily re-evaluation last ran.
func (tx *Tx) SetLastDaily(storeID, day string) error {
	_, err := tx.exec(`UPDATE stores SET last_daily = ? WHERE id = ?`, day, storeID)
	if err != nil {
		return fmt.Errorf("store: last daily %s: %w", storeID, err)
	}
	return nil
}
