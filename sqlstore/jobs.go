package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
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
		j.ID = offramp.NewID()
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

// claimChunk bounds the per-organization subqueries of one candidate
// statement: SQLite allows 500 terms in a compound SELECT.
const claimChunk = 100

// ClaimJobs leases due jobs. Its cost follows the number of organizations
// with jobs and the jobs it takes, never the backlog: a bank that answers
// slowly lets due jobs pile up, and a claim that ranked every due job
// (as a window function over them does) would slow down with the pile
// until the workers spent their time claiming. In order:
//
//	orgs   the organizations with jobs of each kind, one index step each
//	       (a recursive walk of jobs_kind_org_run_at_idx);
//	held   (with PerOrg) the unexpired leases each organization holds on
//	       jobs of the claimed kinds, from the partial index of leases;
//	cand   each organization's first due jobs by (run_at, id), for each
//	       kind a walk of that index that passes only over leased rows,
//	       merged across kinds and cut to the organization's room
//	       (PerOrg - held); held and cand are read by one statement;
//
// then the claim takes, across organizations, first every one's oldest
// job, then every one's second, and so on (one with a long backlog does
// not starve the others), the first c.Limit of them, and the UPDATE
// leases those still due, locking them with the dialect's FOR UPDATE
// SKIP LOCKED where writers are concurrent: a job another claimer took
// since the candidates were read is passed over, and the claim comes back
// short rather than take a job out of turn.
//
// On PostgreSQL, when ClaimJobs is the first call of its Update, the
// transaction begins at READ COMMITTED instead of SERIALIZABLE: SKIP LOCKED
// then passes over rows other claimers hold and re-checks the lease of rows
// they just committed, so concurrent claimers take different jobs and never
// fail. Under SERIALIZABLE every two concurrent claims would conflict
// (each reads rows the other leases) and all but one would run again.
// Concurrent claimers read held and candidates from one snapshot each, and take
// disjoint subsets of each organization's first PerOrg - held jobs, so
// the cap holds across them.
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
	kinds := c.Kinds
	if len(kinds) == 0 {
		kinds = offramp.JobKinds()
	}
	now := t.ts(c.Now)

	// The organizations with jobs come first, in statements of their own:
	// one that gains its first job after them waits for the next claim.
	type pair struct {
		kind offramp.JobKind
		org  uuid.UUID
	}
	var pairs []pair
	for _, kind := range kinds {
		orgs, err := t.jobOrgs(ctx, op, kind)
		if err != nil {
			return nil, err
		}
		for _, org := range orgs {
			pairs = append(pairs, pair{kind, org})
		}
	}
	if len(pairs) == 0 {
		return nil, nil
	}
	// Leases held and candidates are read in one statement, so from one
	// snapshot on PostgreSQL (see above). SQLite needs several statements
	// past claimChunk pairs, but its writer sees no other writer's work
	// mid-transaction.
	chunk := len(pairs)
	if !t.s.concurrent {
		chunk = claimChunk
	}
	perOrg := c.Limit
	if c.PerOrg > 0 {
		perOrg = min(perOrg, c.PerOrg)
	}
	kindsIn, kindArgs := kindFilter(kinds)
	type cand struct {
		id    uuid.UUID
		org   uuid.UUID
		runAt time.Time
	}
	byOrg := map[uuid.UUID][]cand{}
	held := map[uuid.UUID]int{}
	for part := range slices.Chunk(pairs, chunk) {
		var q strings.Builder
		q.WriteString(`WITH held AS (SELECT org_id, COUNT(*) AS n FROM jobs
			WHERE lease_until IS NOT NULL AND lease_until >= ?` + kindsIn + ` GROUP BY org_id), cand AS (`)
		args := append([]any{now}, kindArgs...)
		for i, p := range part {
			if i > 0 {
				q.WriteString(` UNION ALL `)
			}
			fmt.Fprintf(&q, `SELECT * FROM (SELECT id, org_id, run_at FROM jobs
				WHERE kind = ? AND org_id = ? AND run_at <= ? AND (lease_until IS NULL OR lease_until < ?)
				ORDER BY run_at, id LIMIT ?) AS c%d`, i)
			args = append(args, string(p.kind), p.org, now, now, perOrg)
		}
		q.WriteString(`) SELECT cand.id, cand.org_id, cand.run_at, COALESCE(held.n, 0)
			FROM cand LEFT JOIN held ON held.org_id = cand.org_id`)
		rows, err := t.query(ctx, op, q.String(), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var x cand
			var n int
			if err := rows.Scan(&x.id, &x.org, timeCol{&x.runAt}, &n); err != nil {
				rows.Close()
				return nil, t.mapErr(ctx, op, err)
			}
			byOrg[x.org] = append(byOrg[x.org], x)
			held[x.org] = n
		}
		if err := closeRows(rows); err != nil {
			return nil, t.mapErr(ctx, op, err)
		}
	}
	room := func(org uuid.UUID) int {
		if c.PerOrg <= 0 {
			return c.Limit
		}
		return max(0, min(c.Limit, c.PerOrg-held[org]))
	}

	// Each organization's first room jobs across kinds, then turns.
	type ranked struct {
		cand
		rank int
	}
	var all []ranked
	for org, cs := range byOrg {
		slices.SortFunc(cs, func(a, b cand) int {
			if c := a.runAt.Compare(b.runAt); c != 0 {
				return c
			}
			return slices.Compare(a.id[:], b.id[:])
		})
		for i, x := range cs[:min(len(cs), room(org))] {
			all = append(all, ranked{x, i})
		}
	}
	slices.SortFunc(all, func(a, b ranked) int {
		if a.rank != b.rank {
			return a.rank - b.rank
		}
		if c := a.runAt.Compare(b.runAt); c != 0 {
			return c
		}
		return slices.Compare(a.id[:], b.id[:])
	})
	all = all[:min(len(all), c.Limit)]
	if len(all) == 0 {
		return nil, nil
	}
	ids := make([]any, len(all))
	for i, x := range all {
		ids[i] = x.id
	}
	args := append([]any{c.Owner, t.ts(c.Now.Add(c.Lease))}, ids...)
	args = append(args, now, now)
	out, err := t.queryJobs(ctx, op, `UPDATE jobs SET lease_owner = ?, lease_until = ?, attempts = attempts + 1
		WHERE id IN (
			SELECT j.id FROM jobs j WHERE j.id IN (?`+strings.Repeat(`, ?`, len(ids)-1)+`)
			AND j.run_at <= ? AND (j.lease_until IS NULL OR j.lease_until < ?)`+t.s.d.skipLocked("j")+`)
		RETURNING `+jobCols, args...)
	if err != nil {
		return nil, err
	}
	// RETURNING does not keep the candidates' order: rank again. Each
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

