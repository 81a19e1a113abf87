package loyalty

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// Program is a loyalty program as the owner describes it in the `program:`
// block of the configuration. The zero value is not usable: call
// SetDefaults, then Validate.
type Program struct {
	// Currency is the shop currency points are computed in.
	Currency string `yaml:"currency" json:"currency"`
	// Enrollment is "open" (every customer is a member from first sight) or
	// "invite" (only customers tagged InviteTag: a pilot).
	Enrollment string `yaml:"enrollment" json:"enrollment"`
	// InviteTag is the customer tag that enrolls a customer when
	// Enrollment is "invite".
	InviteTag string `yaml:"invite_tag" json:"invite_tag,omitempty"`
	// Earn says how orders earn points.
	Earn Earn `yaml:"earn" json:"earn"`
	// Tags says how the program's tags are named on the platform.
	Tags Tags `yaml:"tags" json:"tags"`
}

// Earn says how orders earn points.
type Earn struct {
	// PointsPerUnit is the points per major unit of the currency spent on
	// merchandise (per dollar, per yen).
	PointsPerUnit Decimal `yaml:"points_per_unit" json:"points_per_unit"`
	// PendingDays is how long an order's points stay pending (not
	// spendable) after the order is processed, so that returns inside the
	// window take back pending points instead of spent ones.
	PendingDays int `yaml:"pending_days" json:"pending_days"`
	// FirstOrderBonus is added to a customer's first paid order.
	FirstOrderBonus int64 `yaml:"first_order_bonus" json:"first_order_bonus"`
}

// Tags says how the program's customer tags are named.
type Tags struct {
	// Prefix starts every tag the program writes ("loyalty-"); only tags
	// with it are ever removed.
	Prefix string `yaml:"prefix" json:"prefix"`
}

// Enrollment modes.
const (
	EnrollOpen   = "open"
	EnrollInvite = "invite"
)

// SetDefaults fills in what the owner left out.
func (p *Program) SetDefaults() {
	if p.Enrollment == "" {
		p.Enrollment = EnrollOpen
	}
	if p.Earn.PointsPerUnit.IsZero() {
		p.Earn.PointsPerUnit = One
	}
	if p.Tags.Prefix == "" {
		p.Tags.Prefix = "loyalty-"
	}
	if c, err := commerce.NormalizeCurrency(p.Currency); err == nil {
		p.Currency = c
	}
}

// FieldError is a mistake in the program, at a key path relative to the
// program block ("earn.points_per_unit").
type FieldError struct {
	Path string
	Msg  string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Msg }

// FieldErrors is every mistake Validate found, in the order of the keys.
type FieldErrors []*FieldError

func (es FieldErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Validate checks the program and returns FieldErrors naming every key at
// fault, or nil.
func (p *Program) Validate() error {
	var errs FieldErrors
	add := func(path, format string, args ...any) {
		errs = append(errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if p.Currency == "" {
		add("currency", "required (the shop currency, such as USD)")
	} else if _, err := commerce.NormalizeCurrency(p.Currency); err != nil {
		add("currency", "%v", err)
	}
	switch p.Enrollment {
	case EnrollOpen:
	case EnrollInvite:
		if strings.TrimSpace(p.InviteTag) == "" {
			add("invite_tag", "required when enrollment is %q", EnrollInvite)
		}
	default:
		add("enrollment", "unknown mode %q (known: %s, %s)", p.Enrollment, EnrollOpen, EnrollInvite)
	}
	if p.Earn.PointsPerUnit.Sign() <= 0 {
		add("earn.points_per_unit", "must be greater than 0, got %s", p.Earn.PointsPerUnit)
	}
	if p.Earn.PendingDays < 0 {
		add("earn.pending_days", "must not be negative, got %d", p.Earn.PendingDays)
	}
	if p.Earn.FirstOrderBonus < 0 {
		add("earn.first_order_bonus", "must not be negative, got %d", p.Earn.FirstOrderBonus)
	}
	if strings.TrimSpace(p.Tags.Prefix) == "" {
		add("tags.prefix", "must not be empty: only tags with the prefix are ever removed")
	} else if strings.ContainsAny(p.Tags.Prefix, ", ") {
		add("tags.prefix", "must not contain commas or spaces, got %q", p.Tags.Prefix)
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// Version identifies the program's rules: two programs with the same
// version compute the same points. It is recorded with every order's rule
// snapshot.
func (p *Program) Version() string {
	b, _ := json.Marshal(p)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// Enrolled reports whether a customer is a member under the program's
// enrollment mode.
func (p *Program) Enrolled(c *commerce.Customer) bool {
	if p.Enrollment == EnrollInvite {
		return c.HasTag(p.InviteTag)
	}
	return true
}

// Tag returns the program's tag with the given name ("member" →
// "loyalty-member").
func (p *Program) Tag(name string) string { return p.Tags.Prefix + name }
