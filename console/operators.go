package console

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/operator"
)

// Audit actions of operator management: the ones `offramp admin
// operators` records too, so that one filter of the audit log finds a
// change whether it was made from the console or from the command line.
const (
	ActionOperatorCreate  = offramp.ActionOperatorCreate
	ActionOperatorDisable = offramp.ActionOperatorDisable
	ActionOperatorReset   = offramp.ActionOperatorReset
)

// The password rules of `offramp admin operators create|reset` (its
// readPassword): at least 12 characters, at most 1024 bytes, one line of
// valid UTF-8. Both doors into the operators table must ask the same.
const (
	minPasswordChars = 12
	maxPasswordBytes = 1024
)

// totpIssuer names Offramp in authenticator apps, as the CLI does.
const totpIssuer = "Offramp"

// operatorRoutes registers the operators pages. Every route, the list
// included, is for admins only: the list says who can sign in and who is
// locked out, which is reconnaissance for anybody else.
func (c *Console) operatorRoutes(route func(pattern string, need offramp.Role, h handler)) {
	route("GET /operators", offramp.RoleAdmin, c.operators)
	route("POST /operators", offramp.RoleAdmin, c.createOperator)
	route("POST /operators/{id}/disable", offramp.RoleAdmin, c.disableOperator)
	route("POST /operators/{id}/reset", offramp.RoleAdmin, c.resetOperator)
}

type operatorRow struct {
	O offramp.Operator
	// LastLogin is the latest successful console login in the audit log
	// (the operators table does not keep one); zero when none.
	LastLogin time.Time
	TOTP      bool
	Locked    bool
	Self      bool
}

type operatorsData struct {
	Rows  []operatorRow
	Roles []offramp.Role
	// Done is the message of an action answered by this page itself
	// (not by a redirect to ?done=, which the layout shows).
	Done string
	// TOTPURI is shown once, on the answer to the creation of an operator
	// with a second factor, and never again.
	TOTPURI, TOTPEmail string
}

// operators lists every operator: role, second factor, disabled, failed
// logins and lock, and the last login.
func (c *Console) operators(w http.ResponseWriter, r *http.Request, s *session) {
	data, err := c.operatorsData(r, s)
	if err != nil {
		c.internal(w, r, s, err)
		return
	}
	c.render(w, r, http.StatusOK, "operators", s, data)
}

func (c *Console) operatorsData(r *http.Request, s *session) (operatorsData, error) {
	ctx := r.Context()
	data := operatorsData{Roles: offramp.Roles}
	now := c.now()
	err := c.store.View(ctx, func(tx offramp.ReadTx) error {
		ops, err := tx.ListOperators(ctx)
		if err != nil {
			return err
		}
		for _, o := range ops {
			row := operatorRow{O: o, TOTP: o.TOTPSecret != "", Locked: now.Before(o.LockedUntil), Self: o.ID == s.op.ID}
			// The page needs neither: keep them out of the template's reach.
			row.O.PasswordHash, row.O.TOTPSecret = "", ""
			// One indexed query per operator: a console has a handful.
			last, err := tx.ListAudit(ctx, o.Email, ActionLogin, 1)
			if err != nil {
				return err
			}
			if len(last) == 1 {
				row.LastLogin = last[0].CreatedAt
			}
			data.Rows = append(data.Rows, row)
		}
		return nil
	})
	return data, err
}

// checkPasswordRules applies the CLI's password rules; "" when pw passes.
func checkPasswordRules(pw string) string {
	switch {
	case len(pw) > maxPasswordBytes:
		return fmt.Sprintf("Password: at most %d bytes.", maxPasswordBytes)
	case strings.ContainsAny(pw, "\r\n"):
		return "Password: one line, without line breaks."
	case !utf8.ValidString(pw):
		return "Password: not valid UTF-8."
	case utf8.RuneCountInString(pw) < minPasswordChars:
		return fmt.Sprintf("Password: at least %d characters.", minPasswordChars)
	}
	return ""
}

