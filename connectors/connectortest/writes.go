package connectortest

import (
	"context"
	"errors"
	"testing"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/connectors"
)

func (s *suite) tagTests() []test {
	return []test{
		{"AddKeepsOthers", s.tagsAddKeepsOthers},
		{"AddTwice", s.tagsAddTwice},
		{"Remove", s.tagsRemove},
		{"NotFound", s.tagsNotFound},
		{"Cancelled", s.tagsCancelled},
		{"TransientFaults", s.tagsTransientFaults},
		{"WriteThenFail", s.tagsWriteThenFail},
	}
}

func (s *suite) tagWriter(t *testing.T) (Fake, connectors.TagWriter) {
	t.Helper()
	f, c := s.open(t)
	return f, capability[connectors.TagWriter](t, c)
}

// tagsAddKeepsOthers: adding tags keeps the customer's other tags, the
// store's own among them.
func (s *suite) tagsAddKeepsOthers(t *testing.T) {
	f, tw := s.tagWriter(t)
	addMember(t, f, "vip", "newsletter")
	if err := tw.AddTags(t.Context(), memberID, []string{"loyalty-gold", "loyalty-member"}); err != nil {
		t.Fatalf("AddTags: %v", err)
	}
	wantTags(t, f, "vip", "newsletter", "loyalty-gold", "loyalty-member")
}

// tagsAddTwice: adding a tag the customer has, in any case, is success and
// leaves one copy.
func (s *suite) tagsAddTwice(t *testing.T) {
	f, tw := s.tagWriter(t)
	addMember(t, f, "vip")
	for _, tag := range []string{"loyalty-gold", "loyalty-gold", "LOYALTY-GOLD"} {
		if err := tw.AddTags(t.Context(), memberID, []string{tag}); err != nil {
			t.Fatalf("AddTags(%q): %v", tag, err)
		}
	}
	wantTags(t, f, "vip", "loyalty-gold")
}

// tagsRemove: removing tags removes only those named; removing a tag the
// customer lacks is success.
func (s *suite) tagsRemove(t *testing.T) {
	f, tw := s.tagWriter(t)
	addMember(t, f, "vip", "loyalty-silver", "loyalty-gold")
	for range 2 {
		if err := tw.RemoveTags(t.Context(), memberID, []string{"loyalty-silver", "loyalty-absent"}); err != nil {
			t.Fatalf("RemoveTags: %v", err)
		}
		wantTags(t, f, "vip", "loyalty-gold")
	}
}

// tagsNotFound: both methods fail with ErrNotFound for an unknown customer.
func (s *suite) tagsNotFound(t *testing.T) {
	f, tw := s.tagWriter(t)
	addMember(t, f)
	if err := tw.AddTags(t.Context(), missingID, []string{"loyalty-gold"}); !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("AddTags to an unknown customer: got error %v, want one wrapping connectors.ErrNotFound", err)
	}
	if err := tw.RemoveTags(t.Context(), missingID, []string{"loyalty-gold"}); !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("RemoveTags from an unknown customer: got error %v, want one wrapping connectors.ErrNotFound", err)
	}
}

// tagsCancelled: both methods fail with ctx.Err() under an ended context.
func (s *suite) tagsCancelled(t *testing.T) {
	f, tw := s.tagWriter(t)
	addMember(t, f, "loyalty-silver")
	ctx := cancelled(t)
	if err := tw.AddTags(ctx, memberID, []string{"loyalty-gold"}); !errors.Is(err, context.Canceled) {
		t.Errorf("AddTags with a cancelled context: got error %v, want one wrapping context.Canceled", err)
	}
	if err := tw.RemoveTags(ctx, memberID, []string{"loyalty-silver"}); !errors.Is(err, context.Canceled) {
		t.Errorf("RemoveTags with a cancelled context: got error %v, want one wrapping context.Canceled", err)
	}
}

// tagsTransientFaults: writes retried through passing failures land once.
func (s *suite) tagsTransientFaults(t *testing.T) {
	f, tw := s.tagWriter(t)
	inj := capability[FaultInjector](t, f)
	addMember(t, f, "vip")
	inj.FailNext(t, OpAddTags, 3)
	retry(t, "AddTags", func() error { return tw.AddTags(t.Context(), memberID, []string{"loyalty-gold"}) })
	wantTags(t, f, "vip", "loyalty-gold")
	inj.FailNext(t, OpRemoveTags, 3)
	retry(t, "RemoveTags", func() error { return tw.RemoveTags(t.Context(), memberID, []string{"loyalty-gold"}) })
	wantTags(t, f, "vip")
}

