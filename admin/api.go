package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/report"
)

// Errors a Backend returns, so that the API answers with the right status.
var (
	// ErrNotFound: no such store, customer or item (404).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request is well formed but the state refuses it:
	// not enough points, a negative balance, not a member (409).
	ErrConflict = errors.New("not possible now")
)

// FieldError is a mistake in a request, naming the field at fault (400).
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Backend is what the staff API and the dashboard ask of the engine.
// Methods return errors wrapping ErrNotFound or ErrConflict, or a
// *FieldError, where those apply.
type Backend interface {
	SearchCustomers(ctx context.Context, storeID, query string, limit int) ([]report.CustomerHit, error)
	Customer(ctx context.Context, storeID, customerID string) (*report.CustomerView, error)
	Adjust(ctx context.Context, storeID, customerID string, points int64, reason, staff string) (*report.LedgerLine, error)
	Redeem(ctx context.Context, storeID, customerID, rewardID, staff string) (*report.RewardLine, error)
	Status(ctx context.Context) ([]report.StoreReport, error)
	DeadLetters(ctx context.Context, storeID string) ([]report.DeadLetter, error)
	RetryDead(ctx context.Context, storeID string, ids []int64, staff string) (int, error)
}

// StoreRef names a configured store.
type StoreRef struct {
	ID       string `json:"id"`
	Platform string `json:"platform"`
}

// API is the staff API: JSON under /api/, every route behind the admin
// token (Authorization: Bearer), compared in constant time. Its routes are
// described in openapi.yaml.
type API struct {
	Backend Backend
	Program *loyalty.Program
	Stores  []StoreRef
	// Token is the admin token; the API answers nothing without it.
	Token string
	Log   logrus.FieldLogger
}

type route struct {
	pattern string
	h       func(http.ResponseWriter, *http.Request) (any, error)
}

func (a *API) routes() []route {
	return []route{
		{"GET /api/stores", a.stores},
		{"GET /api/rewards", a.rewards},
		{"GET /api/customers", a.search},
		{"GET /api/customers/{store}/{id}", a.customer},
		{"POST /api/customers/{store}/{id}/adjust", a.adjust},
		{"POST /api/customers/{store}/{id}/redeem", a.redeem},
		{"GET /api/status", a.status},
		{"GET /api/outbox/{store}/dead", a.dead},
		{"POST /api/outbox/{store}/retry", a.retry},
	}
}

// Routes returns the patterns the API serves ("GET /api/stores", …).
func (a *API) Routes() []string {
	var out []string
	for _, r := range a.routes() {
		out = append(out, r.pattern)
	}
	return out
}

// Register adds the API's routes to a mux.
func (a *API) Register(mux *http.ServeMux) {
	for _, r := range a.routes() {
		mux.Handle(r.pattern, a.guard(r.h))
	}
	mux.Handle("/api/", a.guard(func(http.ResponseWriter, *http.Request) (any, error) {
		return nil, fmt.Errorf("no such route: %w", ErrNotFound)
	}))
}

// Authorized reports whether a request carries the admin token.
func (a *API) Authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && tokenEqual(got, a.Token)
}

