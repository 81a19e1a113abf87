package commerce_test

import (
	"testing"

	"github.com/loyaltyd/loyaltyd/commerce"
)

func TestFoldEmail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"ann@example.com", "ann@example.com"},
		{"Ann@Example.COM", "ann@example.com"},
		{"  ann@example.com\t\n", "ann@example.com"},
		{"Ann+shop@Example.com", "ann@example.com"},
		{" ANN+Shop@example.com ", "ann@example.com"},
		{"ann+a+b@example.com", "ann@example.com"},
		{"ann+@example.com", "ann@example.com"},
		{"ann@ex+ample.com", "ann@ex+ample.com"}, // the domain keeps its plus
		{"first.last@example.com", "first.last@example.com"},
		// A local part that starts with "+" has no tag to drop: folding it to
		// "@example.com" would make one person of everyone at the domain.
		{"+shop@example.com", "+shop@example.com"},
		{"+@example.com", "+@example.com"},
		// Without an @ only case and space fold.
		{"Not An Email+x ", "not an email+x"},
		{"ANN+SHOP", "ann+shop"},
		{"", ""},
		{"   ", ""},
	}
	for _, tt := range tests {
		got := commerce.FoldEmail(tt.in)
		if got != tt.want {
			t.Errorf("FoldEmail(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if again := commerce.FoldEmail(got); again != got {
			t.Errorf("FoldEmail(%q) = %q, not idempotent: FoldEmail(%q) = %q", tt.in, got, got, again)
		}
	}
}

func TestFoldEmailDistinctPeople(t *testing.T) {
	t.Parallel()
	pairs := [][2]string{
		{"ann@example.com", "bob@example.com"},
		{"ann@example.com", "ann@example.org"},
		{"+ann@example.com", "+bob@example.com"},
	}
	for _, p := range pairs {
		if a, b := commerce.FoldEmail(p[0]), commerce.FoldEmail(p[1]); a == b {
			t.Errorf("FoldEmail(%q) = FoldEmail(%q) = %q, want different", p[0], p[1], a)
		}
	}
}

func TestCustomerHasTag(t *testing.T) {
	t.Parallel()
	c := &commerce.Customer{Tags: []string{"VIP", " gold tier ", "loyalty:member"}}
	tests := []struct {
		tag  string
		want bool
	}{
		{"VIP", true},
		{"vip", true},
		{" Vip\t", true},
		{"gold tier", true},
		{"GOLD TIER", true},
		{"loyalty:member", true},
		{"gold", false},
		{"goldtier", false},
		{"VIPs", false},
		{"loyalty", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := c.HasTag(tt.tag); got != tt.want {
			t.Errorf("HasTag(%q) with tags %q = %t, want %t", tt.tag, c.Tags, got, tt.want)
		}
	}
	if (&commerce.Customer{}).HasTag("vip") {
		t.Errorf("HasTag(vip) without tags = true, want false")
	}
}

func TestCustomerName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		first, last, want string
	}{
		{"Ann", "Lee", "Ann Lee"},
		{"Ann", "", "Ann"},
		{"", "Lee", "Lee"},
		{"", "", ""},
		{" Ann ", " Lee ", "Ann Lee"},
		{"Mary Ann", "van Lee", "Mary Ann van Lee"},
		{"  ", "Lee", "Lee"},
	}
	for _, tt := range tests {
		c := &commerce.Customer{FirstName: tt.first, LastName: tt.last}
		if got := c.Name(); got != tt.want {
			t.Errorf("Name() of %q %q = %q, want %q", tt.first, tt.last, got, tt.want)
		}
	}
}
