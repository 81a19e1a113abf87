package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/report"
	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/sync"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func runVersion(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("version", "", "Print loyaltyd's version, the Go version and the database schema version.")
	if err := parse(fs, args); err != nil {
		return err
	}
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				rev = " (" + s.Value[:12] + ")"
			}
		}
	}
	fmt.Fprintf(m.Stdout, "loyaltyd %s%s, %s, schema %d\n", version, rev, runtime.Version(), store.SchemaVersion())
	return nil
}

func runCheckConfig(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("check-config", "[-c FILE] [--print]",
		"Validate the configuration without touching the database or the network.\nErrors name the file, the line and the key.")
	c := m.commonFlags(fs)
	print := fs.Bool("print", false, "print the effective configuration, secrets redacted")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := m.loadConfig(c)
	if err != nil {
		return err
	}
	log, err := m.logger(c, cfg)
	if err != nil {
		return err
	}
	stores, err := m.openStores(ctx, cfg, log)
	if err != nil {
		return err
	}
	for _, s := range stores {
		if cl, ok := s.Conn.(interface{ Close() error }); ok {
			cl.Close()
		}
	}
	if *print {
		fmt.Fprint(m.Stdout, cfg.Redacted())
		return nil
	}
	var names []string
	for _, s := range cfg.Stores {
		names = append(names, fmt.Sprintf("%s (%s)", s.ID, s.Platform))
	}
	fmt.Fprintf(m.Stdout, "%s: ok: %d store(s): %s; program in %s, %s enrollment, %s pt per unit; database %s\n",
		cfg.File, len(cfg.Stores), strings.Join(names, ", "), cfg.Program.Currency, cfg.Program.Enrollment,
		cfg.Program.Earn.PointsPerUnit, cfg.Database)
	return nil
}

func runSync(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("sync", "--once [--store ID] [-c FILE]",
		"Run one full pass over every store (or one): read changed customers and orders,\napply the program, deliver the write-backs, then exit.")
	c := m.commonFlags(fs)
	once := fs.Bool("once", false, "run one pass and exit (required: the long-running daemon is `loyaltyd run`)")
	storeID := fs.String("store", "", "only this store")
	if err := parse(fs, args); err != nil {
		return err
	}
	if !*once {
		return usagef("sync runs one pass and needs --once; the daemon that keeps syncing is `loyaltyd run`")
	}
	a, err := m.openApp(ctx, c, true)
	if err != nil {
		return err
	}
	defer a.Close()
	if *storeID != "" {
		id, err := pickStore(a.cfg, *storeID)
		if err != nil {
			return err
		}
		a.engine.Stores = []*sync.Store{a.engine.Store(id)}
	}
	checked, checkErrs := a.checkStores(ctx)
	for _, err := range checkErrs {
		fmt.Fprintf(m.Stderr, "loyaltyd sync: %v\n", err)
	}
	a.engine.Stores = checked
	reports, err := a.engine.SyncOnce(ctx)
	if err == nil && len(checkErrs) > 0 {
		err = fmt.Errorf("%d store(s) failed their check", len(checkErrs))
	}
	for _, r := range reports {
		if r.WebhooksApplied > 0 {
			fmt.Fprintf(m.Stdout, "%s: %d webhook deliveries applied from the inbox\n", r.Store, r.WebhooksApplied)
		}
		fmt.Fprintf(m.Stdout, "%s: %d customers and %d orders read (%d changed); %d ledger entries, +%d/−%d points; %d write-backs delivered, %d failed, %d dead\n",
			r.Store, r.CustomersRead, r.OrdersRead, r.OrdersChanged, r.Entries, r.PointsCredited, r.PointsDebited,
			r.Delivered, r.DeliveryFailures, r.Dead)
		if r.OrdersBeforeLaunch > 0 {
			launch := a.engine.Store(r.Store).Launch()
			fmt.Fprintf(m.Stdout, "%s: %d orders placed before the program's launch (%s) earn nothing; set program.launch or program.backdate_days to credit them\n",
				r.Store, r.OrdersBeforeLaunch, launch.Format("2006-01-02"))
		}
	}
	return err
}

