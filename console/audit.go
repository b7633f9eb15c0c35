package console

import (
	"net/http"
	"strings"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/engine"
	"github.com/offramp/offramp/service"
)

// auditLimit bounds the audit page.
const auditLimit = 500

type auditData struct {
	Actor, Action string
	Entries       []offramp.AuditEntry
	Limited       bool
	Actions       []string
}

// knownActions are offered as the action filter's suggestions.
var knownActions = []string{
	ActionLogin, ActionLoginFailed, ActionLogout, ActionProposalCreated, ActionProposalApproved, ActionProposalRejected,
	ActionWebhookReplay, ActionCustomerRevealed,
	engine.ActionStatusChanged, engine.ActionResolvePaid, engine.ActionResolveFailed, engine.ActionReinquire, service.ActionRefund,
	service.ActionKYCDecide, service.ActionBankDecide, service.ActionKYCAwaiting, service.ActionBankAwaiting,
	service.ActionOrgCreated, service.ActionKeyCreated, service.ActionKeyRevoked, service.ActionWebhookURLSet, service.ActionJSSignaturesSet,
	offramp.ActionOperatorCreate, offramp.ActionOperatorDisable, offramp.ActionOperatorReset,
}

// audit lists the audit log newest first, filtered by actor and action.
func (c *Console) audit(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	data := auditData{Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")), Actions: knownActions}
	ctx := r.Context()
	err := c.store.View(ctx, func(tx offramp.ReadTx) error {
		var err error
		data.Entries, err = tx.ListAudit(ctx, data.Actor, data.Action, auditLimit+1)
		return err
	})
	if err != nil {
		c.internal(w, r, s, err)
		return
	}
	if len(data.Entries) > auditLimit {
		data.Entries, data.Limited = data.Entries[:auditLimit], true
	}
	c.render(w, r, http.StatusOK, "audit", s, data)
}
