package store

import (
	"maps"
	"slices"
)

// txCache remembers, for the life of one transaction, rows that the apply
// path reads again and again: the head of each ledger stream and each
// member row. Only this package's own methods write those tables (the
// ledger only through Entitle, which appends; members only through
// SaveMember), and a transaction sees no other writer, so the cache is
// exactly what the database holds:
//
//   - a stream head is recorded when read, and replaced by every entry
//     Entitle appends;
//   - a member is recorded when read (or found missing), and forgotten
//     when SaveMember writes it, so that the next read sees the row as
//     the database stores it.
//
// A method added here that writes the ledger or the members table must
// keep the cache in step the same way.
type txCache struct {
	streams map[streamKey]streamHead
	members map[memberKey]*Member // nil: no such member
}

type streamKey struct{ storeID, stream string }

type streamHead struct {
	seq   int
	total int64
}

type memberKey struct{ storeID, customerID string }

func (c *txCache) stream(storeID, stream string) (streamHead, bool) {
	h, ok := c.streams[streamKey{storeID, stream}]
	return h, ok
}

func (c *txCache) setStream(storeID, stream string, seq int, total int64) {
	if c.streams == nil {
		c.streams = map[streamKey]streamHead{}
	}
	c.streams[streamKey{storeID, stream}] = streamHead{seq: seq, total: total}
}

// member returns a copy of the cached member (nil when the cache knows
// there is none), and whether the cache knows.
func (c *txCache) member(storeID, customerID string) (*Member, bool) {
	m, ok := c.members[memberKey{storeID, customerID}]
	if !ok || m == nil {
		return nil, ok
	}
	return m.clone(), true
}

// setMember records a member as read from the database (nil: none).
func (c *txCache) setMember(storeID, customerID string, m *Member) {
	if c.members == nil {
		c.members = map[memberKey]*Member{}
	}
	if m != nil {
		m = m.clone()
	}
	c.members[memberKey{storeID, customerID}] = m
}

func (c *txCache) forgetMember(storeID, customerID string) {
	delete(c.members, memberKey{storeID, customerID})
}

// clone returns a copy of m that shares nothing mutable with it.
func (m *Member) clone() *Member {
	cp := *m
	cp.TagsWritten = slices.Clone(m.TagsWritten)
	cp.FieldsWritten = maps.Clone(m.FieldsWritten)
	return &cp
}
