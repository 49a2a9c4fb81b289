// Command ferretdb-index adds the `_id` index that FerretDB v1.24.2's SQLite backend needs but
// never creates.
//
// Why: FerretDB creates its `_id_` index as
//
//	CREATE UNIQUE INDEX "<table>__id_" ON "<table>" (_ferretdb_sjson->"_id")
//
// but looks documents up by `_id` (find by id, and every update, which rewrites the document
// by `_id`) with the expression `_ferretdb_sjson->'$._id'`. SQLite only uses an expression
// index when the expressions match, so each of those is a full table scan: findById 451 ms and
// updateOne({_id}) 869 ms at 100,000 documents. With an index on the expression FerretDB
// actually uses they take 1.6 ms and 2.3 ms.
//
// The index is created beside FerretDB's own (FerretDB does not know about it, so it is not
// listed by listIndexes; it disappears with its table when the collection is dropped, hence the
// proxy runs this again after writes to a collection it has not seen). FerretDB keeps its
// files in WAL mode with busy_timeout 10 s, so adding an index while it runs is safe: we hold
// the write lock for one short transaction per file and FerretDB's writers wait for it.
//
// Usage:
//
//	ferretdb-index <dataDir> [database]   index every <dataDir>/*.sqlite, or only <database>.sqlite
//	ferretdb-index <file.sqlite>          index one database file
//	ferretdb-index --json <dataDir> ...   the same, one JSON line per collection that has the index
//	                                      ({"file","collection","index","created"}), for the wire proxy
//	ferretdb-index --list <file.sqlite>   print "collection<TAB>table<TAB>index" for every index
//	ferretdb-index --explain <file.sqlite> <collection>
//	                                      print SQLite's plan for FerretDB's `_id` select and update
package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the SQLite driver FerretDB v1.24.2 itself uses, same version
)

const (
	// metadataTable lists FerretDB's collections: name and table_name.
	metadataTable = "_ferretdb_collections"
	// idExpr is the expression FerretDB filters and updates by (metadata.IDColumn in its source).
	idExpr = `_ferretdb_sjson->'$._id'`
	// indexPrefix: FerretDB names its indexes "<table>_<index name>"; a name that starts with its
	// reserved prefix can never collide with an index a user creates.
	indexPrefix = "_ferretdb_idexpr_"
	// busyTimeoutMs matches FerretDB's own busy_timeout: we wait for its writers as long as
	// they would wait for us.
	busyTimeoutMs = 10000
	fileExt       = ".sqlite"
)

func main() {
	list := flag.Bool("list", false, "print every index of every collection table of one database file")
	explain := flag.Bool("explain", false, "print the query plan of FerretDB's _id lookup and update for one collection")
	asJSON := flag.Bool("json", false, "index mode: print one JSON line per indexed collection")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: ferretdb-index [--json] <dataDir> [database] | [--json] <file.sqlite> | --list <file.sqlite> | --explain <file.sqlite> <collection>")
		flag.PrintDefaults()
	}
	flag.Parse()
	args := flag.Args()

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var err error
	switch {
	case *list && len(args) == 1:
		err = listIndexes(ctx, os.Stdout, args[0])
	case *explain && len(args) == 2:
		err = explainID(ctx, os.Stdout, args[0], args[1])
	case !*list && !*explain && (len(args) == 1 || len(args) == 2):
		err = indexAll(ctx, os.Stdout, args, *asJSON)
	default:
		flag.Usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferretdb-index:", err)
		os.Exit(1)
	}
}

// targets turns the command line into database files: a file, a data dir, or a data dir and a
// database name (FerretDB keeps database <name> in <dataDir>/<name>.sqlite).
func targets(args []string) ([]string, error) {
	if len(args) == 2 {
		return []string{filepath.Join(args[0], args[1]+fileExt)}, nil
	}
	st, err := os.Stat(args[0])
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{args[0]}, nil
	}
	files, err := filepath.Glob(filepath.Join(args[0], "*"+fileExt))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	return files, nil
}

// indexed is one collection table that has the `_id` expression index after a run.
type indexed struct {
	File       string `json:"file"`
	Collection string `json:"collection"`
	Index      string `json:"index"`
	Created    bool   `json:"created"`
}

func indexAll(ctx context.Context, out io.Writer, args []string, asJSON bool) error {
	files, err := targets(args)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(out)
	var failed []error
	done, created := 0, 0
	for _, file := range files {
		if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
			continue // the database was dropped, or never written: nothing to index
		}
		res, err := indexFile(ctx, file)
		if err != nil {
			failed = append(failed, fmt.Errorf("%s: %w", file, err))
			continue
		}
		done++
		for _, r := range res {
			switch {
			case asJSON:
				if err := enc.Encode(r); err != nil {
					return err
				}
			case r.Created:
				fmt.Fprintf(out, "created %s %s %s\n", r.File, r.Collection, r.Index)
			}
			if r.Created {
				created++
			}
		}
	}
	if !asJSON {
		fmt.Fprintf(out, "ok: %d file(s), %d index(es) created, %d failed\n", done, created, len(failed))
	}
	return errors.Join(failed...)
}

