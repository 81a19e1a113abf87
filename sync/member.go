package sync

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/store"
)

// Outbox item kinds, and the lanes that keep one customer's writes of a
// kind in order.
const (
	OutboxAddTags    = "tags_add"
	OutboxRemoveTags = "tags_remove"
	OutboxFields     = "metafields"
	OutboxDiscount   = "discount"

	laneTags   = "tags"
	laneFields = "fields"
)

// tagsPayload is the payload of tag items.
type tagsPayload struct {
	Tags []string `json:"tags"`
}

// fieldsPayload is the payload of metafield items.
type fieldsPayload struct {
	Fields map[string]string `json:"fields"`
}

// discountPayload is the payload of discount items.
type discountPayload struct {
	// RedemptionID is the redemption the code is for; 0 for a referral code.
	RedemptionID int64                 `json:"redemption_id,omitempty"`
	Discount     commerce.DiscountCode `json:"discount"`
}

// place returns where the program puts a customer, placing it the first
// time: in the holdout group, among the members, or (invite-only
// programs) outside until invited. c is the customer's record when the
// caller has it; a customer known only from an order is placed without.
// A customer outside the program who is invited later becomes a member
// then, and their orders of the backdate window are credited.
func (e *Engine) place(tx *store.Tx, b *batch, customerID string, c *commerce.Customer) (*store.Member, error) {
	m, err := tx.Member(b.st.ID, customerID)
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	if c == nil && m != nil {
		return m, nil
	}
	if c == nil {
		stored, err := tx.Customer(b.st.ID, customerID)
		switch {
		case err == nil:
			c = &stored.Customer
		case isNotFound(err):
			c = &commerce.Customer{ID: customerID}
		default:
			return nil, err
		}
	}
	cohort := string(e.Program.Cohort(b.st.ID, c))
	if m != nil && (m.Cohort == cohort || m.Cohort == store.CohortMember || m.Cohort == store.CohortHoldout) {
		// Nobody leaves the holdout group, and members stay members.
		return m, nil
	}
	if m == nil {
		m = &store.Member{StoreID: b.st.ID, CustomerID: customerID}
	}
	m.Cohort = cohort
	joined := cohort == store.CohortMember
	if joined {
		m.EnrolledAt = tx.Now()
		b.r.Enrolled++
		if e.Program.Referrals.Enabled() {
			m.ReferralCode = e.Program.ReferralCode(b.st.ID, customerID)
			if err := e.queueDiscount(tx, b, customerID, 0, e.Program.ReferralDiscount(m.ReferralCode, c, tx.Now())); err != nil {
				return nil, err
			}
		}
	}
	if err := tx.SaveMember(m); err != nil {
		return nil, err
	}
	if joined {
		// Orders seen before the customer joined (an invitation arriving
		// later) earn now if they fall in the backdate window.
		orders, err := tx.CustomerOrders(b.st.ID, customerID)
		if err != nil {
			return nil, err
		}
		for _, o := range orders {
			if o.Snapshot == nil {
				if err := e.credit(tx, b, o); err != nil {
					return nil, err
				}
			}
		}
	}
	b.touch(customerID)
	return m, nil
}

// updateTier brings a member's tier up to date with their credited
// orders and rewarded referrals, and saves it.
func (e *Engine) updateTier(tx *store.Tx, b *batch, m *store.Member) error {
	if len(e.Program.Tiers.Levels) == 0 {
		return nil
	}
	now := tx.Now()
	facts, refs, err := e.qualifying(tx, b.st, m.CustomerID)
	if err != nil {
		return err
	}
	changed, err := e.applyTier(tx, b, m, e.Program.Qualify(facts, refs, m.EnrolledAt, now), now)
	if err != nil || !changed {
		return err
	}
	return tx.SaveMember(m)
}

// applyTier moves a member's tier for a qualification and reports whether
// anything changed; a new tier is announced to the notify endpoints.
func (e *Engine) applyTier(tx *store.Tx, b *batch, m *store.Member, q loyalty.Qualification, now time.Time) (bool, error) {
	cur := loyalty.TierState{Tier: m.Tier, Since: m.TierSince, Below: m.TierBelow}
	ts := e.Program.NextTierState(cur, q, now)
	if ts == cur {
		return false, nil
	}
	if ts.Tier != m.Tier {
		b.r.TierChanges++
		if err := e.emit(tx, b, m.CustomerID, EventTierChanged, fmt.Sprintf("%s:%s>%s", ts.Since.UTC().Format(time.RFC3339), m.Tier, ts.Tier),
			map[string]any{"from": m.Tier, "to": ts.Tier}); err != nil {
			return false, err
		}
	}
	m.Tier, m.TierSince, m.TierBelow = ts.Tier, ts.Since, ts.Below
	return true, nil
}

