package admin

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/loyaltyd/loyaltyd/commerce"
	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/report"
)

// Reports is what the dashboard's report pages ask of the engine. Methods
// return an error wrapping ErrNotFound for a store that is not served.
type Reports interface {
	// Report returns the program's report of a store over the query's
	// period.
	Report(ctx context.Context, storeID string, q report.Query) (*report.Report, error)
	// Points returns the points issued, redeemed and expired between each
	// two consecutive bounds (len(bounds)-1 totals), as the report's
	// figures of those names define them.
	Points(ctx context.Context, storeID string, bounds []time.Time) ([]report.SpanPoints, error)
	// Activity returns what became of a store's reward codes and
	// referrals since the program started.
	Activity(ctx context.Context, storeID string) (*report.Activity, error)
}

// Simulator replays a store's history under a candidate program.
type Simulator interface {
	// Candidates names the candidate program files offered to choose
	// from; it may be empty.
	Candidates() []string
	// Simulate replays the store's stored history under the current
	// program and a candidate: the text of a program (a program block or
	// a whole configuration) called name, or, when text is nil, the
	// candidate file called name. A mistake in the candidate is a
	// *FieldError with the field "program".
	Simulate(ctx context.Context, storeID, name string, text []byte) (*report.Simulation, error)
}

// Dashboard is the staff and owner dashboard: server-rendered pages behind
// a login with the admin token. A login gives an HttpOnly, SameSite=Strict
// session cookie; every form carries the session's CSRF token. Pages:
// the overview (/), customers, rewards and referrals, segments, stores and
// simulation.
type Dashboard struct {
	Backend Backend
	// Reports feeds the overview, rewards and segments pages; Simulator
	// the simulation page. Without them those pages say so.
	Reports   Reports
	Simulator Simulator
	Program   *loyalty.Program
	Stores    []StoreRef
	// Token is the admin token; without it nobody can log in.
	Token string
	// Language is the language of the pages when the browser accepts
	// none the dashboard speaks (config dashboard.language); "" is
	// English.
	Language string
	// Title names the program in the pages' header.
	Title string
	Now   func() time.Time
	Log   logrus.FieldLogger

	sessions *sessions
	failures *limiter
	sims     *simulations
}

// Register adds the dashboard's routes to a mux.
func (d *Dashboard) Register(mux *http.ServeMux) {
	d.sessions = newSessions(d.now)
	d.failures = newLimiter(d.now)
	d.sims = newSimulations()
	mux.HandleFunc("GET /static/{file}", d.static)
	mux.HandleFunc("GET /login", d.loginForm)
	mux.HandleFunc("POST /login", d.login)
	mux.Handle("POST /logout", d.form(d.logout))
	mux.Handle("GET /{$}", d.page(d.overview))
	mux.Handle("GET /customers", d.page(d.customers))
	mux.Handle("GET /customers/{store}/{id}", d.page(d.customer))
	mux.Handle("POST /customers/{store}/{id}/adjust", d.form(d.adjust))
	mux.Handle("POST /customers/{store}/{id}/redeem", d.form(d.redeem))
	mux.Handle("GET /rewards", d.page(d.rewards))
	mux.Handle("GET /segments", d.page(d.segments))
	mux.Handle("GET /stores", d.page(d.stores))
	mux.Handle("POST /stores/{store}/retry", d.form(d.retry))
	mux.Handle("GET /simulate", d.page(d.simulate))
	mux.Handle("POST /simulate", d.form(d.startSimulation))
}

// Close stops the simulations still running and waits for them.
func (d *Dashboard) Close() {
	if d.sims != nil {
		d.sims.close()
	}
}

func (d *Dashboard) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

func (d *Dashboard) title() string {
	if d.Title != "" {
		return d.Title
	}
	return "loyaltyd"
}

// call is one request to a page, from a logged-in browser.
type call struct {
	w    http.ResponseWriter
	r    *http.Request
	s    *session
	lang *language
}

// headers are set on every dashboard answer: nothing is cached, nothing
// is loaded from elsewhere, and no other site frames the pages.
func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
}

// page serves a page to a logged-in browser, and sends others to the
// login form.
func (d *Dashboard) page(h func(*call) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers(w)
		s := d.sessions.get(r)
		if s == nil {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if l := r.URL.Query().Get("lang"); l != "" && languageOf(l) != nil {
			s.setLang(l)
		}
		c := &call{w: w, r: r, s: s, lang: d.language(r, s)}
		if err := h(c); err != nil {
			d.fail(c, err)
		}
	})
}

// form handles a form posted by a logged-in browser, after checking its
// CSRF token: a form without the session's token is refused (403) and
// changes nothing.
func (d *Dashboard) form(h func(*call) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		headers(w)
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		s := d.sessions.get(r)
		if s == nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		c := &call{w: w, r: r, s: s, lang: d.language(r, s)}
		var err error
		if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
			err = r.ParseMultipartForm(maxForm)
		} else {
			err = r.ParseForm()
		}
		if err != nil {
			c.w.WriteHeader(http.StatusBadRequest)
			d.render(c, "error", c.lang.T("Error"), "", errorPage{Message: c.lang.T("The form could not be read.")})
			return
		}
		if !s.checkCSRF(r.PostFormValue("csrf")) {
			c.w.WriteHeader(http.StatusForbidden)
			d.render(c, "error", c.lang.T("Error"), "", errorPage{Message: c.lang.T("This form has expired or did not come from this dashboard. Reload the page and try again.")})
			return
		}
		if err := h(c); err != nil {
			d.fail(c, err)
		}
	})
}

