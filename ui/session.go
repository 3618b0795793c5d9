package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"sync"
	"time"
)

// Session lifetimes. A session ends after idleTimeout without a request or
// maxAge after sign-in, whichever comes first; a sign-in code is good once,
// for codeTTL.
const (
	idleTimeout = time.Hour
	maxAge      = 12 * time.Hour
	codeTTL     = time.Minute
	// maxSessions bounds memory if someone signs in in a loop; the oldest
	// sessions go first.
	maxSessions = 10000
)

// session is one signed-in browser.
type session struct {
	id       string
	token    string // the user's API token; never sent to the browser
	user     string
	role     string
	csrf     string
	created  time.Time
	lastSeen time.Time
}

// code is a one-time sign-in code minted for a token.
type code struct {
	token   string
	expires time.Time
}

// sessions holds the sessions and sign-in codes of one server. Its
// methods may be called concurrently.
type sessions struct {
	now func() time.Time

	mu    sync.Mutex
	byID  map[string]*session
	codes map[string]code
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, byID: map[string]*session{}, codes: map[string]code{}}
}

// randomID returns 32 random bytes in hex.
func randomID() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("ui: crypto/rand failed: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// create starts a session for an authenticated token.
func (s *sessions) create(token, user, role string) *session {
	now := s.now()
	ss := &session{id: randomID(), token: token, user: user, role: role, csrf: randomID(), created: now, lastSeen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(now)
	if len(s.byID) >= maxSessions {
		var oldest *session
		for _, o := range s.byID {
			if oldest == nil || o.created.Before(oldest.created) {
				oldest = o
			}
		}
		delete(s.byID, oldest.id)
	}
	s.byID[ss.id] = ss
	return ss
}

// get returns the live session with id and marks it used; nil if there is
// none or it has expired.
func (s *sessions) get(id string) *session {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.byID[id]
	if !ok {
		return nil
	}
	if s.expired(ss, now) {
		delete(s.byID, id)
		return nil
	}
	ss.lastSeen = now
	cp := *ss
	return &cp
}

// remove ends the session with id.
func (s *sessions) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.byID, id)
}

func (s *sessions) expired(ss *session, now time.Time) bool {
	return now.Sub(ss.lastSeen) > idleTimeout || now.Sub(ss.created) > maxAge
}

func (s *sessions) expireLocked(now time.Time) {
	for id, ss := range s.byID {
		if s.expired(ss, now) {
			delete(s.byID, id)
		}
	}
	for c, v := range s.codes {
		if now.After(v.expires) {
			delete(s.codes, c)
		}
	}
}

// mintCode returns a one-time sign-in code for token.
func (s *sessions) mintCode(token string) (string, time.Time) {
	now := s.now()
	c := randomID()
	exp := now.Add(codeTTL)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireLocked(now)
	s.codes[c] = code{token: token, expires: exp}
	return c, exp
}

// redeem consumes a sign-in code and returns its token.
func (s *sessions) redeem(c string) (string, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.codes[c]
	if !ok {
		return "", false
	}
	delete(s.codes, c)
	if now.After(v.expires) {
		return "", false
	}
	return v.token, true
}

// csrfOK compares a request's CSRF token with the session's in constant
// time.
func (ss *session) csrfOK(got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(ss.csrf)) == 1
}
