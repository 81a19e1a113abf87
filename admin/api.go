package admin

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/loyaltyd/loyaltyd/loyalty"
	"github.com/loyaltyd/loyaltyd/report"
)

// Errors a Backend returns, so that the API answers with the right status.
var (
	// ErrNotFound: no such store, customer or item (404).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request is well formed but the state refuses it:
	// not enough points, a negative balance, not a member, a simulation
	// already running (409).
	ErrConflict = errors.New("not possible now")
	// ErrTooLarge: the request's body is over the route's limit (413).
	ErrTooLarge = errors.New("request body too large")
	// ErrMediaType: the request's body is not of a type the route reads
	// (415).
	ErrMediaType = errors.New("unsupported media type")
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

// Reporter computes the program's report; the dashboard's Reports is one.
type Reporter interface {
	// Report returns the program's report of a store over the query's
	// period, or an error wrapping ErrNotFound for a store not served.
	Report(ctx context.Context, storeID string, q report.Query) (*report.Report, error)
}

// CandidateSimulator replays a store's history under a candidate program;
// the dashboard's Simulator is one.
type CandidateSimulator interface {
	// Simulate replays the store's stored history under the current
	// program and under the candidate, the text of a program (a program
	// block or a whole configuration) called name, writing nothing. A
	// mistake in the candidate is a *FieldError (naming the key at fault
	// where there is one); a store not served an error wrapping
	// ErrNotFound.
	Simulate(ctx context.Context, storeID, name string, text []byte) (*report.Simulation, error)
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
	// Reports serves GET /api/reports and Simulator POST /api/simulate;
	// without them those routes answer 404.
	Reports   Reporter
	Simulator CandidateSimulator
	// Token is the admin token; the API answers nothing without it.
	Token string
	// Now is the clock that "up to now" periods are checked against;
	// nil is time.Now.
	Now func() time.Time
	Log logrus.FieldLogger

	// simulating is set while a simulation runs: one at a time, since
	// each replays the whole history twice.
	simulating atomic.Bool
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
		{"GET /api/reports", a.reports},
		{"POST /api/simulate", a.simulate},
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
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge, apiError{Error: err.Error(), Field: "body"}
	case errors.Is(err, ErrMediaType):
		return http.StatusUnsupportedMediaType, apiError{Error: err.Error(), Field: "Content-Type"}
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

func (a *API) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// onlyParams refuses a query parameter the route does not read, so that a
// misspelt one ("form=") is not silently a default.
func onlyParams(q url.Values, known ...string) error {
	for _, name := range slices.Sorted(maps.Keys(q)) {
		if !slices.Contains(known, name) {
			return &FieldError{Field: name, Msg: "unknown parameter (known: " + strings.Join(known, ", ") + ")"}
		}
	}
	return nil
}

// maxPairs bounds the co-purchase pairs a report lists.
const maxPairs = 1000

// reportQuery reads a report's period and pairs from the query string as
// `loyaltyd report` reads its flags: days are whole days in the program's
// time zone, to included (or RFC 3339 times, to excluded); the default
// period is the year up to now.
func (a *API) reportQuery(v url.Values) (report.Query, error) {
	var q report.Query
	loc := time.UTC
	if a.Program != nil {
		loc = a.Program.Location()
	}
	var err error
	if q.From, err = report.ParseDay(v.Get("from"), loc, false); err != nil {
		return q, &FieldError{Field: "from", Msg: err.Error()}
	}
	if q.To, err = report.ParseDay(v.Get("to"), loc, true); err != nil {
		return q, &FieldError{Field: "to", Msg: err.Error()}
	}
	if s := v.Get("pairs"); s != "" {
		if q.Pairs, err = strconv.Atoi(s); err != nil || q.Pairs < 1 || q.Pairs > maxPairs {
			return q, &FieldError{Field: "pairs", Msg: fmt.Sprintf("want a number from 1 to %d", maxPairs)}
		}
	}
	if s := v.Get("min_support"); s != "" {
		if q.MinSupport, err = strconv.ParseFloat(s, 64); err != nil || !(q.MinSupport > 0 && q.MinSupport <= 1) {
			return q, &FieldError{Field: "min_support", Msg: "want a share above 0 and at most 1 (0.01 is 1 %)"}
		}
	}
	// Resolved here only to be checked: the backend resolves "now" by
	// its own clock, as the command does.
	if _, err := q.Resolve(a.now()); err != nil {
		if v.Get("to") == "" {
			return q, &FieldError{Field: "from", Msg: fmt.Sprintf("%s is not before now", v.Get("from"))}
		}
		return q, &FieldError{Field: "to", Msg: fmt.Sprintf("from %s is not before to %s", v.Get("from"), v.Get("to"))}
	}
	return q, nil
}

func (a *API) reports(_ http.ResponseWriter, r *http.Request) (any, error) {
	if a.Reports == nil {
		return nil, fmt.Errorf("reports: %w", ErrNotFound)
	}
	v := r.URL.Query()
	if err := onlyParams(v, "store", "from", "to", "pairs", "min_support"); err != nil {
		return nil, err
	}
	storeID, err := a.store(r, "store")
	if err != nil {
		return nil, err
	}
	q, err := a.reportQuery(v)
	if err != nil {
		return nil, err
	}
	return a.Reports.Report(r.Context(), storeID, q)
}

// maxProgram bounds a candidate program's size: a program is a few
// kilobytes, a whole configuration hardly more.
const maxProgram = 256 << 10

// simulateWrite is how long a simulation's answer may take to write: the
// replay of a long history takes longer than the server's usual limit.
const simulateWrite = 15 * time.Minute

// candidateName names the posted program in the positions of its errors
// ("candidate:4: earn.points_per_unit: …") and in the answer.
const candidateName = "candidate"

// yamlTypes are the content types POST /api/simulate reads.
var yamlTypes = []string{"application/yaml", "text/yaml", "application/x-yaml", "text/x-yaml"}

// simulate replays the history under the posted program. The body is the
// program's YAML as in a program file, so that a file is posted as it is
// (curl --data-binary @candidate.yaml).
func (a *API) simulate(w http.ResponseWriter, r *http.Request) (any, error) {
	if a.Simulator == nil {
		return nil, fmt.Errorf("simulation: %w", ErrNotFound)
	}
	if err := onlyParams(r.URL.Query(), "store"); err != nil {
		return nil, err
	}
	storeID, err := a.store(r, "store")
	if err != nil {
		return nil, err
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, _ := mime.ParseMediaType(ct); !slices.Contains(yamlTypes, mt) {
		return nil, fmt.Errorf("%w: %q: send the candidate program as YAML (Content-Type: application/yaml)", ErrMediaType, ct)
	}
	text, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxProgram))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, fmt.Errorf("%w: a candidate program is at most %d KiB", ErrTooLarge, maxProgram>>10)
		}
		return nil, &FieldError{Field: "body", Msg: "cannot read it: " + err.Error()}
	}
	if len(strings.TrimSpace(string(text))) == 0 {
		return nil, &FieldError{Field: "body", Msg: "empty: want a program block (currency:, earn:, …) or a whole configuration"}
	}
	if !a.simulating.CompareAndSwap(false, true) {
		return nil, fmt.Errorf("%w: a simulation is already running; try again when it has ended", ErrConflict)
	}
	defer a.simulating.Store(false)
	// The server's write timeout is for ordinary answers; a replay may
	// take minutes. The client going away still cancels it.
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(simulateWrite))
	return a.Simulator.Simulate(r.Context(), storeID, candidateName, text)
}