// maxForm bounds a form's size, a candidate program's included.
const maxForm = 1 << 20

// errorPage is the content of the error page.
type errorPage struct {
	Message string
}

// fail shows an error page with the status the API would answer. What
// failed inside goes to the log, under the route (paths can hold a guest's
// e-mail), never to the page.
func (d *Dashboard) fail(c *call, err error) {
	code, body := errorAnswer(err)
	msg := body.Error
	switch code {
	case http.StatusInternalServerError:
		if d.Log != nil {
			d.Log.WithField("error", scrub(err)).WithField("route", c.r.Pattern).Error("dashboard")
		}
		msg = c.lang.T("Something went wrong inside loyaltyd; the log says what.")
	case http.StatusNotFound:
		msg = c.lang.T("Not found.")
	}
	c.w.WriteHeader(code)
	d.render(c, "error", c.lang.T("Error"), "", errorPage{Message: msg})
}

// emailRE finds what looks like an e-mail address.
var emailRE = regexp.MustCompile(`[^\s@"'<>()]+@[^\s@"'<>()]+`)

// scrub returns an error's text for the log without e-mail addresses,
// which an engine's error can hold (a guest customer's id is one).
func scrub(err error) string {
	return emailRE.ReplaceAllString(err.Error(), "<e-mail>")
}

// back answers a form by sending the browser to a page with a message.
func (c *call) back(to string, ok bool, msg string) error {
	c.s.setFlash(ok, msg)
	http.Redirect(c.w, c.r, to, http.StatusSeeOther)
	return nil
}

// refusal says in words why the program or the form refused an action, or
// returns the error when it is not a refusal.
func (c *call) refusal(err error) (string, bool) {
	var fe *FieldError
	switch {
	case errors.As(err, &fe):
		return c.lang.T("Not done: %s: %s", c.lang.State("field", fe.Field), fe.Msg), true
	case errors.Is(err, ErrConflict):
		return c.lang.T("Not done: the program refuses it now (%s).", err.Error()), true
	case errors.Is(err, ErrNotFound):
		return c.lang.T("Not done: not found (%s).", err.Error()), true
	}
	return "", false
}

// view is what every page shows besides its content.
type view struct {
	Lang    *language
	Title   string
	Nav     string
	Program string
	CSRF    string
	Staff   string
	Flash   *flash
	Langs   []langLink
	Refresh int
	Content any
}

// langLink switches the page's language.
type langLink struct {
	Code, Name, URL string
	Current         bool
}

func (d *Dashboard) render(c *call, name, title, nav string, content any) {
	v := view{Lang: c.lang, Title: title, Nav: nav, Program: d.title(), Content: content}
	if c.s != nil {
		v.CSRF = c.s.csrf
		v.Staff, _ = c.s.prefs()
		v.Flash = c.s.takeFlash()
	}
	if p, ok := content.(interface{ refresh() int }); ok {
		v.Refresh = p.refresh()
	}
	for _, l := range languages {
		q := c.r.URL.Query()
		q.Set("lang", l.Code)
		u := c.r.URL.Path + "?" + q.Encode()
		if c.r.Method != http.MethodGet {
			u = "/?lang=" + l.Code
		}
		v.Langs = append(v.Langs, langLink{Code: l.Code, Name: l.Name, URL: u, Current: l == c.lang})
	}
	t, err := pageTemplate(name, c.lang)
	if err == nil {
		c.w.Header().Set("Content-Type", "text/html; charset=utf-8")
		err = t.ExecuteTemplate(c.w, "layout", v)
	}
	if err != nil && d.Log != nil {
		d.Log.WithError(err).WithField("page", name).Error("dashboard: render")
	}
}

// ---- login ----

type loginPage struct {
	Next    string
	Message string
	// Action is where the form posts: it keeps a language chosen with
	// ?lang=.
	Action string
}

func loginAction(r *http.Request) string {
	if l := languageOf(r.URL.Query().Get("lang")); l != nil {
		return "/login?lang=" + l.Code
	}
	return "/login"
}

func (d *Dashboard) loginForm(w http.ResponseWriter, r *http.Request) {
	headers(w)
	if d.sessions.get(r) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	c := &call{w: w, r: r, lang: d.language(r, nil)}
	d.render(c, "login", c.lang.T("Log in"), "", loginPage{Next: localPath(r.URL.Query().Get("next")), Action: loginAction(r)})
}