func runCustomer(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("customer", "[--store ID] (--email E | --id ID) [--json]",
		"Show a customer's points (available, pending, earned, redeemed, expired) and every\nledger entry with its reason.")
	c := m.commonFlags(fs)
	storeID := fs.String("store", "", "the store (optional when there is one)")
	email := fs.String("email", "", "find the customer by e-mail (case and +tags ignored)")
	id := fs.String("id", "", "find the customer by the platform's customer id")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if (*email == "") == (*id == "") {
		return usagef("give exactly one of --email and --id")
	}
	a, sid, err := m.openAppFor(ctx, c, *storeID)
	if err != nil {
		return err
	}
	defer a.Close()
	v, err := a.engine.Customer(ctx, sid, *id, *email)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	printCustomer(m, v)
	return nil
}

func printCustomer(m *Main, v *report.CustomerView) {
	w := m.Stdout
	name := v.Name
	if name == "" {
		name = "(no name)"
	}
	fmt.Fprintf(w, "%s <%s>  store %s, customer %s\n", name, v.Email, v.Store, v.CustomerID)
	switch v.Cohort {
	case "member":
		fmt.Fprintf(w, "Member since %s · %d orders", v.EnrolledAt.Format("2006-01-02"), v.Orders)
	case "holdout":
		fmt.Fprintf(w, "In the holdout (control) group: never enrolled · %d orders", v.Orders)
	case "not_invited":
		fmt.Fprintf(w, "Not invited to the program · %d orders", v.Orders)
	default:
		fmt.Fprintf(w, "Not placed in the program yet · %d orders", v.Orders)
	}
	if v.Segment != "" {
		fmt.Fprintf(w, " · segment %s (RFM %s)", strings.ToUpper(v.Segment), v.RFM)
	}
	fmt.Fprintln(w)
	p := v.Points
	fmt.Fprintf(w, "Points: %d available · %d pending · %d earned · %d redeemed · %d expired\n",
		p.Available, p.Pending, p.LifetimeEarned, p.Redeemed, p.Expired)
	if !v.ExpiresAt.IsZero() {
		fmt.Fprintf(w, "Available points expire on %s unless the customer earns or redeems before.\n", v.ExpiresAt.Format("2006-01-02"))
	}
	if v.Tier != "" || v.Progress.Next != "" {
		tier := v.Tier
		if tier == "" {
			tier = "no tier"
		}
		fmt.Fprintf(w, "Tier: %s", tier)
		if v.NextTierNeeds != "" {
			fmt.Fprintf(w, " · %s", v.NextTierNeeds)
		}
		fmt.Fprintf(w, " (qualifying: %s in %d orders)\n", v.Qualification.Spend, v.Qualification.Orders)
	}
	if v.ReferralCode != "" {
		fmt.Fprintf(w, "Referral code: %s", v.ReferralCode)
		if n := len(v.Referrals); n > 0 {
			rewarded := 0
			for _, r := range v.Referrals {
				if r.Status == "rewarded" {
					rewarded++
				}
			}
			fmt.Fprintf(w, " · %d referrals, %d rewarded", n, rewarded)
		}
		fmt.Fprintln(w)
	}
	// Unused codes are what a customer asks about; the rest is counted.
	done := map[string]int{}
	for _, r := range v.Rewards {
		if r.Status != "issued" && r.Status != "created" {
			done[r.Status]++
			if r.Status == "failed" {
				fmt.Fprintf(w, "Reward %s: code %s refused by the store (%s); points returned\n", r.Reward, r.Code, r.Reason)
			}
			continue
		}
		fmt.Fprintf(w, "Unused reward %s: code %s", r.Reward, r.Code)
		if !r.ExpiresAt.IsZero() {
			fmt.Fprintf(w, ", valid until %s", r.ExpiresAt.Format("2006-01-02"))
		}
		fmt.Fprintln(w)
	}
	if len(done) > 0 {
		var parts []string
		for _, st := range []string{"used", "expired", "failed"} {
			if done[st] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", done[st], st))
			}
		}
		fmt.Fprintf(w, "Earlier reward codes: %s\n", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	if len(v.Ledger) == 0 {
		fmt.Fprintln(w, "No ledger entries yet.")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "When\tPoints\tKind\tAvailable\tReason")
	for _, l := range v.Ledger {
		avail := l.AvailableAt.Format("2006-01-02")
		if l.Points < 0 {
			avail = "-"
		}
		reason := l.Reason
		if l.Actor != "" {
			reason += " (by " + l.Actor + ")"
		}
		fmt.Fprintf(tw, "%s\t%+d\t%s\t%s\t%s\n", l.Time.Format("2006-01-02 15:04"), l.Points, l.Kind, avail, reason)
	}
	tw.Flush()
}

func runRebuild(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("rebuild", "[--check | --reprice --staff NAME] [-c FILE]",
		"Recompute what every stored order, bonus, referral and redemption is worth and bring the ledger\nto it with corrective entries (the ledger is never rewritten). With --check, only compare, and\nexit 1 on any difference. With --reprice, first apply today's program (rates, multipliers,\ncampaigns, tier factors, bonus) to every credited order instead of the rules frozen when it was\nfirst credited.")
	c := m.commonFlags(fs)
	check := fs.Bool("check", false, "only compare the ledger with a rebuild; exit 1 on a difference")
	reprice := fs.Bool("reprice", false, "apply today's program to every credited order (audited)")
	staff := fs.String("staff", "", "who asks for the repricing (required with --reprice; kept in the audit log)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *check && *reprice {
		return usagef("--check and --reprice exclude each other")
	}
	if *reprice && *staff == "" {
		return usagef("--reprice needs --staff NAME: a repricing changes points and is audited")
	}
	a, err := m.openApp(ctx, c, false)
	if err != nil {
		return err
	}
	defer a.Close()
	if *check {
		diffs, err := a.engine.Check(ctx)
		if err != nil {
			return err
		}
		for _, d := range diffs {
			fmt.Fprintln(m.Stdout, d)
		}
		if len(diffs) > 0 {
			return fmt.Errorf("%d ledger stream(s) differ from a rebuild", len(diffs))
		}
		fmt.Fprintln(m.Stdout, "ledger agrees with a rebuild from the stored orders")
		return nil
	}
	r, err := a.engine.Rebuild(ctx, *reprice, *staff)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "rebuild appended %d corrective entries (+%d/−%d points)\n", r.Entries, r.PointsCredited, r.PointsDebited)
	return nil
}

