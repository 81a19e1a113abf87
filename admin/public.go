package admin

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/loyaltyd/loyaltyd/connectors"
	"github.com/loyaltyd/loyaltyd/report"
)

// Customers gives the customer-facing pages what they show.
type Customers interface {
	// Customer returns the view of a customer of a store, or an error
	// (any error: the page says only that nothing is known).
	Customer(ctx context.Context, storeID, customerID string) (*report.CustomerView, error)
}

// Public serves what customers see of the program, never without a valid
// signature or token: GET /proxy/loyalty (a Shopify app proxy request,
// verified by the store's connector) and GET /me/{token} (a signed,
// expiring link). Both answer JSON when asked (?format=json or Accept:
// application/json), else HTML: a fragment for the app proxy, a small page
// for links.
type Public struct {
	Customers Customers
	// Proxies verify app proxy requests, by store id.
	Proxies map[string]connectors.ProxyVerifier
	// Links checks balance links; nil disables /me/.
	Links *Links
	// ProgramName titles the pages.
	ProgramName string
	Now         func() time.Time
	Log         logrus.FieldLogger
}

// Register adds the routes to a mux.
func (p *Public) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /proxy/loyalty", p.proxy)
	mux.HandleFunc("GET /me/{token}", p.link)
}

func (p *Public) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Public) proxy(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for storeID, v := range p.Proxies {
		_, customerID, err := v.VerifyProxy(q)
		if errors.Is(err, connectors.ErrBadSignature) {
			continue // signed for another store, perhaps
		}
		if err != nil {
			break
		}
		if customerID == "" {
			p.render(w, r, fragmentTmpl, publicPage{Name: p.ProgramName, SignedOut: true})
			return
		}
		p.show(w, r, fragmentTmpl, storeID, customerID)
		return
	}
	http.Error(w, "This request was not signed by the store.", http.StatusUnauthorized)
}

func (p *Public) link(w http.ResponseWriter, r *http.Request) {
	if p.Links == nil {
		http.NotFound(w, r)
		return
	}
	storeID, customerID, err := p.Links.Verify(r.PathValue("token"), p.now())
	if err != nil {
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "This link is not valid, or has expired. Ask the store for a new one.", http.StatusUnauthorized)
		return
	}
	p.show(w, r, pageTmpl, storeID, customerID)
}

// publicPage is what the templates show; it holds no e-mail address.
type publicPage struct {
	Name      string
	SignedOut bool
	Member    bool
	View      *report.CustomerView
	Recent    []report.LedgerLine
}

func (p *Public) show(w http.ResponseWriter, r *http.Request, t *template.Template, storeID, customerID string) {
	v, err := p.Customers.Customer(r.Context(), storeID, customerID)
	if err != nil {
		if p.Log != nil {
			p.Log.WithField("store", storeID).WithError(err).Warn("customer page: no view")
		}
		v = &report.CustomerView{Store: storeID, CustomerID: customerID}
	}
	page := publicPage{Name: p.ProgramName, Member: v.Enrolled, View: v}
	for i := len(v.Ledger) - 1; i >= 0 && len(page.Recent) < 10; i-- {
		page.Recent = append(page.Recent, v.Ledger[i])
	}
	if wantsJSON(r) {
		w.Header().Set("Cache-Control", "private, no-store")
		if !v.Enrolled {
			writeJSON(w, http.StatusOK, map[string]any{"member": false})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"member": true, "points": v.Points, "tier": v.Tier, "next_tier": v.Progress.Next,
			"next_tier_needs": v.NextTierNeeds, "points_expire_at": v.ExpiresAt, "referral_code": v.ReferralCode,
			"reward_codes": unusedRewards(v), "recent": page.Recent,
		})
		return
	}
	p.render(w, r, t, page)
}

func unusedRewards(v *report.CustomerView) []report.RewardLine {
	out := []report.RewardLine{}
	for _, r := range v.Rewards {
		if r.Status == "issued" || r.Status == "created" {
			out = append(out, r)
		}
	}
	return out
}

func wantsJSON(r *http.Request) bool {
	return r.URL.Query().Get("format") == "json" || r.Header.Get("Accept") == "application/json"
}

func (p *Public) render(w http.ResponseWriter, r *http.Request, t *template.Template, page publicPage) {
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]any{"member": false, "signed_in": !page.SignedOut})
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "private, no-store")
	if err := t.Execute(w, page); err != nil && p.Log != nil {
		p.Log.WithError(err).Error("customer page")
	}
}

//go:embed public/*.html
var publicFS embed.FS

var publicFuncs = template.FuncMap{
	"date": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format("2 January 2006")
	},
	"unused": unusedRewards,
}

var (
	fragmentTmpl = template.Must(template.New("fragment.html").Funcs(publicFuncs).ParseFS(publicFS, "public/fragment.html"))
	pageTmpl     = template.Must(template.New("page.html").Funcs(publicFuncs).ParseFS(publicFS, "public/page.html", "public/fragment.html"))
)
