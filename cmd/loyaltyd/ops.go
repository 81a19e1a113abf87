package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/loyaltyd/loyaltyd/store"
	"github.com/loyaltyd/loyaltyd/sync"
)

func runStatus(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("status", "[--store ID] [--json] [-c FILE]",
		"Show how each store's sync stands, from the database (it works while the daemon runs):\nlast poll and its error, cursor lag, webhooks received, reconciliation finds, write-backs\npending and dead, and points issued.")
	c := m.commonFlags(fs)
	storeID := fs.String("store", "", "only this store")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	a, err := m.openApp(ctx, c, false)
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
	reports, err := a.engine.Report(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(reports)
	}
	now := m.Now()
	ago := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2006-01-02 15:04:05") + " (" + now.Sub(t).Round(time.Second).String() + " ago)"
	}
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(m.Stdout)
		}
		fmt.Fprintf(m.Stdout, "%s (%s)\n", r.Store, r.Platform)
		tw := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
		if !r.Uninstalled.IsZero() {
			fmt.Fprintf(tw, "  UNINSTALLED\tsince %s: calls to the store stopped; its data stays\n", ago(r.Uninstalled))
		}
		fmt.Fprintf(tw, "  last poll\t%s\n", ago(r.LastPass))
		fmt.Fprintf(tw, "  last success\t%s\n", ago(r.LastSuccess))
		if r.LastError != "" {
			fmt.Fprintf(tw, "  last error\t%s (%d failures in a row)\n", r.LastError, r.Failures)
		}
		for _, res := range []string{sync.ResourceOrders, sync.ResourceCustomers} {
			cr := r.Cursors[res]
			lag := "-"
			if !cr.HighWater.IsZero() {
				lag = (time.Duration(cr.LagSeconds) * time.Second).String()
			}
			pass := ""
			if cr.InPass {
				pass = " (a pass is under way)"
			}
			fmt.Fprintf(tw, "  %s cursor\tnewest %s, lag %s%s\n", res, ago(cr.HighWater), lag, pass)
		}
		w := r.Webhooks
		fmt.Fprintf(tw, "  webhooks\t%d applied, %d pending, %d duplicates, %d unknown topics, %d rejected, %d failed\n",
			w[store.InboxProcessed], w[store.InboxPending], w["duplicates"], w["unknown_topic"], w[store.InboxRejected], w[store.InboxFailed])
		fmt.Fprintf(tw, "  reconciliation\tlast %s, found %d (missed by webhooks and polling; %d in all)\n",
			ago(r.LastReconcile), r.LastReconcileFound, r.ReconcileFoundTotal)
		fmt.Fprintf(tw, "  write-backs\t%d pending, %d delivered, %d dead\n", r.Outbox[store.OutboxPending], r.Outbox[store.OutboxDelivered], r.Outbox[store.OutboxDead])
		fmt.Fprintf(tw, "  stored\t%d orders, %d customers, %d members\n", r.Orders, r.Customers, r.Members)
		fmt.Fprintf(tw, "  points\t+%d credited, -%d debited\n", r.PointsCredited, r.PointsDebited)
		tw.Flush()
	}
	return nil
}

func runOutbox(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("outbox", "[--store ID] [--retry ID|all] [-c FILE]",
		"List the write-backs that went to the dead letters (the platform refused them, or their\nretries ran out), with the reason; --retry puts one (or all) back in the queue.")
	c := m.commonFlags(fs)
	storeID := fs.String("store", "", "the store (optional when there is one)")
	retry := fs.String("retry", "", "retry a dead write-back by id, or all of them")
	staff := m.staffFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	a, sid, err := m.openAppFor(ctx, c, *storeID)
	if err != nil {
		return err
	}
	defer a.Close()
	dead, err := a.engine.DeadLetters(ctx, sid)
	if err != nil {
		return err
	}
	if *retry == "" {
		if len(dead) == 0 {
			fmt.Fprintf(m.Stdout, "%s: no dead write-backs\n", sid)
			return nil
		}
		tw := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "Id\tKind\tCustomer\tAttempts\tCreated\tLast error")
		for _, it := range dead {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%s\n", it.ID, it.Kind, it.CustomerID, it.Attempts,
				it.CreatedAt.Format("2006-01-02 15:04"), it.LastError)
		}
		tw.Flush()
		fmt.Fprintf(m.Stdout, "\nRetry one with --retry ID, or all with --retry all.\n")
		return nil
	}
	if *staff == "" {
		return usagef("--staff is required to retry (or set $LOYALTYD_STAFF)")
	}
	var ids []int64
	if *retry != "all" {
		id, err := strconv.ParseInt(*retry, 10, 64)
		if err != nil {
			return usagef("--retry %q: want an id or all", *retry)
		}
		ids = []int64{id}
	}
	n, err := a.engine.RetryDead(ctx, sid, ids, *staff)
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "%d write-backs back in the queue; the daemon delivers them.\n", n)
	return nil
}

func runExport(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("export", "[--store ID] [--id EXPORT] [-c FILE]",
		"List the exports prepared for the platform's data requests (customers/data_request), or\nprint one (JSON) to hand over to the customer.")
	c := m.commonFlags(fs)
	storeID := fs.String("store", "", "the store (optional when there is one)")
	id := fs.Int64("id", 0, "print this export")
	if err := parse(fs, args); err != nil {
		return err
	}
	a, sid, err := m.openAppFor(ctx, c, *storeID)
	if err != nil {
		return err
	}
	defer a.Close()
	return a.db.View(ctx, func(tx *store.Tx) error {
		if *id != 0 {
			x, err := tx.ExportData(sid, *id)
			if err != nil {
				return err
			}
			_, err = m.Stdout.Write(append(x.Data, '\n'))
			return err
		}
		xs, err := tx.Exports(sid)
		if err != nil {
			return err
		}
		if len(xs) == 0 {
			fmt.Fprintf(m.Stdout, "%s: no data requests\n", sid)
		}
		for _, x := range xs {
			fmt.Fprintf(m.Stdout, "%d\tcustomer %s\trequested %s\n", x.ID, x.CustomerID, x.RequestedAt.Format("2006-01-02 15:04"))
		}
		return nil
	})
}

func runBackup(ctx context.Context, m *Main, args []string) error {
	fs := m.newFlags("backup", "--to FILE [-c FILE]",
		"Write a consistent copy of the database to a new file while loyaltyd keeps running\n(SQLite's VACUUM INTO). Restore by stopping loyaltyd and putting the copy in place.")
	c := m.commonFlags(fs)
	to := fs.String("to", "", "the new file to write (must not exist)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" {
		return usagef("--to FILE is required")
	}
	a, err := m.openApp(ctx, c, false)
	if err != nil {
		return err
	}
	defer a.Close()
	if err := a.db.Backup(ctx, *to); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "backup written to %s\n", *to)
	return nil
}