// jobOrgs lists the organizations with jobs of kind, due or not, by a
// recursive walk of jobs_kind_org_run_at_idx that visits one index entry
// per organization (a skip scan), however many jobs each has.
func (t *tx) jobOrgs(ctx context.Context, op string, kind offramp.JobKind) ([]uuid.UUID, error) {
	rows, err := t.query(ctx, op, `WITH RECURSIVE o(org_id) AS (
			SELECT (SELECT org_id FROM jobs WHERE kind = ? ORDER BY org_id LIMIT 1)
			UNION ALL
			SELECT (SELECT j.org_id FROM jobs j WHERE j.kind = ? AND j.org_id > o.org_id ORDER BY j.org_id LIMIT 1)
			FROM o WHERE o.org_id IS NOT NULL)
		SELECT org_id FROM o WHERE org_id IS NOT NULL`, string(kind), string(kind))
	if err != nil {
		return nil, err
	}
	var out []uuid.UUID
	for rows.Next() {
		var org uuid.UUID
		if err := rows.Scan(&org); err != nil {
			rows.Close()
			return nil, t.mapErr(ctx, op, err)
		}
		out = append(out, org)
	}
	if err := closeRows(rows); err != nil {
		return nil, t.mapErr(ctx, op, err)
	}
	return out, nil
}

// closeRows closes rows and reports the iteration's error, if any.
func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
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
