package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// Audit actions of the console's own (not the service's) records.
const (
	ActionLogin            = "console.login"
	ActionLoginFailed      = "console.login_failed"
	ActionLogout           = "console.logout"
	ActionProposalCreated  = "console.proposal_created"
	ActionProposalApproved = "console.proposal_approved"
	ActionProposalRejected = "console.proposal_rejected"
	ActionWebhookReplay    = "console.webhook_replay"
)

// ObjectOperator is the object type of audit entries about an operator
// (logins).
const ObjectOperator offramp.ObjectType = "OPERATOR"

// maxForm bounds a form body.
const maxForm = 64 << 10

// session is a signed-in request's operator and session.
type session struct {
	op   offramp.Operator
	sess offramp.OperatorSession
}

// handler is a page or action of a signed-in operator.
type handler func(w http.ResponseWriter, r *http.Request, s *session)

// newToken is 32 random bytes, URL-safe base64.
func newToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// tokenHash is what the store keeps of a session token.
func tokenHash(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

// touchEvery is how stale LastSeenAt may get before a request writes it:
// a page view need not be a write, and the idle limit is far coarser.
func (c *Console) touchEvery() time.Duration { return min(time.Minute, c.idle/10) }

// authed wraps h: without a valid session the answer is 303 to /login; a
// POST must carry the session's CSRF token (403 otherwise, before h runs);
// an operator whose role does not allow need gets 403.
func (c *Console) authed(need offramp.Role, h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := c.session(r)
		if err != nil {
			if !errors.Is(err, errNoSession) {
				c.log.ErrorContext(r.Context(), "console: reading the session", "err", err)
				c.fail(w, r, http.StatusServiceUnavailable, "The console cannot read its sessions right now; try again.")
				return
			}
			c.clearCookie(w, r)
			c.toLogin(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			if err := r.ParseForm(); err != nil {
				c.fail(w, r, http.StatusBadRequest, "The form could not be read.")
				return
			}
			got := r.PostForm.Get("csrf")
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.sess.CSRF)) != 1 {
				c.fail(w, r, http.StatusForbidden, "This form has expired or did not come from the console; reload the page and try again.")
				return
			}
		}
		if !s.op.Role.Allows(need) {
			c.failAs(w, r, s, http.StatusForbidden, fmt.Sprintf("Your role (%s) does not allow this: it needs %s.", s.op.Role, need))
			return
		}
		h(w, r, s)
	})
}

var errNoSession = errors.New("no valid session")

// session finds the request's live session and moves its idle clock. An
// expired one is deleted.
func (c *Console) session(r *http.Request) (*session, error) {
	ck, err := r.Cookie(CookieName)
	if err != nil || ck.Value == "" || len(ck.Value) > 128 {
		return nil, errNoSession
	}
	ctx := r.Context()
	hash := tokenHash(ck.Value)
	var s session
	err = c.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		if s.sess, err = tx.OperatorSession(ctx, hash); err != nil {
			return err
		}
		s.op, err = tx.Operator(ctx, s.sess.OperatorID)
		return err
	})
	if errors.Is(err, offramp.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	now := c.now()
	if s.op.Disabled || !now.Before(s.sess.ExpiresAt) || !now.Before(s.sess.LastSeenAt.Add(c.idle)) {
		if err := c.store.Update(ctx, func(tx offramp.Tx) error { return tx.DeleteOperatorSession(ctx, hash) }); err != nil {
			c.log.WarnContext(ctx, "console: deleting an expired session", "err", err)
		}
		return nil, errNoSession
	}
	if now.Sub(s.sess.LastSeenAt) >= c.touchEvery() {
		if err := c.store.Update(ctx, func(tx offramp.Tx) error { return tx.TouchOperatorSession(ctx, hash, now) }); err != nil {
			return nil, err
		}
		s.sess.LastSeenAt = now
	}
	return &s, nil
}

