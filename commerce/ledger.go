package commerce

import "time"

// EntryKind says why a ledger entry changed a customer's points.
type EntryKind string

// The kinds of ledger entries. Every entry names one.
const (
	// KindEarn: points an order earned, or more of them when it grew.
	KindEarn EntryKind = "earn"
	// KindBonus: a bonus, such as the first-order bonus.
	KindBonus EntryKind = "bonus"
	// KindAdjustRefund: points taken back because an order was refunded.
	KindAdjustRefund EntryKind = "adjust_refund"
	// KindAdjustCancel: points taken back because an order was cancelled,
	// voided or stopped counting.
	KindAdjustCancel EntryKind = "adjust_cancel"
	// KindRedeem: points spent on a reward.
	KindRedeem EntryKind = "redeem"
	// KindRedeemReturn: points given back when a reward could not be issued.
	KindRedeemReturn EntryKind = "redeem_return"
	// KindExpire: points expired after inactivity.
	KindExpire EntryKind = "expire"
	// KindManual: a staff adjustment, with a reason and the staff name.
	KindManual EntryKind = "manual"
	// KindReferral: points for referring a friend who bought.
	KindReferral EntryKind = "referral"
)

// LedgerEntry is one change to a customer's points.
//
// Entries come in streams: each stream is one thing that is worth points
// (an order's earnings, a redemption, a manual adjustment) and its entries
// carry the change (Points) and the stream's total after it (Total). When a
// stream's worth changes, the new entry holds the difference, so that
// replaying the same information twice changes nothing.
type LedgerEntry struct {
	// ID is the store's sequence number of the entry.
	ID int64 `json:"id"`
	// StoreID and CustomerID say whose points these are.
	StoreID    string `json:"store"`
	CustomerID string `json:"customer_id"`
	// Stream names what the entry accounts for ("order:1042:earn").
	Stream string `json:"stream"`
	// Seq numbers the stream's entries from 1.
	Seq int `json:"seq"`
	// Kind says why the points changed.
	Kind EntryKind `json:"kind"`
	// Points is the change: positive credits, negative debits.
	Points int64 `json:"points"`
	// Total is the stream's total after this entry.
	Total int64 `json:"total"`
	// OrderID is the order that caused the entry, if any.
	OrderID string `json:"order_id,omitempty"`
	// At is when the entry was recorded.
	At time.Time `json:"at"`
	// AvailableAt is when a credit becomes spendable; until then it is
	// pending. Debits take effect at At.
	AvailableAt time.Time `json:"available_at"`
	// Reason explains the entry in words, with its arithmetic.
	Reason string `json:"reason"`
	// Actor is the staff member who made a manual entry.
	Actor string `json:"actor,omitempty"`
}
