package sqlstore

import (
	"context"
	"database/sql"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

const jobCols = `id, org_id, kind, ref_id, seq, run_at, attempts, last_error, lease_owner`

func scanJob(r rowScanner) (offramp.Job, error) {
	var j offramp.Job
	var lease sql.NullString
	err := r.Scan(&j.ID, &j.OrgID, &j.Kind, &j.RefID, &j.Seq, timeCol{&j.RunAt}, &j.Attempts, &j.LastErr, &lease)
	j.Lease = lease.String
	return j, err
}

func (t *tx) queryJobs(ctx context.Context, op, query string, args ...any) ([]offramp.Job, error) {
	rows, err := t.query(ctx, op, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []offramp.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, t.mapErr(ctx, op, err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, t.mapErr(ctx, op, err)
	}
	return out, nil
}

// errJobExists is EnqueueJob's conflict: the unique index
// jobs_kind_ref_key allows one process_payout job per payout and one
// deliver_webhook job per event (or the job's id is taken).
func errJobExists() error {
	return &offramp.Error{Code: offramp.CodeConflict, Message: "the object already has a live job of this kind"}
}

// EnqueueJob inserts j, doing nothing on a unique conflict, which it then
// reports as a CodeConflict *offramp.Error. No statement fails, so unlike
// a conflict from another write the transaction stays usable on
// PostgreSQL too: a step may try to enqueue its successor and carry on if
// one exists. CHECK violations (an unknown kind, negative attempts) fail
// as usual.
func (t *tx) EnqueueJob(ctx context.Context, j offramp.Job) error {
	const op = "enqueue job"
	if j.ID == uuid.Nil {
		j.ID = uuid.New()
	}
	n, err := t.execAffected(ctx, op, `INSERT INTO jobs (id, org_id, kind, ref_id, seq, run_at,
		attempts, last_error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		j.ID, j.OrgID, string(j.Kind), j.RefID, j.Seq, t.ts(j.RunAt), j.Attempts, j.LastErr, t.ts(t.now()))
	if err != nil {
		return err
	}
	if n == 0 {
		return errJobExists()
	}
	return nil
}

// claimSlack is how many candidates a claim considers per job it may
// take: on PostgreSQL, concurrent claimers rank the same jobs first and
// skip each other's locked rows, so each needs some beyond its own limit
// to come back with a full batch.
const claimSlack = 4

// ClaimJobs leases due jobs in one statement:
//
//	due   the due jobs of the claimed kinds (run_at has come, no unexpired
//	      lease), ranked within their organization by (run_at, id);
//	held  (with PerOrg) the unexpired leases each organization holds on
//	      jobs of those kinds;
//	cand  the first candidates by (rank, run_at, id), only ranks within
//	      the organization's room (PerOrg - held): every organization's
//	      oldest job comes before any organization's second, so one with
//	      a long backlog does not starve the others;
//
// and the UPDATE leases the first c.Limit candidates still due, locking
// them with the dialect's FOR UPDATE SKIP LOCKED where writers are
// concurrent. PostgreSQL refuses FOR UPDATE in a query with a window
// function, hence candidates first and locks second; the second step
// checks the lease again on the row it locks, so a job another claimer
// took since the snapshot is passed over.
//
// On PostgreSQL, when ClaimJobs is the first call of its Update, the
// transaction begins at READ COMMITTED instead of SERIALIZABLE: SKIP LOCKED
// then passes over rows other claimers hold and re-checks the lease of rows
// they just committed, so concurrent claimers take different jobs and never
// fail. Under SERIALIZABLE every two concurrent claims would conflict
// (each reads rows the other leases) and all but one would run again.
// Concurrent claimers rank from their own snapshots and take disjoint
// subsets of each organization's first PerOrg - held jobs, so the cap
// holds across them.
//
// The jobs come back in the order organizations take turns: by rank
// within their organization, then (run_at, id).
func (t *tx) ClaimJobs(ctx context.Context, c offramp.JobClaim) ([]offramp.Job, error) {
	const op = "claim jobs"
	if c.Limit <= 0 {
		return nil, nil
	}
	if c.Owner == "" || c.Lease <= 0 {
		return nil, offramp.Errorf(offramp.CodeInvalid, "a job claim needs an owner and a positive lease")
	}
	if t.q == nil && t.lazy != nil {
		if _, err := t.begin(ctx, sql.LevelReadCommitted); err != nil {
			return nil, err
		}
	}
	now := t.ts(c.Now)
	kinds, kindArgs := kindFilter(c.Kinds)

	var q strings.Builder
	var args []any
	q.WriteString(`WITH due AS (
			SELECT id, org_id, run_at, ROW_NUMBER() OVER (PARTITION BY org_id ORDER BY run_at, id) AS rn
			FROM jobs WHERE run_at <= ? AND (lease_until IS NULL OR lease_until < ?)` + kinds + `)`)
	args = append(append(args, now, now), kindArgs...)
	room := ``
	if c.PerOrg > 0 {
		q.WriteString(`, held AS (
			SELECT org_id, COUNT(*) AS n FROM jobs WHERE lease_until >= ?` + kinds + ` GROUP BY org_id)`)
		args = append(append(args, now), kindArgs...)
		room = ` LEFT JOIN held ON held.org_id = due.org_id WHERE due.rn <= ? - COALESCE(held.n, 0)`
		args = append(args, c.PerOrg)
	}
	q.WriteString(`, cand AS (
			SELECT due.id, due.rn, due.run_at FROM due` + room + `
			ORDER BY due.rn, due.run_at, due.id LIMIT ?)
		UPDATE jobs SET lease_owner = ?, lease_until = ?, attempts = attempts + 1
		WHERE id IN (
			SELECT j.id FROM jobs j JOIN cand ON cand.id = j.id
			WHERE j.run_at <= ? AND (j.lease_until IS NULL OR j.lease_until < ?)
			ORDER BY cand.rn, cand.run_at, cand.id LIMIT ?` + t.s.d.skipLocked("j") + `)
		RETURNING ` + jobCols)
	candidates := c.Limit
	if candidates <= math.MaxInt32 {
		candidates *= claimSlack
	}
	args = append(args, candidates, c.Owner, t.ts(c.Now.Add(c.Lease)), now, now, c.Limit)

	out, err := t.queryJobs(ctx, op, q.String(), args...)
	if err != nil {
		return nil, err
	}
	// RETURNING does not keep the subquery's order: rank again. Each
	// organization's jobs taken are its first due ones, so ranks within
	// the batch are ranks among its due jobs.
	slices.SortFunc(out, byRunAt)
	rank := make(map[uuid.UUID]int, len(out))
	ranks := make(map[uuid.UUID]int)
	for _, j := range out {
		ranks[j.OrgID]++
		rank[j.ID] = ranks[j.OrgID]
	}
	slices.SortStableFunc(out, func(a, b offramp.Job) int { return rank[a.ID] - rank[b.ID] })
	return out, nil
}

func byRunAt(a, b offramp.Job) int {
	if c := a.RunAt.Compare(b.RunAt); c != 0 {
		return c
	}
	return slices.Compare(a.ID[:], b.ID[:])
}

// kindFilter is " AND kind IN (?, ...)" and its arguments, or nothing for
// no kinds (every kind).
func kindFilter(kinds []offramp.JobKind) (string, []any) {
	if len(kinds) == 0 {
		return ``, nil
	}
	args := make([]any, len(kinds))
	for i, k := range kinds {
		args[i] = string(k)
	}
	return ` AND kind IN (?` + strings.Repeat(`, ?`, len(kinds)-1) + `)`, args
}

func (t *tx) FinishJob(ctx context.Context, id uuid.UUID, owner string) error {
	const op = "finish job"
	n, err := t.execAffected(ctx, op, `DELETE FROM jobs WHERE id = ? AND lease_owner = ?`, id, owner)
	if err != nil {
		return err
	}
	if n == 0 {
		return stale(op)
	}
	return nil
}

func (t *tx) RetryJob(ctx context.Context, id uuid.UUID, owner string, runAt time.Time, lastErr string) error {
	const op = "retry job"
	n, err := t.execAffected(ctx, op, `UPDATE jobs SET run_at = ?, last_error = ?, lease_owner = NULL, lease_until = NULL
		WHERE id = ? AND lease_owner = ?`, t.ts(runAt), lastErr, id, owner)
	if err != nil {
		return err
	}
	if n == 0 {
		return stale(op)
	}
	return nil
}

// RescheduleJob releases j for a fresh step at runAt, if j.Lease still
// holds it.
func (t *tx) RescheduleJob(ctx context.Context, j offramp.Job, runAt time.Time) error {
	const op = "reschedule job"
	if j.Lease == "" {
		return stale(op) // a job not claimed is held by nobody
	}
	n, err := t.execAffected(ctx, op, `UPDATE jobs SET run_at = ?, attempts = 0, last_error = '',
		lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?`, t.ts(runAt), j.ID, j.Lease)
	if err != nil {
		return err
	}
	if n == 0 {
		return stale(op)
	}
	return nil
}

// Jobs lists an object's jobs of one kind in the order they come due
// (run_at, then id). Lease is the token of the job's current or lapsed
// lease, empty when it is not claimed.
func (t *tx) Jobs(ctx context.Context, kind offramp.JobKind, refID uuid.UUID) ([]offramp.Job, error) {
	return t.queryJobs(ctx, "list jobs", `SELECT `+jobCols+` FROM jobs WHERE kind = ? AND ref_id = ?
		ORDER BY run_at, id`, string(kind), refID)
}

// jobKinds are the kinds JobDepths always reports, with zeros when none
// wait, so that a gauge fed from it drops to zero instead of vanishing.
var jobKinds = []offramp.JobKind{
	offramp.JobDeliverWebhook, offramp.JobProcessPayout, offramp.JobVerifyBank,
	offramp.JobVerifyEDD, offramp.JobVerifyKYC,
}

// JobDepths counts jobs by kind in three disjoint states at now: Leased
// (lease_until >= now), Due (not leased, run_at <= now) and Scheduled (not
// leased, run_at > now). Two counts, each served by an index alone: every
// job by run time (jobs_kind_run_at_idx), and the leases
// (jobs_lease_idx, a few rows).
func (t *tx) JobDepths(ctx context.Context, now time.Time) ([]offramp.JobDepth, error) {
	const op = "count jobs"
	type counts struct{ all, ready, leased, leasedReady int }
	by := map[offramp.JobKind]*counts{}
	for _, k := range jobKinds {
		by[k] = &counts{}
	}
	read := func(query string, set func(c *counts, n, ready int), args ...any) error {
		rows, err := t.query(ctx, op, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var kind offramp.JobKind
			var n, ready int
			if err := rows.Scan(&kind, &n, &ready); err != nil {
				return t.mapErr(ctx, op, err)
			}
			c := by[kind]
			if c == nil {
				c = &counts{}
				by[kind] = c
			}
			set(c, n, ready)
		}
		if err := rows.Err(); err != nil {
			return t.mapErr(ctx, op, err)
		}
		return nil
	}
	ts := t.ts(now)
	err := read(`SELECT kind, COUNT(*), COALESCE(SUM(CASE WHEN run_at <= ? THEN 1 ELSE 0 END), 0)
		FROM jobs GROUP BY kind`, func(c *counts, n, ready int) { c.all, c.ready = n, ready }, ts)
	if err != nil {
		return nil, err
	}
	err = read(`SELECT kind, COUNT(*), COALESCE(SUM(CASE WHEN run_at <= ? THEN 1 ELSE 0 END), 0)
		FROM jobs WHERE lease_until >= ? GROUP BY kind`, func(c *counts, n, ready int) { c.leased, c.leasedReady = n, ready }, ts, ts)
	if err != nil {
		return nil, err
	}
	out := make([]offramp.JobDepth, 0, len(by))
	for kind, c := range by {
		out = append(out, offramp.JobDepth{
			Kind:      kind,
			Due:       c.ready - c.leasedReady,
			Leased:    c.leased,
			Scheduled: (c.all - c.ready) - (c.leased - c.leasedReady),
		})
	}
	slices.SortFunc(out, func(a, b offramp.JobDepth) int { return strings.Compare(string(a.Kind), string(b.Kind)) })
	return out, nil
}