// qualifying returns what counts toward a member's tier: their credited
// orders and the times their referrals were rewarded.
func (e *Engine) qualifying(tx *store.Tx, st *Store, customerID string) ([]loyalty.OrderFact, []time.Time, error) {
	counted, err := tx.CountingOrders(st.ID, customerID)
	if err != nil {
		return nil, nil, err
	}
	facts := make([]loyalty.OrderFact, len(counted))
	for i, c := range counted {
		facts[i] = loyalty.OrderFact{ProcessedAt: c.ProcessedAt, Eligible: commerce.NewMoney(c.EligibleMinor, e.Program.Currency)}
	}
	refs, err := tx.Referrals(st.ID, customerID, store.ReferralRewarded)
	if err != nil {
		return nil, nil, err
	}
	var refTimes []time.Time
	for _, r := range refs {
		refTimes = append(refTimes, r.RewardedAt)
	}
	return facts, refTimes, nil
}

// memberView is what refresh computes about a member.
type memberView struct {
	member      *store.Member
	entries     []commerce.LedgerEntry
	balance     loyalty.Balance
	facts       []loyalty.OrderFact
	qual        loyalty.Qualification
	progress    loyalty.Progress
	expiry      loyalty.ExpiryState
	redemptions []*store.Redemption
}

// view gathers what the program knows about a placed customer at now.
func (e *Engine) view(tx *store.Tx, st *Store, customerID string, now time.Time) (*memberView, error) {
	m, err := tx.Member(st.ID, customerID)
	if err != nil {
		return nil, err
	}
	v := &memberView{member: m}
	if v.entries, err = tx.Ledger(st.ID, customerID); err != nil {
		return nil, err
	}
	v.balance = loyalty.ComputeBalance(v.entries, now)
	facts, refs, err := e.qualifying(tx, st, customerID)
	if err != nil {
		return nil, err
	}
	v.facts = facts
	v.qual = e.Program.Qualify(facts, refs, m.EnrolledAt, now)
	v.progress = e.Program.Progress(m.Tier, v.qual)
	var last time.Time
	for _, en := range v.entries {
		switch {
		case en.Kind == commerce.KindRedeem, en.Points > 0 && (en.Kind == commerce.KindEarn || en.Kind == commerce.KindBonus || en.Kind == commerce.KindReferral):
			if en.At.After(last) {
				last = en.At
			}
		}
	}
	v.expiry = e.Program.ExpiryOf(last, v.balance.Available, now)
	if v.redemptions, err = tx.Redemptions(st.ID, customerID); err != nil {
		return nil, err
	}
	return v, nil
}

// refresh brings a member's standing up to date at the batch's time: the
// tier (up at once, down after the grace period), expiry of an inactive
// balance, automatic redemption, the tags and fields on the platform, and
// the time of the member's next review.
func (e *Engine) refresh(tx *store.Tx, b *batch, customerID string) error {
	now := tx.Now()
	m, err := e.place(tx, b, customerID, nil)
	if err != nil || m.Cohort != store.CohortMember {
		return err
	}
	v, err := e.view(tx, b.st, customerID, now)
	if err != nil {
		return err
	}
	m = v.member
	if _, err := e.applyTier(tx, b, m, v.qual, now); err != nil {
		return err
	}
	v.progress = e.Program.Progress(m.Tier, v.qual)

	if v.expiry.Due {
		reason := fmt.Sprintf("No points earned or redeemed for %d days: %d available points expired",
			e.Program.Expiry.InactiveDays, v.balance.Available)
		if _, err := e.entitleStream(tx, b, customerID, expireStream(customerID, v.expiry.At), commerce.KindExpire,
			-v.balance.Available, "", now, reason); err != nil {
			return err
		}
		b.r.Expired++
		if err := e.reload(tx, b, v, m, now); err != nil {
			return err
		}
	}
	if e.Program.AutoRedeem.Reward != "" && !e.autoRedeemFailed(v.redemptions, now) {
		for range 100 { // a bound, in case a balance could buy without end
			used, err := tx.AutoRedeemedValue(b.st.ID, e.Program.MonthStart(now))
			if err != nil {
				return err
			}
			r, _ := e.Program.AutoRedeemDue(v.balance, commerce.NewMoney(used, e.Program.Currency))
			if r == nil {
				break
			}
			if _, err := e.redeem(tx, b, customerID, r, "", true); err != nil {
				return err
			}
			if err := e.reload(tx, b, v, m, now); err != nil {
				return err
			}
		}
	}
	state := loyalty.MemberState{
		Cohort:       loyalty.Cohort(m.Cohort),
		Tier:         m.Tier,
		Progress:     v.progress,
		Balance:      v.balance,
		Expiry:       v.expiry,
		Segment:      loyalty.Segment{ABC: m.ABC},
		ReferralCode: m.ReferralCode,
	}
	if e.Link != nil {
		state.Link = e.Link(b.st.ID, customerID, now)
	}
	var codeExpiries []time.Time
	for _, r := range v.redemptions {
		if (r.Status == store.RedemptionIssued || r.Status == store.RedemptionCreated) && (r.ExpiresAt.IsZero() || now.Before(r.ExpiresAt)) {
			state.UnusedCodes = append(state.UnusedCodes, r.Code)
			if !r.ExpiresAt.IsZero() {
				codeExpiries = append(codeExpiries, r.ExpiresAt)
			}
		}
	}
	if v.expiry.Warn && !v.expiry.Due {
		if err := e.emit(tx, b, customerID, EventPointsExpiring, v.expiry.At.UTC().Format(time.DateOnly), map[string]any{
			"points": v.balance.Available, "expires_on": v.expiry.At.In(e.Program.Location()).Format(time.DateOnly)}); err != nil {
			return err
		}
	}
	m.ReviewAt = e.Program.NextReview(loyalty.Review{Entries: v.entries, Orders: v.facts, EnrolledAt: m.EnrolledAt,
		Tier: loyalty.TierState{Tier: m.Tier, Since: m.TierSince, Below: m.TierBelow}, Expiry: v.expiry,
		CodeExpiries: codeExpiries}, now)
	if err := e.queueWriteBack(tx, b, m, state); err != nil {
		return err
	}
	return tx.SaveMember(m)
}

