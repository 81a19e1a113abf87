package loyalty

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// MemberState is what the program writes back to the platform about a
// customer: the tags the store's e-mails and theme react to, and the
// fields its pages show.
type MemberState struct {
	Cohort       Cohort
	Tier         string
	Progress     Progress
	Balance      Balance
	Expiry       ExpiryState
	Segment      Segment
	ReferralCode string
	// UnusedCodes are the member's reward codes not used yet and not expired.
	UnusedCodes []string
	// Link is the member's signed balance link, when loyaltyd makes them.
	Link string
}

// DesiredTags returns the program's tags a customer should carry, sorted:
// member, tier-<name>, near-<next tier>, reward-ready, points-expiring and
// segment-<a|b|c>, all with the program's prefix. Customers outside the
// program (holdout, not invited) carry none.
func (p *Program) DesiredTags(s MemberState) []string {
	if s.Cohort != CohortMember {
		return nil
	}
	tags := []string{p.Tag("member")}
	if s.Tier != "" {
		tags = append(tags, p.Tag("tier-"+s.Tier))
	}
	if s.Progress.Near && s.Progress.Next != "" {
		tags = append(tags, p.Tag("near-"+s.Progress.Next))
	}
	if c := p.cheapestReward(); c > 0 && s.Balance.Available >= c {
		tags = append(tags, p.Tag("reward-ready"))
	}
	if s.Expiry.Warn {
		tags = append(tags, p.Tag("points-expiring"))
	}
	if s.Segment.ABC != "" {
		tags = append(tags, p.Tag("segment-"+s.Segment.ABC))
	}
	sort.Strings(tags)
	return tags
}

// Fields returns the customer fields the program writes (Shopify
// metafields in the "loyalty" namespace, WooCommerce meta data): the
// balance, the tier and what is missing for the next, the referral code
// and the unused reward codes. Customers outside the program get none.
func (p *Program) Fields(s MemberState) map[string]string {
	if s.Cohort != CohortMember {
		return nil
	}
	f := map[string]string{
		"points_available": strconv.FormatInt(s.Balance.Available, 10),
		"points_pending":   strconv.FormatInt(s.Balance.Pending, 10),
		"tier":             s.Tier,
		"next_tier":        s.Progress.Next,
		"next_tier_needs":  s.Progress.String(),
		"reward_codes":     strings.Join(s.UnusedCodes, ","),
		"referral_code":    s.ReferralCode,
		"points_expire_on": "",
	}
	if !s.Expiry.At.IsZero() {
		f["points_expire_on"] = s.Expiry.At.In(p.Location()).Format(time.DateOnly)
	}
	if s.Link != "" {
		f["balance_link"] = s.Link
	}
	return f
}

// TagChanges returns the tags to add and to remove to go from the tags
// last written to the desired ones. Only program tags are ever removed.
func (p *Program) TagChanges(written, desired []string) (add, remove []string) {
	have := map[string]bool{}
	for _, t := range written {
		have[strings.ToLower(t)] = true
	}
	want := map[string]bool{}
	for _, t := range desired {
		want[strings.ToLower(t)] = true
		if !have[strings.ToLower(t)] {
			add = append(add, t)
		}
	}
	for _, t := range written {
		if !want[strings.ToLower(t)] && p.IsProgramTag(t) {
			remove = append(remove, t)
		}
	}
	return add, remove
}

// FieldChanges returns the fields whose value differs from what was last
// written.
func FieldChanges(written, desired map[string]string) map[string]string {
	changed := map[string]string{}
	for k, v := range desired {
		if old, ok := written[k]; !ok || old != v {
			changed[k] = v
		}
	}
	return changed
}

// Review is what decides when a member's standing can next change with
// the passing of time alone.
type Review struct {
	// Entries are the member's ledger entries (credits still pending
	// become available).
	Entries []commerce.LedgerEntry
	// Orders are the member's counting orders (each leaves the tier window).
	Orders []OrderFact
	// EnrolledAt starts the tenure.
	EnrolledAt time.Time
	// Tier is the member's tier state (a grace period ends).
	Tier TierState
	// Expiry is the state of the member's balance expiry.
	Expiry ExpiryState
	// CodeExpiries are the expiry times of the member's unused codes.
	CodeExpiries []time.Time
}

// NextReview returns the earliest moment after now at which the member's
// standing can change without anything happening on the platform: pending
// points become available, an order leaves the tier window, a grace period
// or a tenure threshold is reached, points start to expire or expire, a
// code expires. Zero means never.
func (p *Program) NextReview(r Review, now time.Time) time.Time {
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	for _, e := range r.Entries {
		if e.Points > 0 {
			consider(e.AvailableAt)
		}
	}
	if len(p.Tiers.Levels) > 0 {
		if !p.Tiers.Lifetime {
			for _, o := range r.Orders {
				consider(o.ProcessedAt.AddDate(0, 0, p.Tiers.WindowDays))
			}
		}
		if !r.Tier.Below.IsZero() {
			consider(r.Tier.Below.AddDate(0, 0, p.Tiers.GraceDays))
		}
		for _, l := range p.Tiers.Levels {
			if l.MinTenureDays > 0 && !r.EnrolledAt.IsZero() {
				consider(r.EnrolledAt.AddDate(0, 0, l.MinTenureDays))
			}
		}
	}
	if !r.Expiry.At.IsZero() {
		consider(r.Expiry.At.AddDate(0, 0, -p.Expiry.WarnDays))
		consider(r.Expiry.At)
	}
	for _, t := range r.CodeExpiries {
		consider(t)
	}
	return next
}
