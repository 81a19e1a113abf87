package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/sync"
)

// customerFlags are the flags that name a customer.
type customerFlags struct {
	store, email, id, staff string
}

func (m *Main) customerFlags(fs *flag.FlagSet) *customerFlags {
	cf := &customerFlags{}
	fs.StringVar(&cf.store, "store", "", "the store (optional when there is one)")
	fs.StringVar(&cf.email, "email", "", "find the customer by e-mail (case and +tags ignored)")
	fs.StringVar(&cf.id, "id", "", "find the customer by the platform's customer id")
	return cf
}

func (m *Main) staffFlag(fs *flag.FlagSet) *string {
	def := ""
	for _, k := range []string{"LOYALTYD_STAFF", "USER"} {
		if v, ok := m.LookupEnv(k); ok && v != "" {
			def = v
			break
		}
	}
	return fs.String("staff", def, "the staff member's name, kept in the audit log ($LOYALTYD_STAFF, else $USER)")
}

// openCustomer opens the app with connectors and finds the customer.
func (m *Main) openCustomer(ctx context.Context, c *common, cf *customerFlags) (*app, *sync.Store, string, error) {
	if (cf.email == "") == (cf.id == "") {
		return nil, nil, "", usagef("give exactly one of --email and --id")
	}
	a, err := m.openApp(ctx, c, true)
	if err != nil {
		return nil, nil, "", err
	}
	sid, err := pickStore(a.cfg, cf.store)
	if err != nil {
		a.Close()
		return nil, nil, "", err
	}
	id, err := a.engine.FindCustomer(ctx, sid, cf.id, cf.email)
	if err != nil {
		a.Close()
		return nil, nil, "", err
	}
	return a, a.engine.Store(sid), id, nil
}

// deliverNow tries to deliver what a staff action queued, so that a code
// reaches the store while the customer waits; what fails is retried by the
// daemon.
func deliverNow(ctx context.Context, m *Main, a *app, st *sync.Store) {
	var r sync.Report
	if err := a.engine.DeliverOutbox(ctx, st, &r); err != nil || r.DeliveryFailures+r.Dead > 0 {
		fmt.Fprintf(m.Stdout, "Not yet written to the store (%d failed); the daemon retries it.\n", r.DeliveryFailures+r.Dead)
		return
	}
	fmt.Fprintf(m.Stdout, "Written to the store (%d changes).\n", r.Delivered)
}

func runAdjust(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("adjust", "[--store ID] (--email E | --id ID) --points N --reason TEXT [--staff NAME]",
		"Give or take points by hand. The reason is shown on the customer's history; the staff member\nand the reason are kept in the audit log.")
	c := m.commonFlags(fs)
	cf := m.customerFlags(fs)
	points := fs.Int64("points", 0, "points to give (negative to take)")
	reason := fs.String("reason", "", "why (required)")
	staff := m.staffFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *points == 0:
		return usagef("--points is required and must not be 0")
	case *reason == "":
		return usagef("--reason is required: it is shown on the customer's history")
	case *staff == "":
		return usagef("--staff is required (or set $LOYALTYD_STAFF)")
	}
	a, st, id, err := m.openCustomer(ctx, c, cf)
	if err != nil {
		return err
	}
	defer a.Close()
	e, err := a.engine.Adjust(ctx, st, id, *points, *reason, *staff)
	if err != nil {
		return err
	}
	v, err := a.engine.Customer(ctx, st.ID, id, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "%+d points for customer %s: %s. Now %d available, %d pending.\n", e.Points, id, e.Reason,
		v.Points.Available, v.Points.Pending)
	deliverNow(ctx, m, a, st)
	return nil
}

func runRedeem(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("redeem", "[--store ID] (--email E | --id ID) --reward ID [--staff NAME]",
		"Buy a reward with a member's points: the points are taken at once and the discount code is\nwritten to the store, restricted to the member.")
	c := m.commonFlags(fs)
	cf := m.customerFlags(fs)
	reward := fs.String("reward", "", "the reward's id in the program's catalogue")
	staff := m.staffFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *reward == "" {
		return usagef("--reward is required")
	}
	if *staff == "" {
		return usagef("--staff is required (or set $LOYALTYD_STAFF)")
	}
	a, st, id, err := m.openCustomer(ctx, c, cf)
	if err != nil {
		return err
	}
	defer a.Close()
	red, err := a.engine.Redeem(ctx, st, id, *reward, *staff)
	if errors.Is(err, loyalty.ErrUnknownReward) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	r := a.cfg.Program.Reward(red.RewardID)
	fmt.Fprintf(m.Stdout, "Redeemed %q for %d points: code %s", r.Title(a.cfg.Program.Currency), red.Points, red.Code)
	if !red.ExpiresAt.IsZero() {
		fmt.Fprintf(m.Stdout, ", valid until %s", red.ExpiresAt.Format("2006-01-02"))
	}
	fmt.Fprintln(m.Stdout, ".")
	deliverNow(ctx, m, a, st)
	var after *store.Redemption
	a.db.View(ctx, func(tx *store.Tx) (err error) { after, err = tx.Redemption(st.ID, red.ID); return })
	if after != nil && after.Status == store.RedemptionFailed {
		return fmt.Errorf("the store refused code %s (%s); the points were returned", red.Code, after.Reason)
	}
	return nil
}

func runLink(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("link", "[--store ID] (--email E | --id ID) [-c FILE]",
		"Print a customer's signed balance link, to send in an e-mail: it shows their points, tier,\n"+
			"codes and recent activity without an account, until the end of next quarter. Needs\npublic_url and link_secret in the configuration.")
	c := m.commonFlags(fs)
	cf := m.customerFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if (cf.email == "") == (cf.id == "") {
		return usagef("give exactly one of --email and --id")
	}
	a, err := m.openApp(ctx, c, false)
	if err != nil {
		return err
	}
	defer a.Close()
	if a.links == nil {
		return usagef("balance links need public_url and link_secret in %s", a.cfg.File)
	}
	sid, err := pickStore(a.cfg, cf.store)
	if err != nil {
		return err
	}
	id, err := a.engine.FindCustomer(ctx, sid, cf.id, cf.email)
	if err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, a.links.URL(sid, id, m.Now()))
	return nil
}
