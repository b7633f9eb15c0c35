package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/operator"
)

// The people who run the console are managed from the command line: the
// first admin has to come from somewhere, and a locked-out admin must be
// able to get back in. Passwords are read from standard input only (never
// from a flag, which would end up in shell history and in ps), and every
// change is recorded in the audit log.

// objectOperator is the object type of audit entries about operators.
const objectOperator offramp.ObjectType = "OPERATOR"

// Password length bounds, in characters and bytes.
const (
	minPasswordChars = 12
	maxPasswordBytes = 1024
)

// totpIssuer names Offramp in authenticator apps.
const totpIssuer = "Offramp"

func adminOperatorsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "operators", Short: "Manage the people who may sign in to the operator console"}
	cmd.AddCommand(adminOperatorsCreateCmd(), adminOperatorsListCmd(), adminOperatorsDisableCmd(), adminOperatorsResetCmd())
	return cmd
}

// readPassword reads a password from r: everything up to EOF, without one
// trailing newline (CRLF too). A password of fewer than 12 characters, a
// longer one than 1024 bytes or one of several lines is refused.
func readPassword(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxPasswordBytes+3))
	if err != nil {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	b = bytes.TrimSuffix(b, []byte("\n"))
	b = bytes.TrimSuffix(b, []byte("\r"))
	pw := string(b)
	switch {
	case len(pw) > maxPasswordBytes:
		return "", fmt.Errorf("the password is longer than %d bytes", maxPasswordBytes)
	case strings.ContainsAny(pw, "\r\n"):
		return "", errors.New("the password spans several lines; give one line on standard input")
	case !utf8.ValidString(pw):
		return "", errors.New("the password is not valid UTF-8")
	case utf8.RuneCountInString(pw) < minPasswordChars:
		return "", fmt.Errorf("the password must be at least %d characters long", minPasswordChars)
	}
	return pw, nil
}

// operatorFlags are the flags every changing subcommand shares.
type operatorFlags struct {
	db  dbFlags
	by  string
	why string
}

func (f *operatorFlags) register(cmd *cobra.Command) {
	f.db.register(cmd)
	cmd.Flags().StringVar(&f.by, "by", "", "who makes the change, for the audit log (default: the OS user)")
	cmd.Flags().StringVar(&f.why, "why", "", "why, for the audit log")
}

func (f *operatorFlags) actor() (string, error) {
	if f.by != "" {
		return f.by, nil
	}
	if u := osUser(); u != "" {
		return u, nil
	}
	return "", errors.New("cannot tell who you are: pass --by")
}

// audit is the entry recording a change to operator o.
func (f *operatorFlags) audit(actor, action string, o offramp.Operator, reason string, details map[string]string) offramp.AuditEntry {
	if f.why != "" {
		reason = f.why
	}
	if details == nil {
		details = map[string]string{}
	}
	details["email"] = o.Email
	return offramp.AuditEntry{Actor: actor, Action: action, ObjectType: objectOperator, ObjectID: o.ID,
		Reason: reason, Details: details}
}

// operatorError makes a store error about the operator email readable.
func operatorError(email string, err error) error {
	var oe *offramp.Error
	switch {
	case errors.Is(err, offramp.ErrNotFound):
		return fmt.Errorf("no operator has the e-mail %s", email)
	case errors.As(err, &oe):
		return errors.New(describe(oe))
	}
	return err
}

func normalizeEmail(email string) (string, error) {
	e := strings.ToLower(strings.TrimSpace(email))
	at := strings.LastIndexByte(e, '@')
	if at < 1 || at == len(e)-1 || strings.ContainsAny(e, " \t\r\n") {
		return "", fmt.Errorf("--email %q is not an e-mail address", email)
	}
	return e, nil
}

func parseRole(s string) (offramp.Role, error) {
	r := offramp.Role(strings.ToLower(strings.TrimSpace(s)))
	for _, v := range offramp.Roles {
		if v == r {
			return r, nil
		}
	}
	return "", fmt.Errorf("--role %q: use viewer, operator, approver or admin", s)
}