// open opens an existing FerretDB file (mode=rw never creates one: a database dropped meanwhile
// is simply missing). _txlock=immediate takes the write lock at BEGIN, so our transaction waits
// for FerretDB's writers up front instead of failing when it upgrades a read lock.
func open(file string) (*sql.DB, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Set("mode", "rw")
	q.Set("_txlock", "immediate")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeoutMs))
	dsn := (&url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

type collection struct{ name, table string }

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// collections reads FerretDB's metadata table; a file without one (just being created by
// FerretDB, or not FerretDB's) has no collections.
func collections(ctx context.Context, q querier) ([]collection, error) {
	var n int
	rows, err := q.QueryContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", metadataTable)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
	}
	rows.Close()
	if n == 0 {
		return nil, nil
	}

	rows, err = q.QueryContext(ctx, "SELECT name, table_name FROM "+quoteIdent(metadataTable)+" ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var res []collection
	for rows.Next() {
		var c collection
		if err := rows.Scan(&c.name, &c.table); err != nil {
			return nil, err
		}
		res = append(res, c)
	}
	return res, rows.Err()
}

type index struct{ name, sql string }

func indexesOf(ctx context.Context, q querier, table string) ([]index, error) {
	rows, err := q.QueryContext(ctx, "SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'index' AND tbl_name = ? ORDER BY name", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var res []index
	for rows.Next() {
		var i index
		if err := rows.Scan(&i.name, &i.sql); err != nil {
			return nil, err
		}
		res = append(res, i)
	}
	return res, rows.Err()
}

// idIndex finds an index on exactly the `_id` expression, whatever its name (one made by hand
// with the sqlite3 CLI counts too).
func idIndex(indexes []index) (string, bool) {
	for _, i := range indexes {
		if strings.Contains(strings.ReplaceAll(i.sql, " ", ""), "("+idExpr+")") {
			return i.name, true
		}
	}
	return "", false
}

// indexFile adds the `_id` expression index to every collection table of one file that lacks
// it, in one short transaction, and returns every collection that has it afterwards.
func indexFile(ctx context.Context, file string) ([]indexed, error) {
	db, err := open(file)
	if err != nil {
		return nil, err
	}
	defer db.Close()

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit

	colls, err := collections(ctx, tx)
	if err != nil {
		return nil, err
	}
	res := make([]indexed, 0, len(colls))
	for _, c := range colls {
		idx, err := indexesOf(ctx, tx, c.table)
		if err != nil {
			return nil, err
		}
		if name, ok := idIndex(idx); ok {
			res = append(res, indexed{File: file, Collection: c.name, Index: name})
			continue
		}
		name := indexPrefix + c.table
		q := fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)", quoteIdent(name), quoteIdent(c.table), idExpr)
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("collection %q: %w", c.name, err)
		}
		res = append(res, indexed{File: file, Collection: c.name, Index: name, Created: true})
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return res, nil
}

func listIndexes(ctx context.Context, out io.Writer, file string) error {
	db, err := open(file)
	if err != nil {
		return err
	}
	defer db.Close()
	colls, err := collections(ctx, db)
	if err != nil {
		return err
	}
	for _, c := range colls {
		idx, err := indexesOf(ctx, db, c.table)
		if err != nil {
			return err
		}
		for _, i := range idx {
			fmt.Fprintf(out, "%s\t%s\t%s\n", c.name, c.table, i.name)
		}
	}
	return nil
}

// explainID prints SQLite's plan for the two statements FerretDB runs by `_id`
// (backends/sqlite/collection.go: Query with a single _id filter, and UpdateAll).
func explainID(ctx context.Context, out io.Writer, file, collName string) error {
	db, err := open(file)
	if err != nil {
		return err
	}
	defer db.Close()
	colls, err := collections(ctx, db)
	if err != nil {
		return err
	}
	table := ""
	for _, c := range colls {
		if c.name == collName {
			table = c.table
		}
	}
	if table == "" {
		return fmt.Errorf("no collection %q in %s", collName, file)
	}
	stmts := []struct{ label, sql string }{
		{"select", fmt.Sprintf("SELECT _ferretdb_sjson FROM %s WHERE %s = ?", quoteIdent(table), idExpr)},
		{"update", fmt.Sprintf("UPDATE %s SET _ferretdb_sjson = ? WHERE %s = ?", quoteIdent(table), idExpr)},
	}
	for _, s := range stmts {
		args := []any{`"x"`}
		if s.label == "update" {
			args = []any{`{}`, `"x"`}
		}
		rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+s.sql, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				rows.Close()
				return err
			}
			fmt.Fprintf(out, "%s\t%s\n", s.label, detail)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}
