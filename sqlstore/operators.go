package sqlstore

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

// Console operators and their sessions. The TOTP secret is sealed like the
// other secrets (an empty one too, so every row opens with the vault); the
// password hash is an argon2id hash and stays plain. A session is stored
// under the SHA-256 of its token, never the token.

const operatorCols = `id, email, role, password_hash, totp_secret, disabled, failed_logins, locked_until, created_at, updated_at`

// normEmail is how operator e-mails are stored and looked up.
func normEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

func (t *tx) Operator(ctx context.Context, id uuid.UUID) (offramp.Operator, error) {
	return t.scanOperator(ctx, "get operator", `SELECT `+operatorCols+` FROM operators WHERE id = ?`, id)
}

// OperatorByEmail looks the e-mail up lower-cased (operators_email_key).
func (t *tx) OperatorByEmail(ctx context.Context, email string) (offramp.Operator, error) {
	return t.scanOperator(ctx, "get operator by email", `SELECT `+operatorCols+` FROM operators WHERE email = ?`, normEmail(email))
}

// ListOperators lists every operator by e-mail (operators_email_key): a
// console has a handful.
func (t *tx) ListOperators(ctx context.Context) ([]offramp.Operator, error) {
	const op = "list operators"
	rows, err := t.query(ctx, op, `SELECT `+operatorCols+` FROM operators ORDER BY email`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []offramp.Operator
	for rows.Next() {
		o, err := t.readOperator(rows)
		if err != nil {
			return nil, t.mapErr(ctx, op, err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, t.mapErr(ctx, op, err)
	}
	for i := range out {
		if out[i].TOTPSecret, err = t.open("operators", "totp_secret", out[i].ID, out[i].TOTPSecret); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *tx) scanOperator(ctx context.Context, op, query string, arg any) (offramp.Operator, error) {
	o, err := t.readOperator(t.queryRow(ctx, query, arg))
	if err != nil {
		return offramp.Operator{}, t.mapErr(ctx, op, err)
	}
	if o.TOTPSecret, err = t.open("operators", "totp_secret", o.ID, o.TOTPSecret); err != nil {
		return offramp.Operator{}, err
	}
	return o, nil
}

// readOperator scans one row; TOTPSecret is still the ciphertext.
func (t *tx) readOperator(r rowScanner) (offramp.Operator, error) {
	var o offramp.Operator
	err := r.Scan(&o.ID, &o.Email, &o.Role, &o.PasswordHash, &o.TOTPSecret, &o.Disabled, &o.FailedLogins,
		timeCol{&o.LockedUntil}, timeCol{&o.CreatedAt}, timeCol{&o.UpdatedAt})
	return o, err
}

// validOperator checks what the schema would refuse, as a CodeInvalid
// error a caller can show.
func validOperator(o offramp.Operator, withEmail bool) error {
	var v offramp.Validation
	if withEmail {
		v.Required("email", o.Email)
	}
	v.Required("password_hash", o.PasswordHash)
	if err := v.Err(); err != nil {
		return err
	}
	if !slices.Contains(offramp.Roles, o.Role) {
		return offramp.FieldError(offramp.CodeInvalid, "role", "role must be one of viewer, operator, approver, admin")
	}
	if o.FailedLogins < 0 {
		return offramp.FieldError(offramp.CodeInvalid, "failed_logins", "failed logins cannot be negative")
	}
	return nil
}

// CreateOperator stores o with its e-mail lower-cased. A zero ID is
// assigned (the caller finds the operator by e-mail), zero times filled
// from the clock. A taken e-mail is a CodeConflict *Error on field
// "email" (operators_email_key).
func (t *tx) CreateOperator(ctx context.Context, o offramp.Operator) error {
	const op = "create operator"
	o.Email = normEmail(o.Email)
	if err := validOperator(o, true); err != nil {
		return err
	}
	if o.ID == uuid.Nil {
		o.ID = uuid.New()
	}
	secret, err := t.seal("operators", "totp_secret", o.ID, o.TOTPSecret)
	if err != nil {
		return err
	}
	created := orNow(o.CreatedAt, t.now)
	updated := o.UpdatedAt
	if updated.IsZero() {
		updated = created
	}
	_, err = t.exec(ctx, op, `INSERT INTO operators (`+operatorCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.ID, o.Email, string(o.Role), o.PasswordHash, secret, o.Disabled, o.FailedLogins,
		t.nullTime(o.LockedUntil), t.ts(created), t.ts(updated))
	return err
}

// UpdateOperator writes o's role, password hash, TOTP secret, disabled
// flag, failed logins, lock and updated_at (now when zero), by id. The
// e-mail and creation time are not changed. ErrNotFound when no operator
// has o.ID.
func (t *tx) UpdateOperator(ctx context.Context, o offramp.Operator) error {
	const op = "update operator"
	if err := validOperator(o, false); err != nil {
		return err
	}
	secret, err := t.seal("operators", "totp_secret", o.ID, o.TOTPSecret)
	if err != nil {
		return err
	}
	n, err := t.execAffected(ctx, op, `UPDATE operators SET role = ?, password_hash = ?, totp_secret = ?,
		disabled = ?, failed_logins = ?, locked_until = ?, updated_at = ? WHERE id = ?`,
		string(o.Role), o.PasswordHash, secret, o.Disabled, o.FailedLogins, t.nullTime(o.LockedUntil),
		t.ts(orNow(o.UpdatedAt, t.now)), o.ID)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(op)
	}
	return nil
}

const sessionCols = `token_hash, operator_id, csrf, created_at, last_seen_at, expires_at`

// OperatorSession reads a session by its primary key, expired or not: the
// console decides what an expired session is worth.
func (t *tx) OperatorSession(ctx context.Context, tokenHash string) (offramp.OperatorSession, error) {
	var s offramp.OperatorSession
	err := t.scanOne(ctx, "get operator session", `SELECT `+sessionCols+` FROM operator_sessions WHERE token_hash = ?`,
		[]any{tokenHash}, &s.TokenHash, &s.OperatorID, &s.CSRF,
		timeCol{&s.CreatedAt}, timeCol{&s.LastSeenAt}, timeCol{&s.ExpiresAt})
	if err != nil {
		return offramp.OperatorSession{}, err
	}
	return s, nil
}

// PutOperatorSession inserts s; zero CreatedAt and LastSeenAt are now. A
// token hash already stored is a CodeConflict *Error, an unknown operator
// ErrNotFound.
func (t *tx) PutOperatorSession(ctx context.Context, s offramp.OperatorSession) error {
	const op = "put operator session"
	var v offramp.Validation
	v.Required("token_hash", s.TokenHash)
	v.Required("csrf", s.CSRF)
	if err := v.Err(); err != nil {
		return err
	}
	if s.ExpiresAt.IsZero() {
		return offramp.FieldError(offramp.CodeInvalid, "expires_at", "a session needs an expiry")
	}
	created := orNow(s.CreatedAt, t.now)
	seen := s.LastSeenAt
	if seen.IsZero() {
		seen = created
	}
	_, err := t.exec(ctx, op, `INSERT INTO operator_sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		s.TokenHash, s.OperatorID, s.CSRF, t.ts(created), t.ts(seen), t.ts(s.ExpiresAt))
	return err
}

// TouchOperatorSession sets last_seen_at; ErrNotFound when the session is
// gone.
func (t *tx) TouchOperatorSession(ctx context.Context, tokenHash string, at time.Time) error {
	const op = "touch operator session"
	n, err := t.execAffected(ctx, op, `UPDATE operator_sessions SET last_seen_at = ? WHERE token_hash = ?`,
		t.ts(orNow(at, t.now)), tokenHash)
	if err != nil {
		return err
	}
	if n == 0 {
		return notFound(op)
	}
	return nil
}

func (t *tx) DeleteOperatorSession(ctx context.Context, tokenHash string) error {
	_, err := t.exec(ctx, "delete operator session", `DELETE FROM operator_sessions WHERE token_hash = ?`, tokenHash)
	return err
}

// DeleteOperatorSessions ends every session of an operator
// (operator_sessions_operator_idx).
func (t *tx) DeleteOperatorSessions(ctx context.Context, operatorID uuid.UUID) error {
	_, err := t.exec(ctx, "delete operator sessions", `DELETE FROM operator_sessions WHERE operator_id = ?`, operatorID)
	return err
}