// login checks the admin token and starts a session. An address that
// failed too often is refused unchecked for a while.
func (d *Dashboard) login(w http.ResponseWriter, r *http.Request) {
	headers(w)
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	c := &call{w: w, r: r, lang: d.language(r, nil)}
	next := localPath(r.PostFormValue("next"))
	addr := clientAddr(r)
	if wait := d.failures.wait(addr); wait > 0 {
		w.WriteHeader(http.StatusTooManyRequests)
		d.render(c, "login", c.lang.T("Log in"), "", loginPage{Next: next, Action: loginAction(r),
			Message: c.lang.T("Too many wrong tokens from this address. Try again in %d minutes.", int(math.Ceil(wait.Minutes())))})
		return
	}
	if !tokenEqual(r.PostFormValue("token"), d.Token) {
		d.failures.fail(addr)
		if d.Log != nil {
			d.Log.WithField("addr", addr).Warn("dashboard: a login with a wrong token")
		}
		w.WriteHeader(http.StatusUnauthorized)
		d.render(c, "login", c.lang.T("Log in"), "", loginPage{Next: next, Action: loginAction(r), Message: c.lang.T("That is not the admin token.")})
		return
	}
	d.failures.reset(addr)
	s, id := d.sessions.create()
	if l := r.URL.Query().Get("lang"); languageOf(l) != nil {
		s.setLang(l)
	}
	setSessionCookie(w, r, id, 0)
	if next == "" {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// localPath returns p when it is a path on this site, else "".
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.HasPrefix(p, "/login") {
		return ""
	}
	return p
}

func (d *Dashboard) logout(c *call) error {
	d.sessions.remove(c.s)
	setSessionCookie(c.w, c.r, "", -1)
	http.Redirect(c.w, c.r, "/login", http.StatusSeeOther)
	return nil
}

// ---- static files ----

//go:embed dashboard/*.html dashboard/static/*
var dashboardFS embed.FS

// staticVersion changes with the stylesheet, so that browsers may keep it.
var staticVersion = func() string {
	b, _ := dashboardFS.ReadFile("dashboard/static/dashboard.css")
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:4])
}()

