package report

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/loyaltyd/loyaltyd/commerce"
)

// sections group the report's figures for reading, in order; a figure in
// no section is shown at the end, so that none is ever left out.
var sections = []struct {
	title string
	keys  []string
}{
	{"Who takes part", []string{"members", "new_members", "holdout", "enrollment_rate", "active_members"}},
	{"Points", []string{"points_issued", "points_redeemed", "points_expired", "points_outstanding", "points_pending", "liability", "redemption_rate"}},
	{"Rewards", []string{"rewards_issued", "reward_value_issued", "rewards_used", "reward_cost"}},
	{"What the program returns", []string{"incremental_revenue", "incremental_gross_margin", "roi"}},
}

// simulationKeys are the figures a simulation sets side by side.
var simulationKeys = []string{"members", "holdout", "points_issued", "points_redeemed", "points_expired", "points_outstanding",
	"liability", "redemption_rate", "rewards_issued", "reward_value_issued", "rewards_used", "reward_cost",
	"incremental_gross_margin", "roi"}

// WriteText writes the report for people: its figures by section, the
// members against the holdout group side by side, the tables, and with
// definitions every figure's definition and period.
func WriteText(w io.Writer, r *Report, definitions bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Program report for store %s, %s\n", r.Store, r.Period)
	fmt.Fprintf(tw, "Program %s in %s", r.Program, r.Currency)
	if r.PointValue > 0 {
		fmt.Fprintf(tw, "; a point is worth %s %s", strconv.FormatFloat(r.PointValue, 'f', -1, 64), r.Currency)
	}
	if r.MarginPercent > 0 {
		fmt.Fprintf(tw, "; gross margin %s %%", strconv.FormatFloat(r.MarginPercent, 'f', -1, 64))
	}
	fmt.Fprintln(tw)
	shown := map[string]bool{}
	for _, sec := range sections {
		var figs []Figure
		for _, k := range sec.keys {
			if f, ok := r.Figure(k); ok {
				figs = append(figs, f)
				shown[k] = true
			}
		}
		if sec.title == "What the program returns" {
			writeComparison(tw, r)
		}
		writeFigures(tw, sec.title, figs)
	}
	var rest []Figure
	for _, f := range r.Figures {
		if !shown[f.Key] {
			rest = append(rest, f)
		}
	}
	writeFigures(tw, "Other figures", rest)
	writeTiers(tw, r)
	writeSegments(tw, r)
	writePairs(tw, r)
	writeGoals(tw, r)
	writeBudget(tw, r)
	if definitions {
		writeDefinitions(tw, r)
	} else {
		fmt.Fprintln(tw, "\nEvery figure's definition and period: add --definitions (or --json).")
	}
	return tw.Flush()
}

func writeFigures(w io.Writer, title string, figs []Figure) {
	if len(figs) == 0 {
		return
	}
	fmt.Fprintf(w, "\n%s\n", title)
	for _, f := range figs {
		fmt.Fprintf(w, "  %s\t%s\t%s\n", f.Label, FormatValue(f), secondColumn(f))
	}
}

// secondColumn is a points figure's money value, or what an unavailable
// figure lacks.
func secondColumn(f Figure) string {
	switch {
	case f.NA != "":
		return "(" + f.NA + ")"
	case f.Unit == UnitPoints && f.Money.Currency != "":
		return "worth " + FormatMoney(f.Money)
	}
	return ""
}

func writeComparison(w io.Writer, r *Report) {
	if len(r.Comparison) == 0 {
		return
	}
	fmt.Fprintf(w, "\nMembers against the holdout group, %s\n", r.Period)
	fmt.Fprintf(w, "  \tmembers\tholdout\tlift\n")
	for _, c := range r.Comparison {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", c.Label, FormatValue(c.Member), FormatValue(c.Holdout), formatLift(c.Lift))
	}
	for _, c := range r.Comparison {
		if c.Holdout.NA != "" {
			fmt.Fprintf(w, "  (%s)\n", c.Holdout.NA)
			break
		}
	}
}

func formatLift(f Figure) string {
	if f.NA != "" {
		return "-"
	}
	return signedPercent(f.Value)
}

func writeTiers(w io.Writer, r *Report) {
	if len(r.Tiers.Rows) <= 1 && (len(r.Tiers.Rows) == 0 || r.Tiers.Rows[0].Members == 0) {
		return
	}
	fmt.Fprintf(w, "\nTier mix (%s)\n", r.Tiers.Period)
	for _, t := range r.Tiers.Rows {
		fmt.Fprintf(w, "  %s\t%s\t%s\n", tierName(t.Tier), Thousands(int64(t.Members)), Percent(t.Share))
	}
}