// tagsWriteThenFail: a write that landed although the connector heard of a
// failure is harmless to retry.
func (s *suite) tagsWriteThenFail(t *testing.T) {
	f, tw := s.tagWriter(t)
	inj := capability[FaultInjector](t, f)
	addMember(t, f, "vip")
	inj.FailAfterWrite(t, OpAddTags, 1)
	retry(t, "AddTags", func() error { return tw.AddTags(t.Context(), memberID, []string{"loyalty-gold"}) })
	wantTags(t, f, "vip", "loyalty-gold")
	inj.FailAfterWrite(t, OpRemoveTags, 1)
	retry(t, "RemoveTags", func() error { return tw.RemoveTags(t.Context(), memberID, []string{"loyalty-gold"}) })
	wantTags(t, f, "vip")
}

// wantTags reports when the member's tags are not want, each once.
func wantTags(t *testing.T, f Fake, want ...string) {
	t.Helper()
	if got := f.Tags(t, memberID); !sameTags(got, want) {
		t.Errorf("customer %s has tags %q, want %q", memberID, got, want)
	}
}

func (s *suite) discountTests() []test {
	return []test{
		{"EnsureTwice", s.discountEnsureTwice},
		{"Shared", s.discountShared},
		{"CaseInsensitive", s.discountCaseInsensitive},
		{"NotFound", s.discountNotFound},
		{"Rejected", s.discountRejected},
		{"Cancelled", s.discountCancelled},
		{"TransientFaults", s.discountTransientFaults},
		{"WriteThenFail", s.discountWriteThenFail},
	}
}

func (s *suite) discountWriter(t *testing.T) (Fake, connectors.DiscountWriter) {
	t.Helper()
	f, c := s.open(t)
	return f, capability[connectors.DiscountWriter](t, c)
}

// reward returns a five-dollar code for the member.
func reward(code string) commerce.DiscountCode {
	return commerce.DiscountCode{
		Code:       code,
		CustomerID: memberID,
		Email:      "ann@example.com",
		Type:       commerce.DiscountFixedAmount,
		Amount:     usd(500),
		StartsAt:   base,
		Title:      "Loyalty: $5 off",
	}
}

// ensure calls EnsureDiscount and fails the test on an error or an empty id.
func ensure(t *testing.T, dw connectors.DiscountWriter, d commerce.DiscountCode) string {
	t.Helper()
	id, err := dw.EnsureDiscount(t.Context(), d)
	if err != nil {
		t.Fatalf("EnsureDiscount(%s): %v", d.Code, err)
	}
	if id == "" {
		t.Fatalf("EnsureDiscount(%s) returned an empty id", d.Code)
	}
	return id
}

// wantCreations reports when the platform did not create code exactly want
// times.
func wantCreations(t *testing.T, f Fake, code string, want int) {
	t.Helper()
	if got := f.DiscountCreations(t, code); got != want {
		t.Errorf("the platform created %s %d times, want %d", code, got, want)
	}
}

// discountEnsureTwice: a second EnsureDiscount finds the code and returns
// its id instead of creating another.
func (s *suite) discountEnsureTwice(t *testing.T) {
	f, dw := s.discountWriter(t)
	addMember(t, f)
	d := reward("LOYALTY-TWICE-0001")
	first := ensure(t, dw, d)
	if again := ensure(t, dw, d); again != first {
		t.Errorf("second EnsureDiscount returned id %q, want the first one's %q", again, first)
	}
	wantCreations(t, f, d.Code, 1)
}

// discountShared: a member's referral code is shared (any customer may
// use it once, nobody is its customer); it is created once like any other.
func (s *suite) discountShared(t *testing.T) {
	f, dw := s.discountWriter(t)
	addMember(t, f)
	d := commerce.DiscountCode{Code: "REF-SHARED-0001", Type: commerce.DiscountFixedAmount, Amount: usd(1000),
		StartsAt: base, Shared: true, OwnerID: memberID, Title: "Referral from a member"}
	first := ensure(t, dw, d)
	if again := ensure(t, dw, d); again != first {
		t.Errorf("second EnsureDiscount of a shared code returned id %q, want %q", again, first)
	}
	wantCreations(t, f, d.Code, 1)
}

// discountCaseInsensitive: codes are one code in any case, as shoppers type
// them and platforms accept them, so the look-up must find the code whatever
// case the platform stored it in.
func (s *suite) discountCaseInsensitive(t *testing.T) {
	f, dw := s.discountWriter(t)
	addMember(t, f)
	upper := reward("LOYALTY-CASE-0001")
	lower := reward("loyalty-case-0001")
	first := ensure(t, dw, upper)
	if again := ensure(t, dw, lower); again != first {
		t.Errorf("EnsureDiscount(%s) returned id %q, want %s's %q", lower.Code, again, upper.Code, first)
	}
	wantCreations(t, f, upper.Code, 1)
}