func (d *Dashboard) static(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := fs.ReadFile(dashboardFS, "dashboard/static/"+name)
	if err != nil || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	switch {
	case strings.HasSuffix(name, ".css"):
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	case strings.HasSuffix(name, ".svg"):
		w.Header().Set("Content-Type", "image/svg+xml")
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Write(b)
}

// ---- stores and periods ----

// tab is a link among alternatives (stores, periods).
type tab struct {
	Label, URL string
	Current    bool
}

// picker is a page's choice of store and period.
type picker struct {
	Store   string
	Days    int
	Stores  []tab
	Periods []tab
}

// periods are the lengths of period the report pages offer.
var periods = []int{30, 90, 365}

func (d *Dashboard) pick(c *call, path string, withPeriod bool) picker {
	q := c.r.URL.Query()
	p := picker{Store: d.storeParam(q.Get("store")), Days: report.DefaultDays}
	if n, err := strconv.Atoi(q.Get("days")); err == nil && slices.Contains(periods, n) {
		p.Days = n
	}
	link := func(store string, days int) string {
		v := url.Values{"store": {store}}
		if withPeriod {
			v.Set("days", strconv.Itoa(days))
		}
		return path + "?" + v.Encode()
	}
	if len(d.Stores) > 1 {
		for _, s := range d.Stores {
			p.Stores = append(p.Stores, tab{Label: s.ID, URL: link(s.ID, p.Days), Current: s.ID == p.Store})
		}
	}
	if withPeriod {
		for _, n := range periods {
			p.Periods = append(p.Periods, tab{Label: c.lang.T("%d days", n), URL: link(p.Store, n), Current: n == p.Days})
		}
	}
	return p
}

// storeParam returns the served store named id, else the first one.
func (d *Dashboard) storeParam(id string) string {
	for _, s := range d.Stores {
		if s.ID == id {
			return id
		}
	}
	if len(d.Stores) > 0 {
		return d.Stores[0].ID
	}
	return id
}

func (d *Dashboard) query(p picker) report.Query {
	to := d.now().UTC()
	return report.Query{From: to.AddDate(0, 0, -p.Days), To: to}
}

// ---- overview ----

type overviewPage struct {
	Pick   picker
	Report *report.Report
	Cards  []report.Figure
	// Weekly is the weekly points chart, and Weeks its numbers.
	Weekly      template.HTML
	Weeks       []week
	WeeksPeriod report.Period
	Compare     []comparisonRow
	// CompareNotes say why figures of the comparison have no value, once.
	CompareNotes []string
	Tiers        []shareRow
	Goals        []goalRow
	Budget       []budgetRow
	BudgetNA     string
	All          []report.Figure
	Unavailable  bool
}

// overviewCards are the figures the overview shows first, in order.
var overviewCards = []string{"members", "active_members", "points_issued", "points_redeemed", "points_expired",
	"points_outstanding", "liability", "redemption_rate", "rewards_issued", "reward_cost", "incremental_revenue", "roi"}

// comparisonRow is a figure of the members beside the holdout group's.
type comparisonRow struct {
	report.Comparison
	MemberBar, HoldoutBar template.HTML
}

// shareRow is a part of a whole, drawn as a bar.
type shareRow struct {
	Label string
	Count int
	Share float64
	Bar   template.HTML
}

type goalRow struct {
	report.GoalRow
	Target, Actual string
	Bar            template.HTML
}

type budgetRow struct {
	report.BudgetMonth
	Bar template.HTML
}

func (d *Dashboard) overview(c *call) error {
	p := d.pick(c, "/", true)
	page := &overviewPage{Pick: p}
	if d.Reports == nil {
		page.Unavailable = true
		d.render(c, "overview", c.lang.T("Overview"), "overview", page)
		return nil
	}
	ctx := c.r.Context()
	rep, err := d.Reports.Report(ctx, p.Store, d.query(p))
	if err != nil {
		return err
	}
	page.Report = rep
	for _, k := range overviewCards {
		if f, ok := rep.Figure(k); ok {
			page.Cards = append(page.Cards, f)
		}
	}
	page.All = rep.AllFigures()
	bounds := weeksOf(rep.Period.From, rep.Period.To)
	totals, err := d.Reports.Points(ctx, p.Store, bounds)
	if err != nil {
		return err
	}
	for i, t := range totals {
		page.Weeks = append(page.Weeks, week{From: bounds[i], To: bounds[i+1], Issued: t.Issued, Redeemed: t.Redeemed, Expired: t.Expired})
	}
	page.WeeksPeriod = report.Period{From: bounds[0], To: bounds[len(bounds)-1]}
	page.Weekly = weeklyChart(page.Weeks, c.lang)
	page.Compare = compareRows(rep, c.lang)
	for _, row := range page.Compare {
		for _, na := range []string{row.Member.NA, row.Holdout.NA, row.Lift.NA} {
			if na != "" && !slices.Contains(page.CompareNotes, na) {
				page.CompareNotes = append(page.CompareNotes, na)
			}
		}
	}
	page.Tiers = tierRows(rep.Tiers.Rows, c.lang)
	for _, g := range rep.Goals.Rows {
		row := goalRow{GoalRow: g, Target: formatUnit(g.Unit, g.Target, rep.Currency), Actual: formatUnit(g.Unit, g.Actual, rep.Currency)}
		scale := max(1, g.Progress)
		label := c.lang.T("%s: %s of %s", c.lang.T(g.Label), row.Actual, row.Target)
		class := "s-member"
		if g.Met {
			class = "s-met"
		}
		row.Bar = bar(g.Progress/scale, 1/scale, class, label)
		page.Goals = append(page.Goals, row)
	}
	for _, m := range rep.Budget.Rows {
		if m.NA != "" {
			page.BudgetNA = m.NA
			break
		}
		scale := max(1, m.Share)
		page.Budget = append(page.Budget, budgetRow{BudgetMonth: m,
			Bar: bar(m.Share/scale, 1/scale, "s-redeemed", c.lang.T("%s: %s of %s", m.Month, report.FormatMoney(m.Used), report.FormatMoney(m.Budget)))})
	}
	d.render(c, "overview", c.lang.T("Overview"), "overview", page)
	return nil
}

// formatUnit formats a goal's number in its figure's unit.
func formatUnit(u report.Unit, v float64, currency string) string {
	switch u {
	case report.UnitCount, report.UnitPoints:
		return report.Thousands(int64(math.Round(v)))
	case report.UnitRatio:
		return report.Percent(v)
	case report.UnitMoney:
		return strconv.FormatFloat(v, 'f', 2, 64) + " " + currency
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

func compareRows(rep *report.Report, l *language) []comparisonRow {
	var out []comparisonRow
	for _, cmp := range rep.Comparison {
		if cmp.Key == "customers" {
			continue
		}
		row := comparisonRow{Comparison: cmp}
		top := math.Max(cmp.Member.Value, cmp.Holdout.Value)
		if top > 0 {
			row.MemberBar = bar(cmp.Member.Value/top, 0, "s-member", l.T("Members")+": "+report.FormatValue(cmp.Member))
			if cmp.Holdout.NA == "" {
				row.HoldoutBar = bar(cmp.Holdout.Value/top, 0, "s-holdout", l.T("Holdout group")+": "+report.FormatValue(cmp.Holdout))
			}
		}
		out = append(out, row)
	}
	return out
}

func tierRows(rows []report.TierRow, l *language) []shareRow {
	var out []shareRow
	for _, t := range rows {
		name := t.Tier
		if name == "" {
			name = l.T("no tier")
		}
		out = append(out, shareRow{Label: name, Count: t.Members, Share: t.Share,
			Bar: bar(t.Share, 0, "s-member", fmt.Sprintf("%s: %s", name, report.Percent(t.Share)))})
	}
	return out
}

// ---- customers ----

type customersPage struct {
	Query  string
	Store  string
	Stores []StoreRef
	Hits   []report.CustomerHit
	// Searched is set when a query was given; More when a store had
	// more matches than are shown.
	Searched, More bool
}

func (d *Dashboard) customers(c *call) error {
	q := c.r.URL.Query()
	page := customersPage{Query: strings.TrimSpace(q.Get("q")), Store: q.Get("store"), Stores: d.Stores}
	if page.Query != "" {
		page.Searched = true
		for _, s := range d.Stores {
			if page.Store != "" && page.Store != s.ID {
				continue
			}
			hits, err := d.Backend.SearchCustomers(c.r.Context(), s.ID, page.Query, maxHits)
			if err != nil {
				return err
			}
			page.More = page.More || len(hits) == maxHits
			page.Hits = append(page.Hits, hits...)
		}
	}
	d.render(c, "customers", c.lang.T("Customers"), "customers", page)
	return nil
}

// maxHits is how many customers a search shows per store.
const maxHits = 50

// cardURL is the address of a customer's card.
func cardURL(storeID, customerID string) string {
	return "/customers/" + url.PathEscape(storeID) + "/" + url.PathEscape(customerID)
}

type customerPage struct {
	V        *report.CustomerView
	URL      string
	Needs    string
	Progress template.HTML
	Unused   []report.RewardLine
	Used     []report.RewardLine
	Ledger   []report.LedgerLine
	Rewards  []rewardOption
	Staff    string
}

type rewardOption struct {
	ID, Title  string
	Points     int64
	Affordable bool
}

func (d *Dashboard) customer(c *call) error {
	storeID, id := c.r.PathValue("store"), c.r.PathValue("id")
	v, err := d.Backend.Customer(c.r.Context(), storeID, id)
	if err != nil {
		return err
	}
	page := customerPage{V: v, URL: cardURL(storeID, id), Needs: needs(v.Progress, c.lang)}
	page.Staff, _ = c.s.prefs()
	if v.Progress.SpendPercent > 0 {
		page.Progress = bar(float64(v.Progress.SpendPercent)/100, 0, "s-member",
			c.lang.T("%d %% of the spend %s needs", v.Progress.SpendPercent, v.Progress.Next))
	}
	for _, r := range v.Rewards {
		if r.Status == "issued" || r.Status == "created" {
			page.Unused = append(page.Unused, r)
		} else {
			page.Used = append(page.Used, r)
		}
	}
	for i := len(v.Ledger) - 1; i >= 0; i-- {
		page.Ledger = append(page.Ledger, v.Ledger[i])
	}
	if d.Program != nil {
		for _, r := range d.Program.Rewards {
			page.Rewards = append(page.Rewards, rewardOption{ID: r.ID, Title: r.Title(d.Program.Currency), Points: r.Points,
				Affordable: v.Points.Available >= r.Points})
		}
	}
	title := v.Name
	if title == "" {
		title = c.lang.T("Customer %s", v.CustomerID)
	}
	d.render(c, "customer", title, "customers", page)
	return nil
}

// needs says in the page's language what the next tier needs.
func needs(p loyalty.Progress, l *language) string {
	if p.Next == "" {
		return ""
	}
	var parts []string
	if p.MissingSpend.Minor > 0 {
		parts = append(parts, l.T("%s more spend", ltr(report.FormatMoney(p.MissingSpend))))
	}
	if p.MissingOrders > 0 {
		parts = append(parts, l.T("%d more orders", p.MissingOrders))
	}
	if p.MissingReferrals > 0 {
		parts = append(parts, l.T("%d more referrals", p.MissingReferrals))
	}
	if p.MissingDays > 0 {
		parts = append(parts, l.T("%d more days as a member", p.MissingDays))
	}
	if len(parts) == 0 {
		return l.T("%s: qualifies at the next review", isolate(p.Next))
	}
	return l.T("%s needs %s", isolate(p.Next), strings.Join(parts, l.T(", ")))
}

// staffName reads the form's staff name and remembers it in the session.
func (c *call) staffName() (string, error) {
	staff := strings.TrimSpace(c.r.PostFormValue("staff"))
	if staff == "" {
		return "", &FieldError{Field: "staff", Msg: c.lang.T("required: who does it, for the audit log")}
	}
	c.s.setStaff(staff)
	return staff, nil
}

func (d *Dashboard) adjust(c *call) error {
	storeID, id := c.r.PathValue("store"), c.r.PathValue("id")
	to := cardURL(storeID, id)
	points, err := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(c.r.PostFormValue("points"), "+")), 10, 64)
	reason := strings.TrimSpace(c.r.PostFormValue("reason"))
	staff, serr := c.staffName()
	switch {
	case err != nil || points == 0:
		err = &FieldError{Field: "points", Msg: c.lang.T("a whole number of points, not 0 (negative takes points away)")}
	case reason == "":
		err = &FieldError{Field: "reason", Msg: c.lang.T("required: it is shown on the customer's history")}
	case serr != nil:
		err = serr
	default:
		var line *report.LedgerLine
		line, err = d.Backend.Adjust(c.r.Context(), storeID, id, points, reason, staff)
		if err == nil {
			return c.back(to, true, c.lang.T("Done: %+d points, “%s”, by %s.", line.Points, line.Reason, staff))
		}
	}
	if msg, ok := c.refusal(err); ok {
		return c.back(to, false, msg)
	}
	return err
}

func (d *Dashboard) redeem(c *call) error {
	storeID, id := c.r.PathValue("store"), c.r.PathValue("id")
	to := cardURL(storeID, id)
	rewardID := c.r.PostFormValue("reward")
	staff, err := c.staffName()
	if err == nil && (d.Program == nil || d.Program.Reward(rewardID) == nil) {
		err = &FieldError{Field: "reward", Msg: c.lang.T("choose a reward of the catalogue")}
	}
	if err == nil {
		var red *report.RewardLine
		red, err = d.Backend.Redeem(c.r.Context(), storeID, id, rewardID, staff)
		if err == nil {
			msg := c.lang.T("Done: %s for %d points, code %s.", d.Program.Reward(rewardID).Title(d.Program.Currency), red.Points, red.Code)
			if !red.ExpiresAt.IsZero() {
				msg += " " + c.lang.T("Valid until %s.", red.ExpiresAt.Format(time.DateOnly))
			}
			return c.back(to, true, msg)
		}
	}
	if msg, ok := c.refusal(err); ok {
		return c.back(to, false, msg)
	}
	return err
}

// ---- rewards and referrals ----

type rewardsPage struct {
	Pick        picker
	Catalogue   []rewardOption
	Activity    *report.Activity
	Titles      map[string]string
	Figures     []report.Figure
	Unavailable bool
}

func (d *Dashboard) rewards(c *call) error {
	p := d.pick(c, "/rewards", true)
	page := &rewardsPage{Pick: p, Titles: map[string]string{}}
	if d.Program != nil {
		for _, r := range d.Program.Rewards {
			t := r.Title(d.Program.Currency)
			page.Catalogue = append(page.Catalogue, rewardOption{ID: r.ID, Title: t, Points: r.Points})
			page.Titles[r.ID] = t
		}
	}
	if d.Reports == nil {
		page.Unavailable = true
		d.render(c, "rewards", c.lang.T("Rewards and referrals"), "rewards", page)
		return nil
	}
	ctx := c.r.Context()
	act, err := d.Reports.Activity(ctx, p.Store)
	if err != nil {
		return err
	}
	page.Activity = act
	rep, err := d.Reports.Report(ctx, p.Store, d.query(p))
	if err != nil {
		return err
	}
	for _, k := range []string{"rewards_issued", "reward_value_issued", "rewards_used", "reward_cost", "points_redeemed", "redemption_rate"} {
		if f, ok := rep.Figure(k); ok {
			page.Figures = append(page.Figures, f)
		}
	}
	d.render(c, "rewards", c.lang.T("Rewards and referrals"), "rewards", page)
	return nil
}

// ---- segments ----

type segmentsPage struct {
	Pick        picker
	Report      *report.Report
	ABC         []segmentRow
	RFM         []segmentRow
	RFMMore     int
	Grid        [][]gridCell
	Unavailable bool
}

type segmentRow struct {
	report.SegmentRow
	CustomerBar, RevenueBar template.HTML
}

// gridCell is a cell of the recency × frequency grid.
type gridCell struct {
	Customers int
	Revenue   commerce.Money
	Shade     int
	Title     string
}

func (d *Dashboard) segments(c *call) error {
	p := d.pick(c, "/segments", true)
	page := &segmentsPage{Pick: p}
	if d.Reports == nil {
		page.Unavailable = true
		d.render(c, "segments", c.lang.T("Segments"), "segments", page)
		return nil
	}
	rep, err := d.Reports.Report(c.r.Context(), p.Store, d.query(p))
	if err != nil {
		return err
	}
	page.Report = rep
	seg := func(s report.SegmentRow, name string) segmentRow {
		return segmentRow{SegmentRow: s,
			CustomerBar: bar(s.CustomerShare, 0, "s-holdout", c.lang.T("%s: %s of buyers", name, report.Percent(s.CustomerShare))),
			RevenueBar:  bar(s.RevenueShare, 0, "s-member", c.lang.T("%s: %s of revenue", name, report.Percent(s.RevenueShare)))}
	}
	for _, s := range rep.ABC.Rows {
		page.ABC = append(page.ABC, seg(s, strings.ToUpper(s.Segment)))
	}
	const topCells = 15
	for i, s := range rep.RFM.Rows {
		if i == topCells {
			page.RFMMore = len(rep.RFM.Rows) - topCells
			break
		}
		page.RFM = append(page.RFM, seg(s, s.Segment))
	}
	page.Grid = rfmGrid(rep, c.lang)
	d.render(c, "segments", c.lang.T("Segments"), "segments", page)
	return nil
}

// rfmGrid sums the RFM cells by recency (columns, 1 to 5) and frequency
// (rows, 5 at the top), shaded by their number of buyers.
func rfmGrid(rep *report.Report, l *language) [][]gridCell {
	grid := make([][]gridCell, 5)
	for i := range grid {
		grid[i] = make([]gridCell, 5)
	}
	most := 0
	for _, s := range rep.RFM.Rows {
		var r, fq, m int
		if _, err := fmt.Sscanf(s.Segment, "%d-%d-%d", &r, &fq, &m); err != nil || r < 1 || r > 5 || fq < 1 || fq > 5 {
			continue
		}
		cell := &grid[5-fq][r-1]
		cell.Customers += s.Customers
		if cell.Revenue.Currency == "" {
			cell.Revenue = commerce.NewMoney(0, s.Revenue.Currency)
		}
		cell.Revenue = cell.Revenue.Add(s.Revenue)
		most = max(most, cell.Customers)
	}
	for i := range grid {
		for j := range grid[i] {
			cell := &grid[i][j]
			if most > 0 {
				cell.Shade = int(math.Ceil(5 * float64(cell.Customers) / float64(most)))
			}
			cell.Title = l.T("recency %d, frequency %d: %d buyers", j+1, 5-i, cell.Customers)
			if cell.Customers > 0 {
				cell.Title += ", " + report.FormatMoney(cell.Revenue)
			}
		}
	}
	return grid
}

// ---- stores ----

type storesPage struct {
	Stores []storeCard
	Staff  string
}

type storeCard struct {
	report.StoreReport
	// LastPoll is the latest pass over the store: the daemon's, or one
	// run by a command, which only the cursors remember.
	LastPoll time.Time
	Dead     []report.DeadLetter
}

func (d *Dashboard) stores(c *call) error {
	ctx := c.r.Context()
	reps, err := d.Backend.Status(ctx)
	if err != nil {
		return err
	}
	page := storesPage{}
	page.Staff, _ = c.s.prefs()
	for _, r := range reps {
		card := storeCard{StoreReport: r, LastPoll: r.LastPass}
		for _, c := range r.Cursors {
			if c.LastPass.After(card.LastPoll) {
				card.LastPoll = c.LastPass
			}
		}
		if card.Dead, err = d.Backend.DeadLetters(ctx, r.Store); err != nil {
			return err
		}
		page.Stores = append(page.Stores, card)
	}
	d.render(c, "stores", c.lang.T("Stores"), "stores", page)
	return nil
}

func (d *Dashboard) retry(c *call) error {
	storeID := c.r.PathValue("store")
	var ids []int64
	if c.r.PostFormValue("all") == "" {
		id, err := strconv.ParseInt(c.r.PostFormValue("id"), 10, 64)
		if err != nil {
			return c.back("/stores", false, c.lang.T("Not done: which write-back?"))
		}
		ids = []int64{id}
	}
	staff, err := c.staffName()
	if err == nil {
		var n int
		n, err = d.Backend.RetryDead(c.r.Context(), storeID, ids, staff)
		if err == nil {
			return c.back("/stores", true, c.lang.T("Done: %d write-backs of store %s queued again.", n, storeID))
		}
	}
	if msg, ok := c.refusal(err); ok {
		return c.back("/stores", false, msg)
	}
	return err
}

// ---- simulation ----

// simulations are the simulations started from the dashboard: one runs
// at a time (each replays the history twice), and the last few are kept
// to be read.
type simulations struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	jobs   []*simJob
	next   int
}