// reload re-reads the ledger-derived parts of a view after refresh wrote
// to the ledger, keeping the member being edited.
func (e *Engine) reload(tx *store.Tx, b *batch, v *memberView, m *store.Member, now time.Time) error {
	nv, err := e.view(tx, b.st, m.CustomerID, now)
	if err != nil {
		return err
	}
	nv.member = m
	nv.progress = e.Program.Progress(m.Tier, nv.qual)
	*v = *nv
	return nil
}

// autoRedeemFailed reports whether an automatic redemption of the member
// failed this month: automatic redemption then waits for next month (or
// for staff), instead of taking and returning points on every pass while
// the platform refuses codes.
func (e *Engine) autoRedeemFailed(reds []*store.Redemption, now time.Time) bool {
	from := e.Program.MonthStart(now)
	for _, r := range reds {
		if r.Auto && r.Status == store.RedemptionFailed && !r.CreatedAt.Before(from) {
			return true
		}
	}
	return false
}

// queueWriteBack queues the tag and field changes that bring the platform
// to the member's state, and remembers what was queued.
func (e *Engine) queueWriteBack(tx *store.Tx, b *batch, m *store.Member, state loyalty.MemberState) error {
	add, remove := e.Program.TagChanges(m.TagsWritten, e.Program.DesiredTags(state))
	if _, ok := b.st.Conn.(connectors.TagWriter); ok || b.st.Conn == nil {
		for _, ch := range []struct {
			kind string
			tags []string
		}{{OutboxRemoveTags, remove}, {OutboxAddTags, add}} {
			if len(ch.tags) == 0 {
				continue
			}
			payload, _ := json.Marshal(tagsPayload{Tags: ch.tags})
			if _, err := tx.Enqueue(store.OutboxItem{StoreID: b.st.ID, Kind: ch.kind, Lane: laneTags,
				CustomerID: m.CustomerID, Payload: payload}); err != nil {
				return err
			}
			b.r.Queued++
		}
		m.TagsWritten = e.Program.DesiredTags(state)
	}
	fields := e.Program.Fields(state)
	if _, ok := b.st.Conn.(connectors.MetafieldWriter); (ok || b.st.Conn == nil) && fields != nil {
		changed := loyalty.FieldChanges(m.FieldsWritten, fields)
		if len(changed) > 0 {
			payload, _ := json.Marshal(fieldsPayload{Fields: changed})
			if _, err := tx.Enqueue(store.OutboxItem{StoreID: b.st.ID, Kind: OutboxFields, Lane: laneFields,
				CustomerID: m.CustomerID, Payload: payload}); err != nil {
				return err
			}
			b.r.Queued++
		}
		m.FieldsWritten = fields
	}
	return nil
}

// queueDiscount queues a discount code for the platform, once per code.
func (e *Engine) queueDiscount(tx *store.Tx, b *batch, customerID string, redemptionID int64, d commerce.DiscountCode) error {
	payload, err := json.Marshal(discountPayload{RedemptionID: redemptionID, Discount: d})
	if err != nil {
		return err
	}
	queued, err := tx.Enqueue(store.OutboxItem{StoreID: b.st.ID, Kind: OutboxDiscount, CustomerID: customerID,
		Key: "discount:" + d.Code, Payload: payload})
	if queued {
		b.r.Queued++
	}
	return err
}
