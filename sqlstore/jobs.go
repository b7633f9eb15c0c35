package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
)

func (t *tx) EnqueueJob(ctx context.Context, j offramp.Job) error {
	if j.ID == uuid.Nil {
		j.ID = uuid.New()
	}
	_, err := t.exec(ctx, "enqueue job", `INSERT INTO jobs (id, org_id, kind, ref_id, seq, run_at,
		attempts, last_error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		j.ID, j.OrgID, string(j.Kind), j.RefID, j.Seq, t.ts(j.RunAt), j.Attempts, j.LastErr, t.ts(t.now()))
	return err
}

// ClaimJobs leases due jobs in one statement. The inner SELECT picks them
// (with the dialect's FOR UPDATE SKIP LOCKED where writers are concurrent);
// the UPDATE leases them and RETURNING hands them back.
//
// On PostgreSQL, when ClaimJobs is the first call of its Update, the
// transaction begins at READ COMMITTED instead of SERIALIZABLE: SKIP LOCKED
// then passes over rows other claimers hold and re-checks the lease of rows
// they just committed, so concurrent claimers take different jobs and never
// fail. Under SERIALIZABLE every two concurrent claims would conflict
// (each reads rows the other leases) and all but one would run again.
func (t *tx) ClaimJobs(ctx context.Context, now time.Time, owner string, lease time.Duration, limit int) ([]offramp.Job, error) {
	const op = "claim jobs"
	if limit <= 0 {
		return nil, nil
	}
	if t.q == nil && t.lazy != nil {
		if _, err := t.begin(ctx, sql.LevelReadCommitted); err != nil {
			return nil, err
		}
	}
	now = normTime(now)
	rows, err := t.query(ctx, op, `UPDATE jobs SET lease_owner = ?, lease_until = ?, attempts = attempts + 1
		WHERE id IN (
			SELECT id FROM jobs
			WHERE run_at <= ? AND (lease_until IS NULL OR lease_until < ?)
			ORDER BY run_at, id LIMIT ?`+t.s.d.skipLocked()+`)
		RETURNING id, org_id, kind, ref_id, seq, run_at, attempts, last_error`,
		owner, t.ts(now.Add(lease)), t.ts(now), t.ts(now), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []offramp.Job
	for rows.Next() {
		var j offramp.Job
		if err := rows.Scan(&j.ID, &j.OrgID, &j.Kind, &j.RefID, &j.Seq, timeCol{&j.RunAt},
			&j.Attempts, &j.LastErr); err != nil {
			return nil, t.mapErr(ctx, op, err)
		}
		out = append(out, j)
	}
	if err := rows.Err(); err != nil {
		return nil, t.mapErr(ctx, op, err)
	}
	// RETURNING does not keep the subquery's order.
	slices.SortFunc(out, func(a, b offramp.Job) int {
		if c := a.RunAt.Compare(b.RunAt); c != 0 {
			return c
		}
		return slices.Compare(a.ID[:], b.ID[:])
	})
	return out, nil
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