type simJob struct {
	ID      int
	Store   string
	Name    string
	Started time.Time
	// done is closed when the job ended; then Sim or Err is set.
	done chan struct{}
	Took time.Duration
	Sim  *report.Simulation
	Err  error
}

func (j *simJob) finished() bool {
	select {
	case <-j.done:
		return true
	default:
		return false
	}
}

func newSimulations() *simulations {
	ctx, cancel := context.WithCancel(context.Background())
	return &simulations{ctx: ctx, cancel: cancel}
}

func (s *simulations) close() {
	s.cancel()
	s.wg.Wait()
}

// start runs a simulation unless one is running, which it returns.
func (s *simulations) start(sim Simulator, storeID, name string, text []byte, now time.Time) (*simJob, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		if !j.finished() {
			return j, false
		}
	}
	s.next++
	j := &simJob{ID: s.next, Store: storeID, Name: name, Started: now, done: make(chan struct{})}
	s.jobs = append(s.jobs, j)
	if len(s.jobs) > 5 {
		s.jobs = s.jobs[1:]
	}
	s.wg.Go(func() {
		began := time.Now()
		res, err := sim.Simulate(s.ctx, storeID, name, text)
		s.mu.Lock()
		j.Sim, j.Err, j.Took = res, err, time.Since(began)
		s.mu.Unlock()
		close(j.done)
	})
	return j, true
}

