// Package report holds what loyaltyd shows people: the customer card
// staff read to a customer, the sync status operators read, and the
// program's reports and simulations owners read. It defines the shapes and
// the pure computations over them; the engine gathers the data, and the
// admin API, the dashboard and the command line present it.
package report

import (
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/loyalty"
)

// CustomerView is what staff read to a customer: who they are, their
// points, tier and progress, codes, referrals, and every ledger entry with
// its reason.
type CustomerView struct {
	Store         string                `json:"store"`
	CustomerID    string                `json:"customer_id"`
	Email         string                `json:"email"`
	Name          string                `json:"name,omitempty"`
	Enrolled      bool                  `json:"enrolled"`
	Cohort        string                `json:"cohort"`
	EnrolledAt    time.Time             `json:"enrolled_at,omitzero"`
	Tier          string                `json:"tier"`
	TierSince     time.Time             `json:"tier_since,omitzero"`
	Progress      loyalty.Progress      `json:"progress"`
	NextTierNeeds string                `json:"next_tier_needs,omitempty"`
	Qualification loyalty.Qualification `json:"qualification"`
	Segment       string                `json:"segment,omitempty"`
	RFM           string                `json:"rfm,omitempty"`
	ReferralCode  string                `json:"referral_code,omitempty"`
	Points        loyalty.Balance       `json:"points"`
	ExpiresAt     time.Time             `json:"points_expire_at,omitzero"`
	Orders        int                   `json:"orders"`
	Rewards       []RewardLine          `json:"rewards"`
	Referrals     []ReferralLine        `json:"referrals"`
	Tags          []string              `json:"tags"`
	Ledger        []LedgerLine          `json:"ledger"`
}

// LedgerLine is one ledger entry as staff see it.
type LedgerLine struct {
	Time        time.Time          `json:"time"`
	Points      int64              `json:"points"`
	Kind        commerce.EntryKind `json:"kind"`
	Reason      string             `json:"reason"`
	OrderID     string             `json:"order_id,omitempty"`
	AvailableAt time.Time          `json:"available_at"`
	Actor       string             `json:"actor,omitempty"`
}

// RewardLine is a redemption as staff see it.
type RewardLine struct {
	ID        int64     `json:"id"`
	Reward    string    `json:"reward"`
	Points    int64     `json:"points"`
	Code      string    `json:"code"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	UsedOrder string    `json:"used_order_id,omitempty"`
}

// ReferralLine is a referral the customer made.
type ReferralLine struct {
	FriendOrderID string    `json:"friend_order_id"`
	Status        string    `json:"status"`
	Reason        string    `json:"reason,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
}

// StoreReport is the persisted state of one store's sync, as `loyaltyd
// status` and the dashboard show it: it reads the database, so it works
// while the daemon runs elsewhere.
type StoreReport struct {
	Store       string    `json:"store"`
	Platform    string    `json:"platform"`
	Uninstalled time.Time `json:"uninstalled_at,omitzero"`
	// LastPass, LastSuccess, LastError and Failures describe the polling.
	LastPass    time.Time `json:"last_pass,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	Failures    int       `json:"failures"`
	// Cursors are where each resource's sync stands.
	Cursors map[string]CursorReport `json:"cursors"`
	// Webhooks counts deliveries by inbox status, and duplicates.
	Webhooks map[string]int `json:"webhooks"`
	// Reconciliation is what the last reconciliations found.
	LastReconcile       time.Time `json:"last_reconcile,omitzero"`
	LastReconcileFound  int       `json:"last_reconcile_found"`
	ReconcileFoundTotal int       `json:"reconcile_found_total"`
	// Outbox counts write-backs by state.
	Outbox map[string]int `json:"outbox"`
	// Orders, Customers and Members are what is stored.
	Orders    int `json:"orders"`
	Customers int `json:"customers"`
	Members   int `json:"members"`
	// PointsCredited and PointsDebited sum the ledger.
	PointsCredited int64 `json:"points_credited"`
	PointsDebited  int64 `json:"points_debited"`
}

// CursorReport is where one resource's sync stands.
type CursorReport struct {
	HighWater  time.Time `json:"high_water,omitzero"`
	LagSeconds float64   `json:"lag_seconds"`
	LastPass   time.Time `json:"last_pass,omitzero"`
	InPass     bool      `json:"in_pass"`
}

// CustomerHit is a customer found by a search, as a list shows it.
type CustomerHit struct {
	Store      string `json:"store"`
	CustomerID string `json:"customer_id"`
	Email      string `json:"email"`
	Name       string `json:"name,omitempty"`
	Cohort     string `json:"cohort,omitempty"`
	Tier       string `json:"tier,omitempty"`
	Available  int64  `json:"available"`
	Pending    int64  `json:"pending"`
}

// DeadLetter is a write-back that went to the dead letters.
type DeadLetter struct {
	ID         int64     `json:"id"`
	Store      string    `json:"store"`
	Kind       string    `json:"kind"`
	CustomerID string    `json:"customer_id,omitempty"`
	Attempts   int       `json:"attempts"`
	LastError  string    `json:"last_error"`
	CreatedAt  time.Time `json:"created_at"`
}

// SpanPoints are the points issued, redeemed and expired in one span of
// time, as the report's figures of those names define them.
type SpanPoints struct {
	Issued, Redeemed, Expired int64
}

// Activity is what became of a store's reward codes and referrals, as of
// At.
type Activity struct {
	At        time.Time
	Rewards   []RewardActivity
	Referrals ReferralActivity
}

// RewardActivity counts the codes of one reward of the catalogue (or one
// the program no longer has) by what became of them.
type RewardActivity struct {
	Reward string
	// Issued counts the codes issued, Auto those issued automatically.
	Issued, Auto int
	// Used, Unused, Expired and Refused (by the store; the points were
	// given back) split the issued codes.
	Used, Unused, Expired, Refused int
	// Points were spent on them; Value is what they are worth.
	Points int64
	Value  commerce.Money
}

// ReferralActivity counts referrals by what became of them.
type ReferralActivity struct {
	Rewarded, Pending, Cancelled, Refused int
	// Points were credited to referrers.
	Points int64
	// Refusals counts the refused referrals by reason, most frequent
	// first.
	Refusals []ReasonCount
}

// ReasonCount is how often a reason was given.
type ReasonCount struct {
	Reason string
	Count  int
}
