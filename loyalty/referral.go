package loyalty

import (
	"strings"
	"unicode"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// ReferralClaim is a friend's order that used a member's referral code,
// with what is needed to judge it.
type ReferralClaim struct {
	// ReferrerID and ReferrerEmail are the code's owner.
	ReferrerID    string
	ReferrerEmail string
	// ReferrerAddresses are the shipping addresses of the referrer's orders.
	ReferrerAddresses []commerce.Address
	// Order is the friend's order that used the code.
	Order *commerce.Order
	// FriendEmail is the friend's e-mail (the order's, or the customer's).
	FriendEmail string
	// FriendPaidOrdersBefore counts the friend's paid orders processed
	// before this one.
	FriendPaidOrdersBefore int
}

// JudgeReferral decides whether a claim is a genuine referral. A refused
// claim gets the reason, recorded for staff to see: the code's owner
// using it, the same e-mail (case and "+tag" folded) or the same shipping
// address as the referrer, or a friend who had bought before.
func JudgeReferral(c ReferralClaim) (ok bool, reason string) {
	switch {
	case c.Order.CustomerID != "" && c.Order.CustomerID == c.ReferrerID:
		return false, "self-referral: the code's owner used it"
	case c.FriendEmail != "" && commerce.FoldEmail(c.FriendEmail) == commerce.FoldEmail(c.ReferrerEmail):
		return false, "self-referral: same e-mail as the referrer"
	case c.FriendPaidOrdersBefore > 0:
		return false, "not the friend's first order"
	}
	if a := c.Order.ShippingAddress; a != nil && addressKey(*a) != "" {
		for _, r := range c.ReferrerAddresses {
			if addressKey(r) == addressKey(*a) {
				return false, "self-referral: same shipping address as the referrer"
			}
		}
	}
	return true, ""
}

// addressKey reduces an address to what identifies it: the street line,
// the postal code and the country, lower case, letters and digits only.
func addressKey(a commerce.Address) string {
	if strings.TrimSpace(a.Address1) == "" {
		return ""
	}
	var b strings.Builder
	for _, s := range []string{a.Address1, a.Zip, a.Country} {
		for _, r := range strings.ToLower(s) {
			if unicode.IsLetter(r) || unicode.IsDigit(r) {
				b.WriteRune(r)
			}
		}
		b.WriteByte('|')
	}
	return b.String()
}