func (s *simulations) job(id int) *simJob {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.jobs {
		if j.ID == id {
			return j
		}
	}
	return nil
}

type simulatePage struct {
	Store       string
	Stores      []StoreRef
	Candidates  []string
	Job         *simJob
	Running     bool
	Elapsed     time.Duration
	Error       string
	Rows        []simRow
	Tiers       []simTier
	Flows       []report.TierFlow
	Moves       []report.TierMove
	MoreMoves   int
	Unavailable bool
}

func (p *simulatePage) refresh() int {
	if p.Running {
		return 2
	}
	return 0
}

// simRow is a figure under the current program and under the candidate.
type simRow struct {
	Current, Candidate report.Figure
	Change             string
}

type simTier struct {
	Tier                 string
	Current, Candidate   int
	CurrentBar, CandiBar template.HTML
}

// simulationKeys are the figures set side by side, as the command line
// sets them.
var simulationKeys = []string{"members", "holdout", "points_issued", "points_redeemed", "points_expired", "points_outstanding",
	"liability", "redemption_rate", "rewards_issued", "reward_value_issued", "rewards_used", "reward_cost",
	"incremental_gross_margin", "roi"}

func (d *Dashboard) simulate(c *call) error {
	page := &simulatePage{Store: d.storeParam(c.r.URL.Query().Get("store")), Stores: d.Stores}
	if d.Simulator == nil {
		page.Unavailable = true
		d.render(c, "simulate", c.lang.T("Simulation"), "simulate", page)
		return nil
	}
	page.Candidates = d.Simulator.Candidates()
	if id, err := strconv.Atoi(c.r.URL.Query().Get("job")); err == nil {
		j := d.sims.job(id)
		if j == nil {
			return fmt.Errorf("simulation %d: %w", id, ErrNotFound)
		}
		page.Job, page.Store = j, j.Store
		if !j.finished() {
			page.Running, page.Elapsed = true, d.now().Sub(j.Started).Round(time.Second)
		} else if j.Err != nil {
			page.Error = j.Err.Error()
			var fe *FieldError
			if !errors.As(j.Err, &fe) {
				if d.Log != nil {
					d.Log.WithField("error", scrub(j.Err)).WithField("store", j.Store).Error("dashboard: simulation")
				}
				page.Error = c.lang.T("The simulation failed; the log says why.")
			}
		} else {
			d.simulation(page, j.Sim, c.lang)
		}
	}
	d.render(c, "simulate", c.lang.T("Simulation"), "simulate", page)
	return nil
}