// discountNotFound: a code for an unknown customer fails with ErrNotFound
// and creates nothing.
func (s *suite) discountNotFound(t *testing.T) {
	f, dw := s.discountWriter(t)
	addMember(t, f)
	d := reward("LOYALTY-NOBODY-0001")
	d.CustomerID, d.Email = missingID, "nobody@example.com"
	if _, err := dw.EnsureDiscount(t.Context(), d); !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("EnsureDiscount for an unknown customer: got error %v, want one wrapping connectors.ErrNotFound", err)
	}
	wantCreations(t, f, d.Code, 0)
}

// discountRejected: a code no platform can take fails with ErrRejected, so
// the outbox dead-letters it instead of retrying forever.
func (s *suite) discountRejected(t *testing.T) {
	f, dw := s.discountWriter(t)
	addMember(t, f)
	for _, tc := range []struct {
		name string
		edit func(*commerce.DiscountCode)
	}{
		{"empty code", func(d *commerce.DiscountCode) { d.Code = "" }},
		{"unknown type", func(d *commerce.DiscountCode) { d.Type = "bogus" }},
	} {
		d := reward("LOYALTY-BAD-0001")
		tc.edit(&d)
		if _, err := dw.EnsureDiscount(t.Context(), d); !errors.Is(err, connectors.ErrRejected) {
			t.Errorf("EnsureDiscount with an %s: got error %v, want one wrapping connectors.ErrRejected", tc.name, err)
		}
	}
	wantCreations(t, f, "LOYALTY-BAD-0001", 0)
}

// discountCancelled: EnsureDiscount fails with ctx.Err() under an ended
// context.
func (s *suite) discountCancelled(t *testing.T) {
	f, dw := s.discountWriter(t)
	addMember(t, f)
	if _, err := dw.EnsureDiscount(cancelled(t), reward("LOYALTY-CTX-0001")); !errors.Is(err, context.Canceled) {
		t.Errorf("EnsureDiscount with a cancelled context: got error %v, want one wrapping context.Canceled", err)
	}
}

// discountTransientFaults: a code retried through passing failures is
// created once.
func (s *suite) discountTransientFaults(t *testing.T) {
	f, dw := s.discountWriter(t)
	inj := capability[FaultInjector](t, f)
	addMember(t, f)
	d := reward("LOYALTY-STORM-0001")
	inj.FailNext(t, OpEnsureDiscount, 3)
	var id string
	retry(t, "EnsureDiscount", func() (err error) {
		id, err = dw.EnsureDiscount(t.Context(), d)
		return err
	})
	if again := ensure(t, dw, d); again != id {
		t.Errorf("EnsureDiscount after the storm returned id %q, want %q", again, id)
	}
	wantCreations(t, f, d.Code, 1)
}

// discountWriteThenFail: a code created although the connector heard of a
// failure is found, not created again, by the retry.
func (s *suite) discountWriteThenFail(t *testing.T) {
	f, dw := s.discountWriter(t)
	inj := capability[FaultInjector](t, f)
	addMember(t, f)
	d := reward("LOYALTY-LOST-0001")
	inj.FailAfterWrite(t, OpEnsureDiscount, 1)
	var id string
	retry(t, "EnsureDiscount", func() (err error) {
		id, err = dw.EnsureDiscount(t.Context(), d)
		return err
	})
	wantCreations(t, f, d.Code, 1)
	if again := ensure(t, dw, d); again != id {
		t.Errorf("EnsureDiscount after the lost answer returned id %q, want %q", again, id)
	}
	wantCreations(t, f, d.Code, 1)
}

func (s *suite) metafieldTests() []test {
	return []test{
		{"SetAndOverwrite", s.metafieldsSetAndOverwrite},
		{"NotFound", s.metafieldsNotFound},
		{"Guest", s.metafieldsGuest},
		{"Cancelled", s.metafieldsCancelled},
		{"TransientFaults", s.metafieldsTransientFaults},
	}
}

func (s *suite) metafieldWriter(t *testing.T) (Fake, connectors.MetafieldWriter) {
	t.Helper()
	f, c := s.open(t)
	return f, capability[connectors.MetafieldWriter](t, c)
}

// wantFields reports every field of want the customer lacks or holds with
// another value; the platform may hold other fields too.
func wantFields(t *testing.T, f Fake, customerID string, want map[string]string) {
	t.Helper()
	got := f.Metafields(t, customerID)
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("customer %s: field %s = %q (present: %t), want %q", customerID, k, g, ok, v)
		}
	}
}

