package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/offramp/offramp"
	"github.com/offramp/offramp/vault"
)

// Rekeyed counts what Rekey rewrote, keyed "table.column": for a sealed
// column the values re-sealed (one per row), for a blind-index column the
// indexes recomputed (rows whose value is empty keep a NULL index and are
// not counted). Every sealed and index column of the schema has an entry,
// zero for an empty table.
type Rekeyed map[string]int

// rekeyBatch is how many rows Rekey reads at a time: memory stays bounded
// however large a table is.
const rekeyBatch = 500

// sealedTable describes a table holding vault ciphertexts: its key column
// (whose value is the row id in the AAD), its sealed columns and the blind
// indexes derived from them. TestRekeyCoversSchema checks sealedTables
// against the "-- sealed" markers and *_index columns of both engines'
// migrations, so a new sealed column cannot be forgotten here.
//
// aadTable, when set, is the table the AAD names instead of name: the
// secrets of api_keys are sealed as "orgs.api_secret:<key id>", the place
// migration 00008 moved them from (see apikeys.go).
//
// where, when set, limits the rows that hold ciphertexts (the others have
// no key to bind them).
type sealedTable struct {
	name     string
	aadTable string
	key      string
	where    string
	sealed   []string
	indexes  []blindIndexCol
}

// aad is where a ciphertext of column in row id of tb is bound.
func (tb sealedTable) aad(column string, id uuid.UUID) string {
	table := tb.name
	if tb.aadTable != "" {
		table = tb.aadTable
	}
	return aad(table, column, id)
}

// blindIndexCol is a blind-index column: column holds
// BlindIndex(kind, plaintext of source), NULL when that is empty.
type blindIndexCol struct {
	column, kind, source string
}

var sealedTables = []sealedTable{
	{name: "api_keys", aadTable: apiSecretAADTable, key: "id", sealed: []string{apiSecretAADColumn}},
	{name: "customers", key: "id", sealed: []string{"full_name"}},
	{
		name: "customer_kyc", key: "customer_id",
		sealed: []string{
			"full_name", "full_address", "dob", "tax_number", "document_number",
			"document_additional_data", "additional_info",
		},
		indexes: []blindIndexCol{
			{"tax_number_index", "tax_number", "tax_number"},
			{"document_number_index", "document_number", "document_number"},
		},
	},
	{
		name: "bank_accounts", key: "id",
		sealed: []string{"account_number", "account_name", "vpa"},
		indexes: []blindIndexCol{
			{"account_number_index", "account_number", "account_number"},
			{"vpa_index", "vpa", "vpa"},
		},
	},
	{name: "quotations", key: "id", sealed: []string{"risk_parameters"}},
	{
		name: "edds", key: "id",
		sealed: []string{
			"source_of_income", "bank_statement_urls", "bank_statement_passwords",
			"itr_report_urls", "itr_report_passwords",
		},
	},
	{name: "audit_log", key: "id", sealed: []string{"reason", "details"}},
	{name: "operators", key: "id", sealed: []string{"totp_secret"}},
	{name: "proposals", key: "id", sealed: []string{"params", "reason"}},
	// A used signature's stored answer (migration 00013); the key is
	// derived from the organization and the signature (signatureRowID).
	{name: signaturesTable, key: "id", where: "state = 'done'", sealed: []string{signatureResponseColumn}},
}

// sealedRow is one row as read for Rekey and VerifyKey: the ciphertexts
// in the order of sealedTable.sealed, the stored indexes in the order of
// sealedTable.indexes.
type sealedRow struct {
	id      uuid.UUID
	sealed  []string
	indexes []sql.NullString
}