func (d *Dashboard) simulation(page *simulatePage, s *report.Simulation, l *language) {
	for _, k := range simulationKeys {
		a, okA := s.Current.Figure(k)
		b, okB := s.Candidate.Figure(k)
		if okA && okB {
			page.Rows = append(page.Rows, simRow{Current: a, Candidate: b, Change: change(a, b)})
		}
	}
	counts := map[string][2]int{}
	var names []string
	for i, r := range []*report.Report{s.Current, s.Candidate} {
		for _, t := range r.Tiers.Rows {
			if _, ok := counts[t.Tier]; !ok {
				names = append(names, t.Tier)
			}
			n := counts[t.Tier]
			n[i] = t.Members
			counts[t.Tier] = n
		}
	}
	most := 1
	for _, n := range counts {
		most = max(most, n[0], n[1])
	}
	for _, name := range names {
		n := counts[name]
		label := name
		if label == "" {
			label = l.T("no tier")
		}
		page.Tiers = append(page.Tiers, simTier{Tier: label, Current: n[0], Candidate: n[1],
			CurrentBar: bar(float64(n[0])/float64(most), 0, "s-holdout", l.T("current")+": "+strconv.Itoa(n[0])),
			CandiBar:   bar(float64(n[1])/float64(most), 0, "s-member", l.T("candidate")+": "+strconv.Itoa(n[1]))})
	}
	page.Flows = s.TierFlows
	const top = 50
	page.Moves = s.TierMoves
	if len(page.Moves) > top {
		page.MoreMoves = len(page.Moves) - top
		page.Moves = page.Moves[:top]
	}
}

