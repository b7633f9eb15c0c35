package offramp

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sort"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Role is what an operator of the console may do. Each role can do what
// the ones before it can.
type Role string

const (
	// RoleViewer reads every page; reveals nothing, acts on nothing.
	RoleViewer Role = "viewer"
	// RoleOperator also proposes actions (settle, refund, manual
	// decisions) and reveals masked personal fields.
	RoleOperator Role = "operator"
	// RoleApprover also approves another operator's proposal.
	RoleApprover Role = "approver"
	// RoleAdmin also manages operators, organizations and API keys.
	RoleAdmin Role = "admin"
)

// Roles lists the roles in increasing power.
var Roles = []Role{RoleViewer, RoleOperator, RoleApprover, RoleAdmin}

// Allows reports whether role r includes the powers of role need.
func (r Role) Allows(need Role) bool {
	rank := func(x Role) int {
		for i, v := range Roles {
			if v == x {
				return i
			}
		}
		return -1
	}
	return rank(r) >= 0 && rank(r) >= rank(need)
}

// Operator is a person who runs Offramp through the console.
type Operator struct {
	ID    uuid.UUID
	Email string // lower-case, unique
	Role  Role
	// PasswordHash is an argon2id hash in PHC string form.
	PasswordHash string
	// TOTPSecret, when set, is the base32 secret of the operator's second
	// factor (sealed at rest).
	TOTPSecret string
	Disabled   bool
	// FailedLogins counts consecutive failed logins; LockedUntil is when
	// the next attempt is allowed (back-off after failures).
	FailedLogins int
	LockedUntil  time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// OperatorSession is a console login. The cookie carries a random token;
// the store keeps only its SHA-256 (TokenHash).
type OperatorSession struct {
	TokenHash  string
	OperatorID uuid.UUID
	// CSRF is the token every form of this session must carry.
	CSRF       string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute end; idle expiry is LastSeenAt + idle limit
}

// ProposalKind names an action that needs two people.
type ProposalKind string

const (
	ProposalResolvePaid   ProposalKind = "payout.resolve_paid"
	ProposalResolveFailed ProposalKind = "payout.resolve_failed"
	ProposalReinquire     ProposalKind = "payout.reinquire"
	ProposalRefund        ProposalKind = "payout.refund"
	ProposalKYCDecide     ProposalKind = "kyc.decide"
	ProposalBankDecide    ProposalKind = "bank.decide"
)

// ProposalStatus is where a proposal stands.
type ProposalStatus string

const (
	ProposalPending  ProposalStatus = "PENDING"
	ProposalApproved ProposalStatus = "APPROVED"
	ProposalRejected ProposalStatus = "REJECTED"
)

// Proposal is an action proposed by one operator and carried out only when
// a different approver approves it.
type Proposal struct {
	ID         uuid.UUID
	OrgID      uuid.UUID
	Kind       ProposalKind
	ObjectType ObjectType
	ObjectID   uuid.UUID
	// Params are the action's arguments ("utr", "reason", "verified").
	Params     map[string]string
	Reason     string // the proposer's why
	ProposedBy string // operator email
	Status     ProposalStatus
	DecidedBy  string
	DecidedAt  time.Time
	CreatedAt  time.Time
}

// AuditHash is the hash of an audit entry chained to prev: SHA-256, hex,
// over a canonical, length-prefixed encoding of prev and every field of
// the entry (details in sorted key order). Stores write it, and
// `offramp admin audit verify` recomputes it.
func AuditHash(prev string, a AuditEntry) string {
	h := sha256.New()
	field := func(s string) {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	field(prev)
	field(strconv.FormatInt(a.Seq, 10))
	field(a.ID.String())
	field(a.OrgID.String())
	field(a.Actor)
	field(a.Action)
	field(string(a.ObjectType))
	field(a.ObjectID.String())
	field(a.Reason)
	keys := make([]string, 0, len(a.Details))
	for k := range a.Details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	field(strconv.Itoa(len(keys)))
	for _, k := range keys {
		field(k)
		field(a.Details[k])
	}
	field(a.CreatedAt.UTC().Format(time.RFC3339Nano))
	return hex.EncodeToString(h.Sum(nil))
}

// Audit actions of operator management, from the console and the CLI alike.
const (
	ActionOperatorCreate  = "operator.create"
	ActionOperatorDisable = "operator.disable"
	ActionOperatorReset   = "operator.reset_password"
)
