package admin

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Dashboard sessions: a login with the admin token gives the browser a
// cookie holding a random session id; the session itself (its CSRF token,
// the staff member's name, the language, a message for the next page)
// stays in memory, so that a restart logs everyone out.
const (
	sessionCookie = "loyaltyd_session"
	// sessionIdle ends a session unused this long; sessionMax ends any.
	sessionIdle = 12 * time.Hour
	sessionMax  = 7 * 24 * time.Hour
	// maxSessions bounds the memory sessions take; the oldest go first.
	maxSessions = 1000
	// After maxFailures failed logins from one address within
	// failureWindow, its next attempts are refused unchecked until the
	// window ends.
	maxFailures   = 5
	failureWindow = 15 * time.Minute
)

// flash is a message for the next page a session shows.
type flash struct {
	OK   bool
	Text string
}

// session is one logged-in browser.
type session struct {
	key     string // sha256 of the id, the map key
	csrf    string
	created time.Time

	mu    sync.Mutex
	seen  time.Time
	staff string
	lang  string
	flash *flash
}

func (s *session) setStaff(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.staff = name
}

func (s *session) setFlash(ok bool, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flash = &flash{OK: ok, Text: text}
}

// takeFlash returns the message for this page, once.
func (s *session) takeFlash() *flash {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.flash
	s.flash = nil
	return f
}

func (s *session) prefs() (staff, lang string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.staff, s.lang
}

func (s *session) setLang(lang string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lang = lang
}

// checkCSRF reports whether a form carries the session's CSRF token,
// compared in constant time.
func (s *session) checkCSRF(got string) bool {
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

// sessions are the logged-in browsers.
type sessions struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*session
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, m: map[string]*session{}}
}

// randomToken returns 32 random bytes, URL-safe base64.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// keyOf is the map key of a session id: its digest, so that looking a
// session up does not compare the presented id itself.
func keyOf(id string) string {
	sum := sha256.Sum256([]byte(id))
	return string(sum[:])
}

// create starts a session and returns it with the id for the cookie.
func (ss *sessions) create() (*session, string) {
	id := randomToken()
	now := ss.now()
	s := &session{key: keyOf(id), csrf: randomToken(), created: now, seen: now}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.sweep(now)
	for len(ss.m) >= maxSessions {
		var oldest *session
		for _, o := range ss.m {
			if oldest == nil || o.created.Before(oldest.created) {
				oldest = o
			}
		}
		delete(ss.m, oldest.key)
	}
	ss.m[s.key] = s
	return s, id
}

// sweep forgets expired sessions; ss.mu is held.
func (ss *sessions) sweep(now time.Time) {
	for k, s := range ss.m {
		if ss.expired(s, now) {
			delete(ss.m, k)
		}
	}
}

func (ss *sessions) expired(s *session, now time.Time) bool {
	s.mu.Lock()
	seen := s.seen
	s.mu.Unlock()
	return now.Sub(seen) > sessionIdle || now.Sub(s.created) > sessionMax
}

// get returns the session of a request, or nil, and marks it used.
func (ss *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[keyOf(c.Value)]
	if s == nil {
		return nil
	}
	if ss.expired(s, now) {
		delete(ss.m, s.key)
		return nil
	}
	s.mu.Lock()
	s.seen = now
	s.mu.Unlock()
	return s
}

func (ss *sessions) remove(s *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, s.key)
}

// secure reports whether the browser reached us over TLS, directly or
// through a proxy that says so.
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// setSessionCookie gives the browser the session id, for as long as the
// browser runs (maxAge 0); an empty id and a negative maxAge delete it.
func setSessionCookie(w http.ResponseWriter, r *http.Request, id string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    id,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   secure(r),
		SameSite: http.SameSiteStrictMode,
	})
}

// limiter counts failed logins per address.
type limiter struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]*failures
}

type failures struct {
	n     int
	since time.Time
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, m: map[string]*failures{}}
}

// clientAddr is the address failed logins are counted by: the peer's IP.
// Behind a reverse proxy every browser shares the proxy's address, which
// only makes the limit stricter.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// wait returns how long an address must wait before its next attempt is
// checked, or 0.
func (l *limiter) wait(addr string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.m[addr]
	if f == nil {
		return 0
	}
	left := failureWindow - l.now().Sub(f.since)
	if left <= 0 {
		delete(l.m, addr)
		return 0
	}
	if f.n < maxFailures {
		return 0
	}
	return left
}

func (l *limiter) fail(addr string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.m) > 10000 {
		for k, f := range l.m {
			if now.Sub(f.since) > failureWindow {
				delete(l.m, k)
			}
		}
	}
	f := l.m[addr]
	if f == nil || now.Sub(f.since) > failureWindow {
		f = &failures{since: now}
		l.m[addr] = f
	}
	f.n++
}

func (l *limiter) reset(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, addr)
}
