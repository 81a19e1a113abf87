package loyalty

import "time"

// ExpiryState says when a member's available points expire.
type ExpiryState struct {
	// At is when the available balance expires; zero when nothing will.
	At time.Time
	// Warn is set within warn_days of At.
	Warn bool
	// Due is set when At has passed: the available balance expires now.
	Due bool
}

// ExpiryOf decides the expiry of a member's points from their last activity
// (the last time they earned or redeemed) and their available balance.
func (p *Program) ExpiryOf(lastActivity time.Time, available int64, now time.Time) ExpiryState {
	if p.Expiry.InactiveDays <= 0 || available <= 0 || lastActivity.IsZero() {
		return ExpiryState{}
	}
	at := lastActivity.AddDate(0, 0, p.Expiry.InactiveDays)
	return ExpiryState{
		At:   at,
		Warn: p.Expiry.WarnDays > 0 && !now.Before(at.AddDate(0, 0, -p.Expiry.WarnDays)),
		Due:  !now.Before(at),
	}
}