func tierName(t string) string {
	if t == "" {
		return "(no tier)"
	}
	return t
}

func writeSegments(w io.Writer, r *Report) {
	if len(r.ABC.Rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\nSegments of the period's buyers\n")
	fmt.Fprintf(w, "  \tbuyers\tshare\trevenue\tshare\n")
	for _, s := range r.ABC.Rows {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\n", strings.ToUpper(s.Segment), Thousands(int64(s.Customers)), Percent(s.CustomerShare),
			FormatMoney(s.Revenue), Percent(s.RevenueShare))
	}
	const top = 8
	for i, s := range r.RFM.Rows {
		if i == top {
			fmt.Fprintf(w, "  … %d more RFM cells (--json lists all)\n", len(r.RFM.Rows)-top)
			break
		}
		fmt.Fprintf(w, "  RFM %s\t%s\t%s\t%s\t%s\n", s.Segment, Thousands(int64(s.Customers)), Percent(s.CustomerShare),
			FormatMoney(s.Revenue), Percent(s.RevenueShare))
	}
}

func writePairs(w io.Writer, r *Report) {
	fmt.Fprintf(w, "\nProducts bought together (%s orders with products; support at least %s)\n",
		Thousands(int64(r.Pairs.Orders)), Percent(r.Pairs.MinSupport))
	if len(r.Pairs.Rows) == 0 {
		fmt.Fprintln(w, "  none")
		return
	}
	fmt.Fprintf(w, "  \t\torders\tsupport\tconf. A→B\tconf. B→A\tlift\n")
	for _, p := range r.Pairs.Rows {
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", productName(p.A), productName(p.B), Thousands(int64(p.Orders)),
			Percent(p.Support), Percent(p.ConfidenceAB), Percent(p.ConfidenceBA), strconv.FormatFloat(p.Lift, 'f', 2, 64))
	}
}

func productName(p Product) string {
	if p.Title != "" && p.Title != p.Key {
		return p.Title + " (" + p.Key + ")"
	}
	return p.Key
}