// metafieldsSetAndOverwrite: setting fields overwrites those named and
// keeps the others.
func (s *suite) metafieldsSetAndOverwrite(t *testing.T) {
	f, mw := s.metafieldWriter(t)
	addMember(t, f)
	steps := []struct {
		set, want map[string]string
	}{
		{map[string]string{"loyalty_points": "340", "loyalty_tier": "silver"}, map[string]string{"loyalty_points": "340", "loyalty_tier": "silver"}},
		{map[string]string{"loyalty_tier": "gold"}, map[string]string{"loyalty_points": "340", "loyalty_tier": "gold"}},
		{map[string]string{}, map[string]string{"loyalty_points": "340", "loyalty_tier": "gold"}},
	}
	for i, step := range steps {
		if err := mw.SetMetafields(t.Context(), memberID, step.set); err != nil {
			t.Fatalf("step %d: SetMetafields(%v): %v", i, step.set, err)
		}
		wantFields(t, f, memberID, step.want)
	}
}

// metafieldsNotFound: fields for an unknown customer fail with ErrNotFound.
func (s *suite) metafieldsNotFound(t *testing.T) {
	f, mw := s.metafieldWriter(t)
	addMember(t, f)
	err := mw.SetMetafields(t.Context(), missingID, map[string]string{"loyalty_points": "1"})
	if !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("SetMetafields on an unknown customer: got error %v, want one wrapping connectors.ErrNotFound", err)
	}
}

// metafieldsGuest: fields for a guest are stored, or refused with
// ErrUnsupported where the platform has nowhere to put them; nothing else.
func (s *suite) metafieldsGuest(t *testing.T) {
	f, mw := s.metafieldWriter(t)
	f.AddCustomers(t, commerce.Customer{ID: guestID, Email: "guest@example.com", Guest: true, CreatedAt: base, UpdatedAt: base})
	fields := map[string]string{"loyalty_points": "15"}
	err := mw.SetMetafields(t.Context(), guestID, fields)
	switch {
	case err == nil:
		wantFields(t, f, guestID, fields)
	case !errors.Is(err, connectors.ErrUnsupported):
		t.Errorf("SetMetafields on a guest: got error %v, want success or one wrapping connectors.ErrUnsupported", err)
	}
}

// metafieldsCancelled: SetMetafields fails with ctx.Err() under an ended
// context.
func (s *suite) metafieldsCancelled(t *testing.T) {
	f, mw := s.metafieldWriter(t)
	addMember(t, f)
	if err := mw.SetMetafields(cancelled(t), memberID, map[string]string{"loyalty_points": "1"}); !errors.Is(err, context.Canceled) {
		t.Errorf("SetMetafields with a cancelled context: got error %v, want one wrapping context.Canceled", err)
	}
}

// metafieldsTransientFaults: fields retried through passing failures land.
func (s *suite) metafieldsTransientFaults(t *testing.T) {
	f, mw := s.metafieldWriter(t)
	inj := capability[FaultInjector](t, f)
	addMember(t, f)
	fields := map[string]string{"loyalty_points": "340"}
	inj.FailNext(t, OpSetMetafields, 3)
	retry(t, "SetMetafields", func() error { return mw.SetMetafields(t.Context(), memberID, fields) })
	wantFields(t, f, memberID, fields)
}

func (s *suite) checkerTests() []test {
	return []test{
		{"Healthy", s.checkHealthy},
		{"Unauthorized", s.checkUnauthorized},
		{"Cancelled", s.checkCancelled},
	}
}

func (s *suite) checker(t *testing.T) (Fake, connectors.Checker) {
	t.Helper()
	f, c := s.open(t)
	return f, capability[connectors.Checker](t, c)
}

// checkHealthy: a fake that grants access passes the check.
func (s *suite) checkHealthy(t *testing.T) {
	_, ch := s.checker(t)
	if err := ch.Check(t.Context()); err != nil {
		t.Errorf("Check: %v", err)
	}
}

// checkUnauthorized: refused credentials fail the check with
// ErrUnauthorized.
func (s *suite) checkUnauthorized(t *testing.T) {
	f, ch := s.checker(t)
	capability[AccessRevoker](t, f).RevokeAccess(t)
	if err := ch.Check(t.Context()); !errors.Is(err, connectors.ErrUnauthorized) {
		t.Errorf("Check with revoked access: got error %v, want one wrapping connectors.ErrUnauthorized", err)
	}
}

// checkCancelled: Check fails with ctx.Err() under an ended context.
func (s *suite) checkCancelled(t *testing.T) {
	_, ch := s.checker(t)
	if err := ch.Check(cancelled(t)); !errors.Is(err, context.Canceled) {
		t.Errorf("Check with a cancelled context: got error %v, want one wrapping context.Canceled", err)
	}
}

// retry calls write until it succeeds, as the outbox does, reporting any
// failure that claims retrying is pointless.
func retry(t *testing.T, what string, write func() error) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		err := write()
		if err == nil {
			return
		}
		checkTransient(t, err)
		if attempt == maxAttempts {
			t.Fatalf("%s still fails after %d attempts: %v", what, attempt, err)
		}
	}
}

// cancelled returns a context that has ended.
func cancelled(t *testing.T) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx
}