// normalizeEmail is the CLI's rule: lower case, something@something, no
// blanks.
func normalizeEmail(email string) (string, bool) {
	e := strings.ToLower(strings.TrimSpace(email))
	at := strings.LastIndexByte(e, '@')
	if at < 1 || at == len(e)-1 || len(e) > 320 || strings.ContainsAny(e, " \t\r\n") {
		return "", false
	}
	return e, true
}

func parseRole(s string) (offramp.Role, bool) {
	r := offramp.Role(strings.ToLower(strings.TrimSpace(s)))
	for _, v := range offramp.Roles {
		if v == r {
			return r, true
		}
	}
	return "", false
}

// createOperator adds an operator with the password the admin typed (and,
// when asked, a TOTP second factor whose URI this one answer shows). The
// password is hashed before the transaction: argon2id is slow on purpose.
func (c *Console) createOperator(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	email, okEmail := normalizeEmail(f.Get("email"))
	role, okRole := parseRole(f.Get("role"))
	pw := f.Get("password")
	var problems []string
	if !okEmail {
		problems = append(problems, "E-mail: the operator's e-mail address, their sign-in name.")
	}
	if !okRole {
		problems = append(problems, "Role: viewer, operator, approver or admin.")
	}
	if p := checkPasswordRules(pw); p != "" {
		problems = append(problems, p)
	}
	reason := strings.TrimSpace(f.Get("why"))
	if len(reason) > maxWhy {
		problems = append(problems, fmt.Sprintf("Why: at most %d characters.", maxWhy))
	}
	if len(problems) > 0 {
		c.failAs(w, r, s, http.StatusBadRequest, "The operator was not created.", problems...)
		return
	}
	hash, err := operator.HashPassword(pw)
	if err != nil {
		c.internal(w, r, s, err)
		return
	}
	withTOTP := f.Get("totp") != ""
	now := c.now()
	o := offramp.Operator{ID: uuid.New(), Email: email, Role: role, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if withTOTP {
		o.TOTPSecret = operator.NewTOTPSecret()
	}
	if reason == "" {
		reason = fmt.Sprintf("created operator %s with role %s", email, role)
	}
	ctx := r.Context()
	err = c.store.Update(ctx, func(tx offramp.Tx) error {
		if err := tx.CreateOperator(ctx, o); err != nil {
			return err
		}
		return appendAudit(ctx, tx, s, now, offramp.AuditEntry{Action: ActionOperatorCreate, ObjectType: ObjectOperator, ObjectID: o.ID,
			Reason: reason, Details: map[string]string{"email": email, "role": string(role), "totp": fmt.Sprint(withTOTP), "ip": clientIP(r)}})
	})
	if err != nil {
		c.failErr(w, r, s, err)
		return
	}
	c.log.InfoContext(ctx, "console: operator created", "by", s.op.Email, "email", email, "role", string(role))
	if !withTOTP {
		http.Redirect(w, r, "/operators?done=created", http.StatusSeeOther)
		return
	}
	// The secret cannot be shown again (it is sealed at rest), so this
	// answer is the page itself rather than a redirect; the console sends
	// no-store, so it is not kept either.
	data, err := c.operatorsData(r, s)
	if err != nil {
		c.internal(w, r, s, err)
		return
	}
	data.Done = flashes["created"] // rendered, not redirected: the layout's ?done= does not apply
	data.TOTPURI, data.TOTPEmail = operator.TOTPURI(totpIssuer, email, o.TOTPSecret), email
	c.render(w, r, http.StatusOK, "operators", s, data)
}

// operatorChange reads an operator by the path's id inside a write
// transaction, lets edit change it, writes it, ends every session of it
// and appends the audit entry, all in that transaction. edit returns a nil
// entry when nothing is to be done.
func (c *Console) operatorChange(w http.ResponseWriter, r *http.Request, s *session,
	edit func(o *offramp.Operator) (*offramp.AuditEntry, error)) (changed bool, ok bool) {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		c.failAs(w, r, s, http.StatusNotFound, "No operator has this id.")
		return false, false
	}
	ctx := r.Context()
	now := c.now()
	err = c.store.Update(ctx, func(tx offramp.Tx) error {
		changed = false
		o, err := tx.Operator(ctx, id)
		if err != nil {
			return err
		}
		entry, err := edit(&o)
		if err != nil || entry == nil {
			return err
		}
		o.UpdatedAt = now
		if err := tx.UpdateOperator(ctx, o); err != nil {
			return err
		}
		if err := tx.DeleteOperatorSessions(ctx, o.ID); err != nil {
			return err
		}
		entry.ObjectType, entry.ObjectID = ObjectOperator, o.ID
		if entry.Details == nil {
			entry.Details = map[string]string{}
		}
		entry.Details["email"], entry.Details["ip"] = o.Email, clientIP(r)
		changed = true
		return appendAudit(ctx, tx, s, now, *entry)
	})
	var fb errForbidden
	switch {
	case errors.As(err, &fb):
		c.failAs(w, r, s, http.StatusForbidden, string(fb))
		return false, false
	case errors.Is(err, offramp.ErrNotFound):
		c.failAs(w, r, s, http.StatusNotFound, "No operator has this id.")
		return false, false
	case err != nil:
		c.failErr(w, r, s, err)
		return false, false
	}
	return changed, true
}