func runHealthcheck(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("healthcheck", "[--url URL] [-c FILE]",
		"Exit 0 when the daemon answers GET /healthz. Meant for container health checks:\nit needs no shell and no curl.")
	c := m.commonFlags(fs)
	url := fs.String("url", "", "health URL (default: http://<listen>/healthz from the configuration)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *url == "" {
		cfg, err := m.loadConfig(c)
		if err != nil {
			return err
		}
		host, port, err := net.SplitHostPort(cfg.Listen)
		if err != nil {
			return usagef("listen %q: %v", cfg.Listen, err)
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		*url = "http://" + net.JoinHostPort(host, port) + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return usagef("--url: %v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("unhealthy: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("unhealthy: %s answered %s", *url, resp.Status)
	}
	fmt.Fprintln(m.Stdout, "healthy")
	return nil
}

// programSummary describes the program in a line.
func programSummary(p *loyalty.Program) string {
	s := fmt.Sprintf("%s pt per %s, %s enrollment", p.Earn.PointsPerUnit, p.Currency, p.Enrollment)
	if p.Earn.PendingDays > 0 {
		s += fmt.Sprintf(", points pending %d days", p.Earn.PendingDays)
	}
	if p.Earn.FirstOrderBonus > 0 {
		s += fmt.Sprintf(", %d pts first-order bonus", p.Earn.FirstOrderBonus)
	}
	return s
}