func writeGoals(w io.Writer, r *Report) {
	if len(r.Goals.Rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\nGoals (%s)\n", r.Goals.Period)
	fmt.Fprintf(w, "  \tgoal\tnow\tprogress\n")
	for _, g := range r.Goals.Rows {
		now, progress := formatUnit(g.Unit, g.Actual, commerce.Money{}, r.Currency), Percent(g.Progress)
		if g.NA != "" {
			now, progress = "n/a", "("+g.NA+")"
		} else if g.Met {
			progress += " met"
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\n", g.Label, formatUnit(g.Unit, g.Target, commerce.Money{}, r.Currency), now, progress)
	}
}

func writeBudget(w io.Writer, r *Report) {
	used := false
	for _, m := range r.Budget.Rows {
		if m.Rewards > 0 || m.NA == "" {
			used = true
		}
	}
	if !used {
		return
	}
	fmt.Fprintf(w, "\nAuto-redeem budget by month\n")
	fmt.Fprintf(w, "  \trewards\tissued\tbudget\tuse\n")
	for _, m := range r.Budget.Rows {
		b, share := "-", "-"
		if m.NA == "" {
			b, share = FormatMoney(m.Budget), Percent(m.Share)
		}
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\n", m.Month, Thousands(int64(m.Rewards)), FormatMoney(m.Used), b, share)
	}
}

func writeDefinitions(w io.Writer, r *Report) {
	fmt.Fprintf(w, "\nDefinitions\n")
	for _, f := range r.AllFigures() {
		fmt.Fprintf(w, "  %s: %s. (%s)\n", f.Key, f.Definition, f.Period)
	}
	for _, t := range []struct {
		name, def string
		per       Period
	}{{"tiers", r.Tiers.Definition, r.Tiers.Period}, {"abc", r.ABC.Definition, r.ABC.Period}, {"rfm", r.RFM.Definition, r.RFM.Period},
		{"pairs", r.Pairs.Definition, r.Pairs.Period}, {"goals", r.Goals.Definition, r.Goals.Period}, {"budget", r.Budget.Definition, r.Budget.Period}} {
		fmt.Fprintf(w, "  %s: %s. (%s)\n", t.name, t.def, t.per)
	}
}

// WriteSimulationText writes a simulation for people: the current
// program's and the candidate's figures side by side, their tier mixes,
// and who would move tier; with definitions, what each figure means.
func WriteSimulationText(w io.Writer, s *Simulation, definitions bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Simulation for store %s: the stored history replayed under both programs, crediting from %s\n",
		s.Store, s.Launch.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(tw, "Replayed %s orders (%s versions) of %s customers in %s batches and %s daily passes; report %s\n",
		Thousands(int64(s.Replayed.Orders)), Thousands(int64(s.Replayed.Versions)), Thousands(int64(s.Replayed.Customers)),
		Thousands(int64(s.Replayed.Batches)), Thousands(int64(s.Replayed.Days)), s.Period)
	cand := "candidate"
	if s.CandidateFile != "" {
		cand = s.CandidateFile
	}
	fmt.Fprintf(tw, "Current program %s, candidate %s (program %s)\n\n", s.Current.Program, cand, s.Candidate.Program)
	fmt.Fprintf(tw, "  \tcurrent\tcandidate\tchange\n")
	for _, k := range simulationKeys {
		a, okA := s.Current.Figure(k)
		b, okB := s.Candidate.Figure(k)
		if !okA || !okB {
			continue
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", a.Label, FormatValue(a), FormatValue(b), change(a, b))
	}
	fmt.Fprintf(tw, "\nTier mix (at the end of the replay)\n")
	fmt.Fprintf(tw, "  \tcurrent\tcandidate\n")
	names, counts := []string{}, map[string][2]int{}
	for i, r := range []*Report{s.Current, s.Candidate} {
		for _, t := range r.Tiers.Rows {
			if _, ok := counts[t.Tier]; !ok {
				names = append(names, t.Tier)
			}
			c := counts[t.Tier]
			c[i] = t.Members
			counts[t.Tier] = c
		}
	}
	for _, n := range names {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", tierName(n), Thousands(int64(counts[n][0])), Thousands(int64(counts[n][1])))
	}
	fmt.Fprintf(tw, "\nWho would move tier: %s customers\n", Thousands(int64(len(s.TierMoves))))
	for _, f := range s.TierFlows {
		fmt.Fprintf(tw, "  %s → %s\t%s\n", tierName(f.Current), tierName(f.Candidate), Thousands(int64(f.Customers)))
	}
	const top = 20
	for i, m := range s.TierMoves {
		if i == top {
			fmt.Fprintf(tw, "  … and %s more (--json lists all)\n", Thousands(int64(len(s.TierMoves)-top)))
			break
		}
		fmt.Fprintf(tw, "  customer %s\t%s → %s\n", m.CustomerID, tierName(m.Current), tierName(m.Candidate))
	}
	if definitions {
		writeDefinitions(tw, s.Current)
	} else {
		fmt.Fprintln(tw, "\nEvery figure's definition: add --definitions; both full reports: --json.")
	}
	return tw.Flush()
}

// change says how a candidate's figure differs from the current one.
func change(a, b Figure) string {
	if a.NA != "" || b.NA != "" {
		return "-"
	}
	switch a.Unit {
	case UnitRatio:
		d := (b.Value - a.Value) * 100
		return fmt.Sprintf("%+.1f pp", d)
	case UnitNumber:
		return fmt.Sprintf("%+.2f", b.Value-a.Value)
	}
	if a.Value == 0 {
		if b.Value == 0 {
			return "="
		}
		return "new"
	}
	return signedPercent(b.Value/a.Value - 1)
}

// FormatValue formats a figure's value for people by its unit; "n/a"
// when it has none.
func FormatValue(f Figure) string {
	if f.NA != "" {
		return "n/a"
	}
	return formatUnit(f.Unit, f.Value, f.Money, "")
}

func formatUnit(u Unit, v float64, m commerce.Money, currency string) string {
	switch u {
	case UnitCount, UnitPoints:
		return Thousands(int64(math.Round(v)))
	case UnitMoney:
		if m.Currency != "" {
			return FormatMoney(m)
		}
		return strconv.FormatFloat(v, 'f', 2, 64) + " " + currency
	case UnitRatio:
		return Percent(v)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// Percent formats a fraction as a percentage with one decimal: "12.5 %".
func Percent(v float64) string { return strconv.FormatFloat(v*100, 'f', 1, 64) + " %" }

func percent(v float64) string { return strconv.FormatFloat(v*100, 'f', -1, 64) + " %" }

func signedPercent(v float64) string {
	s := strconv.FormatFloat(v*100, 'f', 1, 64)
	if v >= 0 {
		s = "+" + s
	}
	return s + " %"
}

// FormatMoney formats an amount with thousands separators: "12,345.60 USD".
func FormatMoney(m commerce.Money) string {
	d := m.Decimal()
	neg := strings.HasPrefix(d, "-")
	whole, frac, hasFrac := strings.Cut(strings.TrimPrefix(d, "-"), ".")
	n, _ := strconv.ParseInt(whole, 10, 64)
	out := Thousands(n)
	if hasFrac {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out + " " + m.Currency
}

// Thousands formats n with thousands separators: "12,345".
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
