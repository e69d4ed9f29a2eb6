package storage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"sync"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// The order-flow hot paths (RunOrderflow and the order-flow reader) drive SQLite through
// modernc's C API (modernc.org/sqlite/lib) instead of database/sql. The driver opens every
// connection with SQLITE_OPEN_FULLMUTEX and copies every text value into a new Go string, so
// each sqlite3_column_* call takes and releases a mutex and each row allocates: on a file of
// 20-level snapshots that made reading three to four times slower than this path, and the
// issue's 200,000 snapshots/s target out of reach on one core. A liteConn is a single
// connection opened with SQLITE_OPEN_NOMUTEX, so it must be used by one goroutine at a time
// (its interrupt, used for context cancellation, is the exception SQLite allows). Column text
// is read in place, as a view of SQLite's memory valid until the next step.

// liteConn is one SQLite connection used by one goroutine at a time.
type liteConn struct {
	tls     *libc.TLS
	db      uintptr
	scratch uintptr // 16 bytes of C memory for out-parameters
	path    string
	idle    *liteStmt // SELECT 1, to clear a pending interrupt

	mu     sync.Mutex // guards closed against a concurrent interrupt
	closed bool
}

// liteError is an error reported by SQLite.
type liteError struct {
	code int32 // extended result code
	msg  string
}

func (e *liteError) Error() string { return fmt.Sprintf("%s (%d)", e.msg, e.code) }

// isNotADB reports whether err says the file is not a database.
func isNotADB(err error) bool {
	var le *liteError
	return errors.As(err, &le) && le.code&0xff == sqlite3.SQLITE_NOTADB
}

// openLite opens the existing database at path (never creating it), read-only or read-write.
func openLite(path string, readOnly bool) (*liteConn, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	mode := "rw"
	flags := int32(sqlite3.SQLITE_OPEN_READWRITE)
	if readOnly {
		mode, flags = "ro", sqlite3.SQLITE_OPEN_READONLY
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: "mode=" + mode}
	tls := libc.NewTLS()
	c := &liteConn{tls: tls, path: path}
	c.scratch = libc.Xmalloc(tls, 16)
	if c.scratch == 0 {
		tls.Close()
		return nil, errors.New("sqlite: out of memory")
	}
	cs, err := libc.CString(u.String())
	if err != nil {
		libc.Xfree(tls, c.scratch)
		tls.Close()
		return nil, err
	}
	*(*uintptr)(cptr(c.scratch)) = 0
	rc := sqlite3.Xsqlite3_open_v2(tls, cs, c.scratch, flags|sqlite3.SQLITE_OPEN_URI|sqlite3.SQLITE_OPEN_NOMUTEX, 0)
	libc.Xfree(tls, cs)
	c.db = *(*uintptr)(cptr(c.scratch))
	if rc != sqlite3.SQLITE_OK {
		err := c.err(rc)
		c.close()
		return nil, err
	}
	sqlite3.Xsqlite3_extended_result_codes(tls, c.db, 1)
	sqlite3.Xsqlite3_busy_timeout(tls, c.db, 5000)
	if c.idle, err = c.prepare("SELECT 1"); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// cptr turns an address in C memory (modernc's libc heap, never the Go heap, so it never
// moves) into a pointer. go vet's unsafeptr check cannot tell the two apart, hence the
// indirection through the variable's address.
func cptr(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }

// err builds the error of result code rc from the connection's last message.
func (c *liteConn) err(rc int32) error {
	msg := ""
	if c.db != 0 {
		msg = libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db))
		if ext := sqlite3.Xsqlite3_extended_errcode(c.tls, c.db); ext&0xff == rc&0xff {
			rc = ext
		}
	}
	if msg == "" {
		msg = libc.GoString(sqlite3.Xsqlite3_errstr(c.tls, rc))
	}
	return &liteError{code: rc, msg: msg}
}

// close closes the connection (and finalizes nothing: close every statement first).
func (c *liteConn) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	c.idle.finalize()
	var err error
	if c.db != 0 {
		if rc := sqlite3.Xsqlite3_close_v2(c.tls, c.db); rc != sqlite3.SQLITE_OK {
			err = c.err(rc)
		}
		c.db = 0
	}
	libc.Xfree(c.tls, c.scratch)
	c.tls.Close()
	return err
}

// interruptOn makes SQLite abandon the running statement once ctx is done. The returned
// disarm function stops that and waits for an interrupt already under way, so that the
// statements run after it (a rollback, a cleanup) are not interrupted.
func (c *liteConn) interruptOn(ctx context.Context) (disarm func()) {
	armed := true // guarded by c.mu
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed || !armed {
			return
		}
		tls := libc.NewTLS()
		sqlite3.Xsqlite3_interrupt(tls, c.db)
		tls.Close()
	})
	return func() {
		stop()
		c.mu.Lock()
		armed = false
		c.mu.Unlock()
	}
}

// clearInterrupt clears an interrupt that arrived while no statement was running, which would
// otherwise fail the next prepare: SQLite resets the flag when a statement starts while no
// other one is running. Call it with every other statement finalized or reset.
func (c *liteConn) clearInterrupt() {
	c.idle.step()
	c.idle.reset()
}

// inTransaction reports whether a transaction is open.
func (c *liteConn) inTransaction() bool { return sqlite3.Xsqlite3_get_autocommit(c.tls, c.db) == 0 }