// disableOperator stops an operator from signing in and ends their
// sessions at once. An admin cannot disable themself: the console would
// lose the one person certainly able to undo a mistake here.
func (c *Console) disableOperator(w http.ResponseWriter, r *http.Request, s *session) {
	var problems errProblems
	reason := why(r, &problems)
	if len(problems) > 0 {
		c.failAs(w, r, s, http.StatusBadRequest, "The operator was not disabled.", problems...)
		return
	}
	changed, ok := c.operatorChange(w, r, s, func(o *offramp.Operator) (*offramp.AuditEntry, error) {
		if o.ID == s.op.ID {
			return nil, errForbidden("You cannot disable yourself: ask another admin.")
		}
		if o.Disabled {
			return nil, nil
		}
		o.Disabled = true
		return &offramp.AuditEntry{Action: ActionOperatorDisable, Reason: reason, Details: map[string]string{"role": string(o.Role)}}, nil
	})
	if !ok {
		return
	}
	done := "disabled"
	if !changed {
		done = "already"
	}
	http.Redirect(w, r, "/operators?done="+done, http.StatusSeeOther)
}

// resetOperator sets an operator's password, clears the failed-login
// count and lock, and ends their sessions (whoever held one must sign in
// with the new password). The role, second factor and disabled flag stay.
func (c *Console) resetOperator(w http.ResponseWriter, r *http.Request, s *session) {
	pw := r.PostForm.Get("password")
	var problems errProblems
	if p := checkPasswordRules(pw); p != "" {
		problems = append(problems, p)
	}
	reason := strings.TrimSpace(r.PostForm.Get("why"))
	if len(reason) > maxWhy {
		problems = append(problems, fmt.Sprintf("Why: at most %d characters.", maxWhy))
	}
	if len(problems) > 0 {
		c.failAs(w, r, s, http.StatusBadRequest, "The password was not reset.", problems...)
		return
	}
	hash, err := operator.HashPassword(pw)
	if err != nil {
		c.internal(w, r, s, err)
		return
	}
	_, ok := c.operatorChange(w, r, s, func(o *offramp.Operator) (*offramp.AuditEntry, error) {
		details := map[string]string{"failed_logins": fmt.Sprint(o.FailedLogins)}
		if !o.LockedUntil.IsZero() {
			details["locked_until"] = o.LockedUntil.UTC().Format(time.RFC3339)
		}
		o.PasswordHash, o.FailedLogins, o.LockedUntil = hash, 0, time.Time{}
		why := reason
		if why == "" {
			why = "reset the password of operator " + o.Email
		}
		return &offramp.AuditEntry{Action: ActionOperatorReset, Reason: why, Details: details}, nil
	})
	if !ok {
		return
	}
	// Resetting one's own password ends this session too: the redirect
	// then lands on the login page, which is what should happen.
	http.Redirect(w, r, "/operators?done=reset", http.StatusSeeOther)
}
