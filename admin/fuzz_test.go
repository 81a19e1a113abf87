package admin_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/loyaltyd/loyaltyd/admin"
)

// FuzzLinksVerify fuzzes the token of a balance link (/me/{token}), which
// anyone can send. Verify must not panic and refuses with ErrBadLink; a
// token it accepts names a store and a customer and is still valid; a
// link it made reads back as made until it expires and never after; a
// link with its signature changed, or checked under another secret, is
// refused.
func FuzzLinksVerify(f *testing.F) {
	l := &admin.Links{Secret: []byte("link-secret"), BaseURL: "https://loyalty.example"}
	exp := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	f.Add(l.Token("acme", "5341", exp), "acme", "5341", exp.Unix(), exp.Unix()-1)
	f.Add(l.Token("acme", "guest:a@b.c", exp), "x", "y\x00z", int64(-1), int64(0))
	f.Add("AAAAAAAAAAA.AAAA", "", "", int64(0), int64(0))
	f.Add("..", "a", "b", int64(1<<62), int64(-1<<62))
	f.Fuzz(func(t *testing.T, token, storeID, customerID string, expires, now int64) {
		at := time.Unix(now, 0)
		s, c, err := l.Verify(token, at)
		switch {
		case err != nil && !errors.Is(err, admin.ErrBadLink):
			t.Fatalf("error %v is not ErrBadLink", err)
		case err == nil && (s == "" || c == ""):
			t.Fatalf("token %q accepted for store %q customer %q", token, s, c)
		}
		// Store ids are configuration names (letters, digits, - and _);
		// customer ids are the platform's.
		if storeID == "" || customerID == "" || strings.ContainsRune(storeID, 0) {
			return
		}
		tok := l.Token(storeID, customerID, time.Unix(expires, 0))
		s, c, err = l.Verify(tok, at)
		if now < expires {
			if err != nil || s != storeID || c != customerID {
				t.Fatalf("own link for %q/%q read back as %q/%q, %v", storeID, customerID, s, c, err)
			}
		} else if err == nil {
			t.Fatalf("a link that expired at %d accepted at %d", expires, now)
		}
		payload, sig, _ := strings.Cut(tok, ".")
		i, repl := len(sig)/2, "A"
		if sig[i] == 'A' {
			repl = "B"
		}
		flipped := payload + "." + sig[:i] + repl + sig[i+1:]
		if _, _, err := l.Verify(flipped, at); err == nil {
			t.Fatalf("a link with its signature changed (%q) accepted", flipped)
		}
		other := &admin.Links{Secret: []byte("another-secret")}
		if _, _, err := other.Verify(tok, at); err == nil {
			t.Fatal("a link checked under another secret accepted")
		}
	})
}