func adminOperatorsCreateCmd() *cobra.Command {
	var (
		f             operatorFlags
		email, role   string
		passwordStdin bool
		withTOTP      bool
		asJSON        bool
	)
	cmd := &cobra.Command{
		Use:   "create --email EMAIL --role viewer|operator|approver|admin --password-stdin [--totp]",
		Short: "Add a console operator; the password is read from standard input",
		Long: `Add a console operator. The password is read from standard input (one line,
at least 12 characters), never from the command line:

  printf '%s\n' "$PASSWORD" | offramp admin operators create --email asha@ops.example \
      --role admin --password-stdin --totp

With --totp the operator also gets a second factor: the otpauth:// URI to
load into an authenticator app is printed once and cannot be shown again.

Roles, each with the powers of the ones before: viewer (reads), operator
(proposes actions, reveals masked fields), approver (approves another
operator's proposal), admin (manages operators, organizations, API keys).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !passwordStdin {
				return errors.New("--password-stdin is required: the password is read from standard input, never from a flag")
			}
			email, err := normalizeEmail(email)
			if err != nil {
				return err
			}
			r, err := parseRole(role)
			if err != nil {
				return err
			}
			actor, err := f.actor()
			if err != nil {
				return err
			}
			pw, err := readPassword(cmd.InOrStdin())
			if err != nil {
				return err
			}
			hash, err := operator.HashPassword(pw)
			if err != nil {
				return err
			}
			o := offramp.Operator{ID: uuid.New(), Email: email, Role: r, PasswordHash: hash}
			if withTOTP {
				o.TOTPSecret = operator.NewTOTPSecret()
			}
			ctx := cmd.Context()
			db, _, err := f.db.openAdmin(ctx)
			if err != nil {
				return err
			}
			defer db.store.Close()
			entry := f.audit(actor, offramp.ActionOperatorCreate, o, fmt.Sprintf("created operator %s with role %s", email, r),
				map[string]string{"role": string(r), "totp": fmt.Sprint(withTOTP)})
			err = db.store.Update(ctx, func(tx offramp.Tx) error {
				if err := tx.CreateOperator(ctx, o); err != nil {
					return err
				}
				return tx.AppendAudit(ctx, entry)
			})
			if err != nil {
				return operatorError(email, err)
			}
			uri := ""
			if withTOTP {
				uri = operator.TOTPURI(totpIssuer, email, o.TOTPSecret)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				v := map[string]string{"id": o.ID.String(), "email": email, "role": string(r)}
				if uri != "" {
					v["totp_uri"] = uri
				}
				return json.NewEncoder(out).Encode(v)
			}
			fmt.Fprintf(out, "operator %s created: role %s, id %s\n", email, r, o.ID)
			if uri != "" {
				fmt.Fprintf(out, "Load this into the operator's authenticator app (shown only this once):\n  %s\n", uri)
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&email, "email", "", "the operator's e-mail, their sign-in name (required)")
	cmd.Flags().StringVar(&role, "role", "", "viewer, operator, approver or admin (required)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input (required)")
	cmd.Flags().BoolVar(&withTOTP, "totp", false, "give the operator a TOTP second factor and print its otpauth:// URI once")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object {id, email, role, totp_uri}")
	_ = cmd.MarkFlagRequired("email")
	_ = cmd.MarkFlagRequired("role")
	return cmd
}

// operatorJSON is one operator as `admin operators list --json` prints
// it: never the password hash or the TOTP secret.
type operatorJSON struct {
	ID           string `json:"id"`
	Email        string `json:"email"`
	Role         string `json:"role"`
	TOTP         bool   `json:"totp"`
	Disabled     bool   `json:"disabled"`
	FailedLogins int    `json:"failed_logins"`
	LockedUntil  string `json:"locked_until,omitempty"`
	CreatedAt    string `json:"created_at"`
	UpdatedAt    string `json:"updated_at"`
}

func adminOperatorsListCmd() *cobra.Command {
	var (
		f      dbFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List console operators with their role, second factor and lock state (never a hash or secret)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			db, _, err := f.openAdmin(ctx)
			if err != nil {
				return err
			}
			defer db.store.Close()
			var ops []offramp.Operator
			if err := db.store.View(ctx, func(tx offramp.ReadTx) error {
				ops, err = tx.ListOperators(ctx)
				return err
			}); err != nil {
				return err
			}
			rows := make([]operatorJSON, 0, len(ops))
			for _, o := range ops {
				r := operatorJSON{ID: o.ID.String(), Email: o.Email, Role: string(o.Role), TOTP: o.TOTPSecret != "",
					Disabled: o.Disabled, FailedLogins: o.FailedLogins,
					CreatedAt: o.CreatedAt.Format(time.RFC3339), UpdatedAt: o.UpdatedAt.Format(time.RFC3339)}
				if !o.LockedUntil.IsZero() {
					r.LockedUntil = o.LockedUntil.Format(time.RFC3339)
				}
				rows = append(rows, r)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(rows)
			}
			if len(rows) == 0 {
				fmt.Fprintln(out, "no operators; add one with `offramp admin operators create`")
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "EMAIL\tROLE\tTOTP\tDISABLED\tFAILED LOGINS\tLOCKED UNTIL\tCREATED")
			for _, r := range rows {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.Email, r.Role, yesNo(r.TOTP), yesNo(r.Disabled),
					r.FailedLogins, dash(r.LockedUntil), r.CreatedAt)
			}
			return tw.Flush()
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// changeOperator reads the operator with email, lets edit change it (or
// report that nothing is to be done, with a nil entry), writes it, ends
// its sessions and appends the audit entry, in one transaction.
func changeOperator(ctx context.Context, db *opened, email string,
	edit func(o *offramp.Operator) (*offramp.AuditEntry, error)) (offramp.Operator, bool, error) {
	var o offramp.Operator
	changed := false
	err := db.store.Update(ctx, func(tx offramp.Tx) error {
		var err error
		if o, err = tx.OperatorByEmail(ctx, email); err != nil {
			return err
		}
		entry, err := edit(&o)
		if err != nil || entry == nil {
			changed = false
			return err
		}
		changed = true
		o.UpdatedAt = time.Time{} // now
		if err := tx.UpdateOperator(ctx, o); err != nil {
			return err
		}
		if err := tx.DeleteOperatorSessions(ctx, o.ID); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, *entry)
	})
	if err != nil {
		return offramp.Operator{}, false, operatorError(email, err)
	}
	return o, changed, nil
}

func adminOperatorsDisableCmd() *cobra.Command {
	var (
		f     operatorFlags
		email string
	)
	cmd := &cobra.Command{
		Use:   "disable --email EMAIL",
		Short: "Stop an operator from signing in and end their sessions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			email, err := normalizeEmail(email)
			if err != nil {
				return err
			}
			actor, err := f.actor()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			db, _, err := f.db.openAdmin(ctx)
			if err != nil {
				return err
			}
			defer db.store.Close()
			_, changed, err := changeOperator(ctx, db, email, func(o *offramp.Operator) (*offramp.AuditEntry, error) {
				if o.Disabled {
					return nil, nil
				}
				o.Disabled = true
				e := f.audit(actor, offramp.ActionOperatorDisable, *o, "disabled operator "+o.Email, nil)
				return &e, nil
			})
			if err != nil {
				return err
			}
			if !changed {
				fmt.Fprintf(cmd.OutOrStdout(), "operator %s is already disabled\n", email)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "operator %s disabled; their sessions are ended\n", email)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&email, "email", "", "the operator's e-mail (required)")
	_ = cmd.MarkFlagRequired("email")
	return cmd
}

func adminOperatorsResetCmd() *cobra.Command {
	var (
		f             operatorFlags
		email         string
		passwordStdin bool
	)
	cmd := &cobra.Command{
		Use:   "reset --email EMAIL --password-stdin",
		Short: "Set an operator's password (read from standard input), lift a lockout and end their sessions",
		Long: `Set an operator's password, read from standard input (one line, at least 12
characters). The failed-login count and any lockout are cleared and every
session of the operator ends. The role, second factor and disabled state are
left as they are.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !passwordStdin {
				return errors.New("--password-stdin is required: the password is read from standard input, never from a flag")
			}
			email, err := normalizeEmail(email)
			if err != nil {
				return err
			}
			actor, err := f.actor()
			if err != nil {
				return err
			}
			pw, err := readPassword(cmd.InOrStdin())
			if err != nil {
				return err
			}
			hash, err := operator.HashPassword(pw)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			db, _, err := f.db.openAdmin(ctx)
			if err != nil {
				return err
			}
			defer db.store.Close()
			o, _, err := changeOperator(ctx, db, email, func(o *offramp.Operator) (*offramp.AuditEntry, error) {
				details := map[string]string{"failed_logins": fmt.Sprint(o.FailedLogins)}
				if !o.LockedUntil.IsZero() {
					details["locked_until"] = o.LockedUntil.UTC().Format(time.RFC3339)
				}
				o.PasswordHash, o.FailedLogins, o.LockedUntil = hash, 0, time.Time{}
				e := f.audit(actor, offramp.ActionOperatorReset, *o, "reset the password of operator "+o.Email, details)
				return &e, nil
			})
			if err != nil {
				return err
			}
			msg := "operator %s: password reset, lockout cleared, sessions ended\n"
			if o.Disabled {
				msg = "operator %s: password reset, lockout cleared, sessions ended (the operator is still disabled)\n"
			}
			fmt.Fprintf(cmd.OutOrStdout(), msg, email)
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&email, "email", "", "the operator's e-mail (required)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the new password from standard input (required)")
	_ = cmd.MarkFlagRequired("email")
	return cmd
}