// exec runs one or more statements without parameters or results.
func (c *liteConn) exec(sql string) error {
	cs, err := libc.CString(sql)
	if err != nil {
		return err
	}
	defer libc.Xfree(c.tls, cs)
	tail := cs
	for {
		pp, pt := c.scratch, c.scratch+8
		*(*uintptr)(cptr(pp)) = 0
		if rc := sqlite3.Xsqlite3_prepare_v2(c.tls, c.db, tail, -1, pp, pt); rc != sqlite3.SQLITE_OK {
			return c.err(rc)
		}
		st := *(*uintptr)(cptr(pp))
		tail = *(*uintptr)(cptr(pt))
		if st == 0 { // only whitespace or comments left
			return nil
		}
		for {
			rc := sqlite3.Xsqlite3_step(c.tls, st)
			if rc == sqlite3.SQLITE_ROW {
				continue
			}
			if rc != sqlite3.SQLITE_DONE {
				err := c.err(rc)
				sqlite3.Xsqlite3_finalize(c.tls, st)
				return err
			}
			break
		}
		sqlite3.Xsqlite3_finalize(c.tls, st)
	}
}

// liteStmt is a prepared statement of a liteConn.
type liteStmt struct {
	c *liteConn
	p uintptr
}

// prepare compiles one statement.
func (c *liteConn) prepare(sql string) (*liteStmt, error) {
	cs, err := libc.CString(sql)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(c.tls, cs)
	*(*uintptr)(cptr(c.scratch)) = 0
	if rc := sqlite3.Xsqlite3_prepare_v2(c.tls, c.db, cs, -1, c.scratch, 0); rc != sqlite3.SQLITE_OK {
		return nil, c.err(rc)
	}
	p := *(*uintptr)(cptr(c.scratch))
	if p == 0 {
		return nil, fmt.Errorf("sqlite: empty statement %q", sql)
	}
	return &liteStmt{c: c, p: p}, nil
}

// step advances the statement: true with a row, false when done.
func (s *liteStmt) step() (bool, error) {
	switch rc := sqlite3.Xsqlite3_step(s.c.tls, s.p); rc {
	case sqlite3.SQLITE_ROW:
		return true, nil
	case sqlite3.SQLITE_DONE:
		return false, nil
	default:
		return false, s.c.err(rc)
	}
}

// exec steps the statement to its end and resets it.
func (s *liteStmt) exec() error {
	for {
		row, err := s.step()
		if err != nil {
			s.reset()
			return err
		}
		if !row {
			return s.reset()
		}
	}
}

func (s *liteStmt) reset() error {
	if rc := sqlite3.Xsqlite3_reset(s.c.tls, s.p); rc != sqlite3.SQLITE_OK {
		return s.c.err(rc)
	}
	return nil
}

// finalize frees the statement; it is safe on nil and twice.
func (s *liteStmt) finalize() {
	if s == nil || s.p == 0 {
		return
	}
	sqlite3.Xsqlite3_finalize(s.c.tls, s.p)
	s.p = 0
}

// Column accessors; i is 0-based.

func (s *liteStmt) colType(i int) int32 { return sqlite3.Xsqlite3_column_type(s.c.tls, s.p, int32(i)) }

func (s *liteStmt) colInt64(i int) int64 {
	return sqlite3.Xsqlite3_column_int64(s.c.tls, s.p, int32(i))
}

func (s *liteStmt) colDouble(i int) float64 {
	return sqlite3.Xsqlite3_column_double(s.c.tls, s.p, int32(i))
}

// colText is the column as text, a view of SQLite's memory that is valid until the next
// step, reset or finalize of the statement; nil for NULL.
func (s *liteStmt) colText(i int) []byte {
	p := sqlite3.Xsqlite3_column_text(s.c.tls, s.p, int32(i))
	if p == 0 {
		return nil
	}
	n := sqlite3.Xsqlite3_column_bytes(s.c.tls, s.p, int32(i))
	if n <= 0 {
		return []byte{}
	}
	return unsafe.Slice((*byte)(cptr(p)), int(n))
}

// Parameter binders; i is 1-based as in SQLite.

func (s *liteStmt) bindInt64(i int, v int64) error {
	if rc := sqlite3.Xsqlite3_bind_int64(s.c.tls, s.p, int32(i), v); rc != sqlite3.SQLITE_OK {
		return s.c.err(rc)
	}
	return nil
}

func (s *liteStmt) bindDouble(i int, v float64) error {
	if rc := sqlite3.Xsqlite3_bind_double(s.c.tls, s.p, int32(i), v); rc != sqlite3.SQLITE_OK {
		return s.c.err(rc)
	}
	return nil
}

func (s *liteStmt) bindNull(i int) error {
	if rc := sqlite3.Xsqlite3_bind_null(s.c.tls, s.p, int32(i)); rc != sqlite3.SQLITE_OK {
		return s.c.err(rc)
	}
	return nil
}

// queryInt64 runs a one-row query and returns its first column (0 for NULL or no row).
func (c *liteConn) queryInt64(sql string) (int64, error) {
	st, err := c.prepare(sql)
	if err != nil {
		return 0, err
	}
	defer st.finalize()
	row, err := st.step()
	if err != nil || !row {
		return 0, err
	}
	return st.colInt64(0), nil
}

// queryStrings runs a query and returns its first column as text, one string a row.
func (c *liteConn) queryStrings(sql string) ([]string, error) {
	st, err := c.prepare(sql)
	if err != nil {
		return nil, err
	}
	defer st.finalize()
	var out []string
	for {
		row, err := st.step()
		if err != nil {
			return nil, err
		}
		if !row {
			return out, nil
		}
		out = append(out, string(st.colText(0)))
	}
}