// tokenEqual compares a presented token with the admin token in constant
// time (of the digests, so the length does not show either).
func tokenEqual(got, want string) bool {
	if want == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// apiError is the body of every error answer.
type apiError struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func (a *API) guard(h func(http.ResponseWriter, *http.Request) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if !a.Authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="loyaltyd"`)
			writeJSON(w, http.StatusUnauthorized, apiError{Error: "the admin token is missing or wrong (Authorization: Bearer <admin_token>)"})
			return
		}
		v, err := h(w, r)
		if err != nil {
			code, body := errorAnswer(err)
			if code == http.StatusInternalServerError {
				// What failed inside (paths, SQL) goes to the log only.
				if a.Log != nil {
					a.Log.WithError(err).WithField("path", r.URL.Path).Error("admin API")
				}
				body.Error = "internal error; see the log"
			}
			writeJSON(w, code, body)
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

// errorAnswer is the one table of the API's error statuses.
func errorAnswer(err error) (int, apiError) {
	var fe *FieldError
	switch {
	case errors.As(err, &fe):
		return http.StatusBadRequest, apiError{Error: fe.Msg, Field: fe.Field}
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, apiError{Error: err.Error()}
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, apiError{Error: err.Error()}
	}
	return http.StatusInternalServerError, apiError{Error: err.Error()}
}

func (a *API) store(r *http.Request, field string) (string, error) {
	id := r.PathValue("store")
	if id == "" {
		id = r.URL.Query().Get("store")
	}
	if id == "" && len(a.Stores) == 1 {
		return a.Stores[0].ID, nil
	}
	for _, s := range a.Stores {
		if s.ID == id {
			return id, nil
		}
	}
	if id == "" {
		return "", &FieldError{Field: field, Msg: "required: which store"}
	}
	return "", fmt.Errorf("store %q: %w", id, ErrNotFound)
}

// decode reads a JSON body strictly: an unknown field is an error naming it.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return &FieldError{Field: te.Field, Msg: "wrong type: want " + te.Type.String()}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return &FieldError{Field: strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), Msg: "unknown field"}
		}
		return &FieldError{Field: "body", Msg: "not JSON: " + err.Error()}
	}
	return nil
}

func (a *API) stores(http.ResponseWriter, *http.Request) (any, error) { return a.Stores, nil }

// rewardJSON is a reward of the catalogue as the API shows it.
type rewardJSON struct {
	ID               string `json:"id"`
	Title            string `json:"title"`
	Points           int64  `json:"points"`
	Type             string `json:"type"`
	Value            string `json:"value,omitempty"`
	MinOrder         string `json:"min_order,omitempty"`
	ExpiresAfterDays int    `json:"expires_after_days,omitempty"`
}

func (a *API) rewards(http.ResponseWriter, *http.Request) (any, error) {
	out := []rewardJSON{}
	for _, r := range a.Program.Rewards {
		j := rewardJSON{ID: r.ID, Title: r.Title(a.Program.Currency), Points: r.Points, Type: r.Type, ExpiresAfterDays: r.ExpiresAfterDays}
		if !r.Value.IsZero() {
			j.Value = r.Value.String()
		}
		if r.MinOrder.Set() {
			j.MinOrder = r.MinOrder.Money().String()
		}
		out = append(out, j)
	}
	return out, nil
}

func (a *API) search(_ http.ResponseWriter, r *http.Request) (any, error) {
	storeID, err := a.store(r, "store")
	if err != nil {
		return nil, err
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" {
		return nil, &FieldError{Field: "q", Msg: "required: an e-mail, a name or an id"}
	}
	limit := 20
	if l := r.URL.Query().Get("limit"); l != "" {
		if limit, err = strconv.Atoi(l); err != nil || limit < 1 || limit > 200 {
			return nil, &FieldError{Field: "limit", Msg: "want a number from 1 to 200"}
		}
	}
	return a.Backend.SearchCustomers(r.Context(), storeID, q, limit)
}

func (a *API) customer(_ http.ResponseWriter, r *http.Request) (any, error) {
	storeID, err := a.store(r, "store")
	if err != nil {
		return nil, err
	}
	return a.Backend.Customer(r.Context(), storeID, r.PathValue("id"))
}

// AdjustRequest is the body of POST /api/customers/{store}/{id}/adjust.
type AdjustRequest struct {
	Points int64  `json:"points"`
	Reason string `json:"reason"`
	Staff  string `json:"staff"`
}

func (a *API) adjust(_ http.ResponseWriter, r *http.Request) (any, error) {
	storeID, err := a.store(r, "store")
	if err != nil {
		return nil, err
	}
	var req AdjustRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	switch {
	case req.Points == 0:
		return nil, &FieldError{Field: "points", Msg: "required, and not 0"}
	case strings.TrimSpace(req.Reason) == "":
		return nil, &FieldError{Field: "reason", Msg: "required: it is shown on the customer's history"}
	case strings.TrimSpace(req.Staff) == "":
		return nil, &FieldError{Field: "staff", Msg: "required: who adjusts, for the audit log"}
	}
	return a.Backend.Adjust(r.Context(), storeID, r.PathValue("id"), req.Points, req.Reason, req.Staff)
}

// RedeemRequest is the body of POST /api/customers/{store}/{id}/redeem.
type RedeemRequest struct {
	Reward string `json:"reward"`
	Staff  string `json:"staff"`
}

func (a *API) redeem(_ http.ResponseWriter, r *http.Request) (any, error) {
	storeID, err := a.store(r, "store")
	if err != nil {
		return nil, err
	}
	var req RedeemRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	switch {
	case a.Program.Reward(req.Reward) == nil:
		return nil, &FieldError{Field: "reward", Msg: fmt.Sprintf("unknown reward %q", req.Reward)}
	case strings.TrimSpace(req.Staff) == "":
		return nil, &FieldError{Field: "staff", Msg: "required: who redeems, for the audit log"}
	}
	return a.Backend.Redeem(r.Context(), storeID, r.PathValue("id"), req.Reward, req.Staff)
}

func (a *API) status(_ http.ResponseWriter, r *http.Request) (any, error) {
	return a.Backend.Status(r.Context())
}

func (a *API) dead(_ http.ResponseWriter, r *http.Request) (any, error) {
	storeID, err := a.store(r, "store")
	if err != nil {
		return nil, err
	}
	return a.Backend.DeadLetters(r.Context(), storeID)
}

// RetryRequest is the body of POST /api/outbox/{store}/retry: the dead
// write-backs to retry (all when empty), and who asks.
type RetryRequest struct {
	IDs   []int64 `json:"ids"`
	Staff string  `json:"staff"`
}

func (a *API) retry(_ http.ResponseWriter, r *http.Request) (any, error) {
	storeID, err := a.store(r, "store")
	if err != nil {
		return nil, err
	}
	var req RetryRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.Staff) == "" {
		return nil, &FieldError{Field: "staff", Msg: "required: who retries, for the audit log"}
	}
	n, err := a.Backend.RetryDead(r.Context(), storeID, req.IDs, req.Staff)
	if err != nil {
		return nil, err
	}
	return map[string]int{"retried": n}, nil
}