// toLogin redirects to the login page, remembering where a GET was going.
func (c *Console) toLogin(w http.ResponseWriter, r *http.Request) {
	target := "/login"
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		target += "?next=" + url.QueryEscape(r.URL.RequestURI())
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// safeNext keeps a post-login target only when it is a path of this
// console (never another host: "//evil" or "/\evil" are refused).
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}

func (c *Console) cookie(r *http.Request, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: CookieName, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.secure || r.TLS != nil}
}

func (c *Console) clearCookie(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(CookieName); err == nil {
		http.SetCookie(w, c.cookie(r, "", -1))
	}
}

type loginData struct {
	Email, Next, Error string
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, err := c.session(r); err == nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.render(w, r, http.StatusOK, "login", nil, loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

// loginFailure is why a login was refused: Reason goes to the audit log,
// the page says only Shown.
type loginFailure struct {
	Reason, Shown string
	// Count: the failure counts toward the lockout.
	Count bool
}

var errBadCredentials = "Wrong e-mail, password or code."

// login checks the e-mail, the password (argon2id) and, when the operator
// has one, the TOTP code, outside any write transaction (the hash is slow
// on purpose); then records the outcome in one transaction: the failure
// count and lockout, or a new session, and the audit entry.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		c.fail(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	ctx := r.Context()
	email := strings.ToLower(strings.TrimSpace(r.PostForm.Get("email")))
	password := r.PostForm.Get("password")
	code := strings.TrimSpace(r.PostForm.Get("totp"))
	next := safeNext(r.PostForm.Get("next"))
	now := c.now()

	var op offramp.Operator
	known := false
	if email != "" && len(email) <= 320 {
		err := c.store.View(ctx, func(tx offramp.ReadTx) error {
			var err error
			op, err = tx.OperatorByEmail(ctx, email)
			return err
		})
		switch {
		case err == nil:
			known = true
		case !errors.Is(err, offramp.ErrNotFound):
			c.log.ErrorContext(ctx, "console: login lookup", "err", err)
			c.fail(w, r, http.StatusServiceUnavailable, "The console cannot check logins right now; try again.")
			return
		}
	}

	var f *loginFailure
	switch {
	case !known:
		c.checkPassword(c.dummy(), password) // the same work as for a real operator
		f = &loginFailure{Reason: "unknown operator", Shown: errBadCredentials}
	case op.Disabled:
		c.checkPassword(op.PasswordHash, password)
		f = &loginFailure{Reason: "operator disabled", Shown: errBadCredentials}
	case now.Before(op.LockedUntil):
		f = &loginFailure{Reason: "locked until " + op.LockedUntil.Format(time.RFC3339),
			Shown: fmt.Sprintf("Too many failed attempts: try again after %s.", op.LockedUntil.In(ist).Format("15:04:05 MST"))}
	case !c.checkPassword(op.PasswordHash, password):
		f = &loginFailure{Reason: "wrong password", Shown: errBadCredentials, Count: true}
	case op.TOTPSecret != "" && !c.checkTOTP(op.TOTPSecret, code, now):
		f = &loginFailure{Reason: "wrong or missing second-factor code", Shown: errBadCredentials, Count: true}
	}

	rehashed := ""
	if f == nil {
		rehashed = c.rehash(op.PasswordHash, password)
	}
	actor := email
	if actor == "" {
		actor = "(no e-mail given)"
	}
	details := map[string]string{"ip": clientIP(r), "user_agent": truncate(r.UserAgent(), 200)}
	token := newToken()
	var shown string
	err := c.store.Update(ctx, func(tx offramp.Tx) error {
		shown = ""
		entry := offramp.AuditEntry{ID: uuid.New(), Actor: actor, ObjectType: ObjectOperator, ObjectID: op.ID,
			Details: details, CreatedAt: now}
		if f != nil {
			shown = f.Shown
			entry.Action, entry.Reason = ActionLoginFailed, f.Reason
			if known && f.Count {
				cur, err := tx.Operator(ctx, op.ID)
				if err != nil {
					return err
				}
				cur.FailedLogins++
				if cur.FailedLogins >= LockoutThreshold {
					cur.LockedUntil = now.Add(lockoutFor(cur.FailedLogins))
					entry.Reason += fmt.Sprintf("; %d consecutive failures, locked until %s", cur.FailedLogins, cur.LockedUntil.Format(time.RFC3339))
				}
				cur.UpdatedAt = now
				if err := tx.UpdateOperator(ctx, cur); err != nil {
					return err
				}
			}
			return tx.AppendAudit(ctx, entry)
		}
		cur, err := tx.Operator(ctx, op.ID)
		if err != nil {
			return err
		}
		if cur.Disabled || cur.PasswordHash != op.PasswordHash || now.Before(cur.LockedUntil) {
			// Disabled, given a new password or locked by concurrent
			// failures while this password was checked.
			shown = errBadCredentials
			entry.Action, entry.Reason = ActionLoginFailed, "operator changed during login"
			return tx.AppendAudit(ctx, entry)
		}
		if cur.FailedLogins != 0 || !cur.LockedUntil.IsZero() || rehashed != "" {
			cur.FailedLogins, cur.LockedUntil, cur.UpdatedAt = 0, time.Time{}, now
			if rehashed != "" {
				cur.PasswordHash = rehashed
			}
			if err := tx.UpdateOperator(ctx, cur); err != nil {
				return err
			}
		}
		if err := tx.PutOperatorSession(ctx, offramp.OperatorSession{TokenHash: tokenHash(token), OperatorID: cur.ID,
			CSRF: newToken(), CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(SessionLifetime)}); err != nil {
			return err
		}
		entry.Action, entry.Reason = ActionLogin, "signed in to the console"
		return tx.AppendAudit(ctx, entry)
	})
	if err != nil {
		c.log.ErrorContext(ctx, "console: recording a login", "err", err)
		c.fail(w, r, http.StatusServiceUnavailable, "The console cannot record logins right now; try again.")
		return
	}
	if shown != "" {
		c.log.WarnContext(ctx, "console: login refused", "email", actor, "ip", details["ip"])
		c.render(w, r, http.StatusUnauthorized, "login", nil, loginData{Email: email, Next: next, Error: shown})
		return
	}
	// The old session, if any, ends: a login always starts a fresh one.
	if ck, err := r.Cookie(CookieName); err == nil && ck.Value != "" {
		old := tokenHash(ck.Value)
		_ = c.store.Update(ctx, func(tx offramp.Tx) error { return tx.DeleteOperatorSession(ctx, old) })
	}
	c.log.InfoContext(ctx, "console: operator signed in", "email", email, "role", string(op.Role), "ip", details["ip"])
	http.SetCookie(w, c.cookie(r, token, 0))
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// lockoutFor is the lock after n consecutive failures (n >= threshold):
// LockoutBase, doubling per further failure, at most LockoutMax.
func lockoutFor(n int) time.Duration {
	d := LockoutBase
	for i := LockoutThreshold; i < n && d < LockoutMax; i++ {
		d *= 2
	}
	return min(d, LockoutMax)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	now := c.now()
	err := c.store.Update(ctx, func(tx offramp.Tx) error {
		if err := tx.DeleteOperatorSession(ctx, s.sess.TokenHash); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, offramp.AuditEntry{ID: uuid.New(), Actor: s.op.Email, Action: ActionLogout,
			ObjectType: ObjectOperator, ObjectID: s.op.ID, Reason: "signed out", Details: map[string]string{"ip": clientIP(r)}, CreatedAt: now})
	})
	if err != nil {
		c.internal(w, r, s, err)
		return
	}
	http.SetCookie(w, c.cookie(r, "", -1))
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// clientIP is the peer address (the console trusts no forwarding header).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// appendAudit appends one entry of a signed-in operator's action.
func appendAudit(ctx context.Context, tx offramp.Tx, s *session, now time.Time, a offramp.AuditEntry) error {
	a.ID, a.Actor, a.CreatedAt = uuid.New(), s.op.Email, now
	if a.Reason == "" {
		a.Reason = a.Action
	}
	return tx.AppendAudit(ctx, a)
}
