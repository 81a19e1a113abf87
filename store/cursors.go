package store

import (
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Cursor is where sync stands in one store's stream of one resource
// (orders, customers).
type Cursor struct {
	// Since, Until and Token are the window being read and the
	// connector's continuation in it; Token is empty between passes.
	Since time.Time
	Until time.Time
	Token string
	// HighWater and HighWaterID are the (update time, id) of the newest
	// record applied so far; the next pass starts a little before it.
	HighWater   time.Time
	HighWaterID string
	// PassStartedAt is when the pass in progress began; zero between passes.
	PassStartedAt time.Time
	// LastPassAt is when the last complete pass ended.
	LastPassAt time.Time
	// UpdatedAt is when the cursor last moved.
	UpdatedAt time.Time
}

// Cursor returns the cursor of a store's resource; the zero Cursor when
// sync has never run.
func (tx *Tx) Cursor(storeID, resource string) (Cursor, error) {
	var (
		c                                        Cursor
		since, until, hw, started, last, updated sql.NullString
	)
	err := tx.queryRow(`SELECT since, until, token, high_water, high_water_id, pass_started_at, last_pass_at, updated_at
		FROM cursors WHERE store_id = ? AND resource = ?`, storeID, resource).
		Scan(&since, &until, &c.Token, &hw, &c.HighWaterID, &started, &last, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Cursor{}, nil
	}
	if err != nil {
		return c, fmt.Errorf("store: cursor %s/%s: %w", storeID, resource, err)
	}
	for _, f := range []struct {
		dst *time.Time
		src sql.NullString
	}{{&c.Since, since}, {&c.Until, until}, {&c.HighWater, hw}, {&c.PassStartedAt, started}, {&c.LastPassAt, last}, {&c.UpdatedAt, updated}} {
		if *f.dst, err = parseTS(f.src); err != nil {
			return c, err
		}
	}
	return c, nil
}

// SetCursor saves the cursor of a store's resource. Call it in the same
// transaction as the rows it accounts for.
func (tx *Tx) SetCursor(storeID, resource string, c Cursor) error {
	_, err := tx.exec(`INSERT INTO cursors (store_id, resource, since, until, token, high_water, high_water_id,
			pass_started_at, last_pass_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (store_id, resource) DO UPDATE SET
			since = excluded.since, until = excluded.until, token = excluded.token,
			high_water = excluded.high_water, high_water_id = excluded.high_water_id,
			pass_started_at = excluded.pass_started_at, last_pass_at = excluded.last_pass_at,
			updated_at = excluded.updated_at`,
		storeID, resource, nullTS(c.Since), nullTS(c.Until), c.Token, nullTS(c.HighWater), c.HighWaterID,
		nullTS(c.PassStartedAt), nullTS(c.LastPassAt), ts(tx.now))
	if err != nil {
		return fmt.Errorf("store: save cursor %s/%s: %w", storeID, resource, err)
	}
	return nil
}