// change says how a candidate's figure differs from the current one.
func change(a, b report.Figure) string {
	if a.NA != "" || b.NA != "" {
		return "–"
	}
	switch a.Unit {
	case report.UnitRatio:
		return fmt.Sprintf("%+.1f pp", (b.Value-a.Value)*100)
	case report.UnitNumber:
		return fmt.Sprintf("%+.2f", b.Value-a.Value)
	}
	if a.Value == 0 {
		if b.Value == 0 {
			return "="
		}
		return "new"
	}
	return fmt.Sprintf("%+.1f %%", (b.Value/a.Value-1)*100)
}

func (d *Dashboard) startSimulation(c *call) error {
	if d.Simulator == nil {
		return fmt.Errorf("simulation: %w", ErrNotFound)
	}
	storeID := d.storeParam(c.r.PostFormValue("store"))
	name, text := c.r.PostFormValue("candidate"), []byte(nil)
	if pasted := strings.TrimSpace(c.r.PostFormValue("program")); pasted != "" {
		name, text = c.lang.T("the pasted program"), []byte(pasted)
	}
	if f, h, err := c.r.FormFile("upload"); err == nil {
		b, rerr := io.ReadAll(io.LimitReader(f, maxForm))
		f.Close()
		if rerr != nil {
			return rerr
		}
		if len(b) > 0 {
			name, text = h.Filename, b
		}
	}
	back := "/simulate?store=" + url.QueryEscape(storeID)
	if text == nil && !slices.Contains(d.Simulator.Candidates(), name) {
		return c.back(back, false, c.lang.T("Not done: choose a candidate file, paste a program or upload one."))
	}
	j, started := d.sims.start(d.Simulator, storeID, name, text, d.now())
	if !started {
		c.s.setFlash(false, c.lang.T("A simulation is already running; it is shown here."))
	}
	http.Redirect(c.w, c.r, "/simulate?job="+strconv.Itoa(j.ID), http.StatusSeeOther)
	return nil
}
