package console

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"

	"github.com/offramp/offramp"
)

// ist is Asia/Kolkata (UTC+5:30, no daylight saving): the day of limits,
// the payout history's dates and the console's clock face.
var ist = time.FixedZone("IST", 5*3600+30*60)

// pageNames are the templates under templates/, each rendered inside
// layout.html.
var pageNames = []string{"login", "error", "overview", "payouts", "payout", "customer", "proposals", "audit",
	"ledger", "operators",
	"orgs", "org", "orgkey"}

type pageTemplate = template.Template

func (c *Console) parsePages() map[string]*pageTemplate {
	funcs := template.FuncMap{
		"inr":     formatINR,
		"dec":     func(d decimal.Decimal) string { return d.String() },
		"ts":      formatTime,
		"day":     func(t time.Time) string { return t.In(ist).Format(time.DateOnly) },
		"age":     func(t time.Time) string { return formatAge(c.clock.Now().Sub(t)) },
		"dur":     formatAge,
		"sub":     func(a, b int) int { return a - b },
		"short":   func(id uuid.UUID) string { return id.String()[:8] },
		"mask":    offramp.Mask,
		"maskVPA": offramp.MaskVPA,
		"cls":     func(v any) string { return strings.ToLower(fmt.Sprint(v)) },
		"isNil":   func(id uuid.UUID) bool { return id == uuid.Nil },
		"sortedKeys": func(m map[string]string) []string {
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return keys
		},
	}
	out := map[string]*pageTemplate{}
	for _, name := range pageNames {
		out[name] = template.Must(template.New("layout.html").Funcs(funcs).
			ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return out
}

// page is what layout.html renders: the signed-in operator (nil on the
// login and error pages of a stranger), the CSRF token every form carries,
// and the page's own data.
type page struct {
	Title string
	Nav   string
	Op    *offramp.Operator
	CSRF  string
	Now   time.Time
	Flash string
	Data  any
}

// Can reports whether the signed-in operator's role allows role.
func (p page) Can(role string) bool { return p.Op != nil && p.Op.Role.Allows(offramp.Role(role)) }

// render executes a page into a buffer, then writes it: a template error
// becomes a clean 500, never half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, s *session, data any) {
	p := page{Title: titles[name], Nav: name, Now: c.clock.Now(), Data: data, Flash: flashes[r.URL.Query().Get("done")]}
	if s != nil {
		p.Op, p.CSRF = &s.op, s.sess.CSRF
	}
	var buf bytes.Buffer
	if err := c.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		c.log.ErrorContext(r.Context(), "console: rendering a page", "page", name, "err", err)
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

var titles = map[string]string{
	"login": "Sign in", "error": "Error", "overview": "Overview", "payouts": "Payouts", "payout": "Payout",
	"customer": "Customer", "proposals": "Proposals", "audit": "Audit log",
	"ledger": "Ledger", "operators": "Operators",
	"orgs": "Organizations", "org": "Organization", "orgkey": "New API key",
}

// flashes are the messages a redirect after an action may show (by code:
// a link cannot make the console say anything else).
var flashes = map[string]string{
	"proposed": "Proposal recorded: a different approver must approve it before anything changes.",
	"approved": "Approved and carried out.",
	"rejected": "Proposal rejected; nothing else changed.",
	"replayed": "Webhook queued again.",
	// Organizations.
	"key_revoked": "API key revoked: requests signed with it are refused from now on.",
	"webhook_set": "Webhook URL saved: the next deliveries go to it (a disabled endpoint is enabled again).",
	"js_on":       "JavaScript-snippet signatures are now accepted for this organization.",
	"js_off":      "JavaScript-snippet signatures are now refused for this organization.",
	// Operators.
	"created":  "Operator created. Give them their password by a channel other than the one you use for their e-mail.",
	"disabled": "Operator disabled; their sessions are ended.",
	"already":  "That operator was already disabled; nothing changed.",
	"reset":    "Password set, lockout cleared, the operator's sessions ended.",
}

type errorData struct {
	Status  int
	Message string
	Fields  []string
}

// fail answers an error page to a request whose session is not known.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	c.render(w, r, status, "error", nil, errorData{Status: status, Message: msg})
}

// failAs answers an error page to a signed-in operator.
func (c *Console) failAs(w http.ResponseWriter, r *http.Request, s *session, status int, msg string, fields ...string) {
	c.render(w, r, status, "error", s, errorData{Status: status, Message: msg, Fields: fields})
}

// internal logs an unexpected error and answers 500 without its text.
func (c *Console) internal(w http.ResponseWriter, r *http.Request, s *session, err error) {
	c.log.ErrorContext(r.Context(), "console: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	c.failAs(w, r, s, http.StatusInternalServerError, "Something went wrong; the error was logged.")
}

// failErr answers err: a business error of the service with its message
// (400, 404 or 409), anything else as internal.
func (c *Console) failErr(w http.ResponseWriter, r *http.Request, s *session, err error) {
	var oe *offramp.Error
	switch {
	case errors.Is(err, offramp.ErrNotFound):
		c.failAs(w, r, s, http.StatusNotFound, "Not found.")
	case errors.Is(err, offramp.ErrStale):
		c.failAs(w, r, s, http.StatusConflict, "Somebody else changed this first; reload the page.")
	case errors.As(err, &oe) && oe.Code != offramp.CodeInternal && oe.Code != offramp.CodeUnavailable:
		status := http.StatusConflict
		switch oe.Code {
		case offramp.CodeInvalid:
			status = http.StatusBadRequest
		case offramp.CodeNotFound:
			status = http.StatusNotFound
		}
		var fields []string
		for f, msgs := range oe.Fields {
			for _, m := range msgs {
				fields = append(fields, f+": "+m)
			}
		}
		sort.Strings(fields)
		c.failAs(w, r, s, status, oe.Message, fields...)
	case errors.As(err, &oe) && oe.Code == offramp.CodeUnavailable:
		c.failAs(w, r, s, http.StatusServiceUnavailable, oe.Message)
	default:
		c.internal(w, r, s, err)
	}
}

// formatTime shows an instant in IST to the second; zero as a dash.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(ist).Format("2006-01-02 15:04:05")
}

// formatAge is a duration the way people say it: "3d 4h", "2h 05m", "45s".
func formatAge(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d >= 24*time.Hour:
		return fmt.Sprintf("%dd %dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	case d >= time.Hour:
		return fmt.Sprintf("%dh %02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	case d >= time.Minute:
		return fmt.Sprintf("%dm %02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	return fmt.Sprintf("%ds", int(d/time.Second))
}

// formatINR writes rupees with Indian digit grouping: ₹12,34,567.89.
func formatINR(d decimal.Decimal) string {
	s := d.StringFixed(2)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if n := len(whole); n > 3 {
		head, tail := whole[:n-3], whole[n-3:]
		for i, ch := range head {
			if i > 0 && (len(head)-i)%2 == 0 {
				b.WriteByte(',')
			}
			b.WriteRune(ch)
		}
		b.WriteByte(',')
		b.WriteString(tail)
	} else {
		b.WriteString(whole)
	}
	out := "₹" + b.String() + "." + frac
	if neg {
		out = "−" + out
	}
	return out
}