// readBatch reads up to limit rows of tb in key order, after the key after
// (from the first row when first is set).
func (t *tx) readBatch(ctx context.Context, op string, tb sealedTable, first bool, after uuid.UUID, limit int) ([]sealedRow, error) {
	cols := append([]string{tb.key}, tb.sealed...)
	for _, ix := range tb.indexes {
		cols = append(cols, ix.column)
	}
	query := `SELECT ` + strings.Join(cols, ", ") + ` FROM ` + tb.name + ` WHERE ` + tb.key + ` IS NOT NULL`
	if tb.where != "" {
		query += ` AND ` + tb.where
	}
	var args []any
	if !first {
		query += ` AND ` + tb.key + ` > ?`
		args = append(args, after)
	}
	query += ` ORDER BY ` + tb.key + ` LIMIT ?`
	args = append(args, limit)

	rows, err := t.query(ctx, op, query, args...)
	if err != nil {
		return nil, err
	}
	// Read the whole batch before writing: a connection (pgx's, in
	// particular) cannot run a statement while a result set is open.
	defer rows.Close()
	var out []sealedRow
	for rows.Next() {
		r := sealedRow{sealed: make([]string, len(tb.sealed)), indexes: make([]sql.NullString, len(tb.indexes))}
		dest := []any{&r.id}
		for i := range r.sealed {
			dest = append(dest, &r.sealed[i])
		}
		for i := range r.indexes {
			dest = append(dest, &r.indexes[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, t.mapErr(ctx, op, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, t.mapErr(ctx, op, err)
	}
	return out, nil
}

// openWith opens a ciphertext of tb with v. The error names the table,
// column and row, never the value.
func openWith(v *vault.Vault, tb sealedTable, column string, id uuid.UUID, ciphertext string) (string, error) {
	pt, err := v.Open(ciphertext, tb.aad(column, id))
	if err != nil {
		return "", fmt.Errorf("sqlstore: cannot decrypt %s.%s of row %s with the current master key: %w", tb.name, column, id, err)
	}
	return pt, nil
}

// Rekey moves every sealed value and blind index to the vault next, in one
// write transaction: for each table with sealed columns it reads every row
// (rekeyBatch rows at a time, all in the same transaction), opens each
// sealed value with the store's vault and seals it again with next under
// the same AAD, recomputes each blind index with next, and writes the row
// back. It returns what it rewrote.
//
// If a value does not open with the store's vault (the store was opened
// with the wrong key, or a row is corrupt), Rekey aborts, writing nothing,
// with an error that names the table, column and row id and wraps
// vault.ErrDecrypt. On PostgreSQL the transaction is SERIALIZABLE and may
// run more than once, like any Update.
//
// Rekey must run while nothing else writes to the database: a server
// process still holding the old key would seal new rows with it (and fail
// to read the rekeyed ones). It does not touch the key derived from the
// master key for hosted-KYC links; links signed under the old key stop
// working once servers run with the new one.
//
// After Rekey the Store still holds the old vault, which no longer opens
// what is stored: the caller must Close it and Open the database again
// with the new key before any other use.
func (s *Store) Rekey(ctx context.Context, next *vault.Vault) (Rekeyed, error) {
	return s.rekey(ctx, next, rekeyBatch)
}

func (s *Store) rekey(ctx context.Context, next *vault.Vault, batch int) (Rekeyed, error) {
	if next == nil {
		return nil, errors.New("sqlstore: Rekey: the new vault is nil")
	}
	if batch < 1 {
		batch = rekeyBatch
	}
	var counts Rekeyed
	err := s.Update(ctx, func(otx offramp.Tx) error {
		t, ok := otx.(*tx)
		if !ok {
			return fmt.Errorf("sqlstore: Rekey: unexpected transaction type %T", otx)
		}
		// Fresh on every run: on PostgreSQL fn may run again.
		counts = Rekeyed{}
		for _, tb := range sealedTables {
			if err := t.rekeyTable(ctx, tb, next, batch, counts); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return counts, nil
}

func (t *tx) rekeyTable(ctx context.Context, tb sealedTable, next *vault.Vault, batch int, counts Rekeyed) error {
	op := "rekey " + tb.name
	var set []string
	for _, c := range tb.sealed {
		set = append(set, c+" = ?")
		counts[tb.name+"."+c] = 0
	}
	for _, ix := range tb.indexes {
		set = append(set, ix.column+" = ?")
		counts[tb.name+"."+ix.column] = 0
	}
	update := `UPDATE ` + tb.name + ` SET ` + strings.Join(set, ", ") + ` WHERE ` + tb.key + ` = ?`

	first, after := true, uuid.Nil
	for {
		rows, err := t.readBatch(ctx, op, tb, first, after, batch)
		if err != nil {
			return err
		}
		for _, r := range rows {
			args := make([]any, 0, len(tb.sealed)+len(tb.indexes)+1)
			plain := make(map[string]string, len(tb.sealed))
			for i, c := range tb.sealed {
				pt, err := openWith(t.s.v, tb, c, r.id, r.sealed[i])
				if err != nil {
					return err
				}
				ct, err := next.Seal(pt, tb.aad(c, r.id))
				if err != nil {
					return fmt.Errorf("sqlstore: seal %s.%s: %w", tb.name, c, err)
				}
				plain[c] = pt
				args = append(args, ct)
			}
			for _, ix := range tb.indexes {
				var idx any // NULL for an empty value, as blindIndex stores it
				if pt := plain[ix.source]; pt != "" {
					idx = next.BlindIndex(ix.kind, pt)
					counts[tb.name+"."+ix.column]++
				}
				args = append(args, idx)
			}
			n, err := t.execAffected(ctx, op, update, append(args, r.id)...)
			if err != nil {
				return err
			}
			if n != 1 {
				return fmt.Errorf("sqlstore: %s: row %s changed %d rows, want 1", op, r.id, n)
			}
			for _, c := range tb.sealed {
				counts[tb.name+"."+c]++
			}
		}
		if len(rows) < batch {
			return nil
		}
		first, after = false, rows[len(rows)-1].id
	}
}

// VerifyKey checks that the store's vault is the key the data is sealed
// with: for each table with sealed columns it opens every sealed value of
// the first row (in key order) and checks that row's blind indexes. It
// reads, in one View, at most one row per table, so it is cheap on any
// database; it returns how many rows it checked, 0 for a database with no
// sealed data. A value that does not open gives an error naming the table,
// column and row that wraps vault.ErrDecrypt.
func (s *Store) VerifyKey(ctx context.Context) (int, error) {
	checked := 0
	err := s.View(ctx, func(otx offramp.ReadTx) error {
		t, ok := otx.(*tx)
		if !ok {
			return fmt.Errorf("sqlstore: VerifyKey: unexpected transaction type %T", otx)
		}
		checked = 0
		for _, tb := range sealedTables {
			rows, err := t.readBatch(ctx, "verify key on "+tb.name, tb, true, uuid.Nil, 1)
			if err != nil {
				return err
			}
			for _, r := range rows {
				plain := make(map[string]string, len(tb.sealed))
				for i, c := range tb.sealed {
					pt, err := openWith(t.s.v, tb, c, r.id, r.sealed[i])
					if err != nil {
						return err
					}
					plain[c] = pt
				}
				for i, ix := range tb.indexes {
					want := sql.NullString{}
					if pt := plain[ix.source]; pt != "" {
						want = sql.NullString{String: t.s.v.BlindIndex(ix.kind, pt), Valid: true}
					}
					if r.indexes[i] != want {
						return fmt.Errorf("sqlstore: the blind index %s.%s of row %s does not match the current master key", tb.name, ix.column, r.id)
					}
				}
				checked++
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return checked, nil
}
