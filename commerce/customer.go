package commerce

import (
	"strings"
	"time"
)

// Customer is a store's customer. E-mail and names are personal data: they
// are stored and shown to staff, never logged.
type Customer struct {
	// ID is the platform's customer id, unique within a store. WooCommerce
	// guests get a derived id ("guest:" + the folded e-mail).
	ID string `json:"id"`
	// Email is the customer's e-mail address.
	Email string `json:"email,omitempty"`
	// FirstName and LastName are the customer's names.
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	// Tags are the platform's customer tags, all of them (the program's and
	// the store's own).
	Tags []string `json:"tags,omitempty"`
	// CreatedAt is when the customer was created on the platform.
	CreatedAt time.Time `json:"created_at"`
	// UpdatedAt is the platform's last modification time.
	UpdatedAt time.Time `json:"updated_at"`
	// Guest marks a customer known only from guest orders.
	Guest bool `json:"guest,omitempty"`
	// Raw is the platform's payload as read; not part of the JSON form.
	Raw []byte `json:"-"`
}

// Name returns "First Last", each name trimmed, either one omitted when empty.
func (c *Customer) Name() string {
	first, last := strings.TrimSpace(c.FirstName), strings.TrimSpace(c.LastName)
	if first == "" || last == "" {
		return first + last
	}
	return first + " " + last
}

// HasTag reports whether the customer carries tag, compared without regard
// to case or surrounding space, as the platforms compare tags.
func (c *Customer) HasTag(tag string) bool {
	for _, t := range c.Tags {
		if strings.EqualFold(strings.TrimSpace(t), strings.TrimSpace(tag)) {
			return true
		}
	}
	return false
}

// FoldEmail returns the form of an e-mail address used to recognise one
// person behind several spellings: lower case, surrounding space removed, and
// a "+tag" in the local part dropped ("Ann+shop@Example.com" →
// "ann@example.com").
func FoldEmail(email string) string {
	e := strings.ToLower(strings.TrimSpace(email))
	local, domain, ok := strings.Cut(e, "@")
	if !ok {
		return e
	}
	// A local part that starts with "+" is all tag or none: dropping it
	// would fold everyone at the domain into "@domain".
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	return local + "@" + domain
}
