package postgres

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mailroom/mailroom/internal/pgtest"
)

// EnvDSN names the environment variable with the URL of a PostgreSQL
// database the tests may create schemas in.
const EnvDSN = pgtest.EnvDSN

// adminDSN is the database the tests use: $MAILROOM_TEST_POSTGRES, or a
// throwaway server started by TestMain. Empty when neither is available.
var adminDSN string

// serverErr says why no throwaway server could be started.
var serverErr error

func TestMain(m *testing.M) {
	adminDSN = os.Getenv(EnvDSN)
	var stop func()
	if adminDSN == "" {
		adminDSN, stop, serverErr = startServer()
	}
	code := m.Run()
	if stop != nil {
		stop()
	}
	os.Exit(code)
}

// testDSN creates a schema of its own for t, dropped when t ends, and
// returns a DSN whose search_path selects it.
func testDSN(t testing.TB) string {
	t.Helper()
	if adminDSN == "" {
		msg := fmt.Sprintf("no PostgreSQL: set %s (e.g. postgres://mailroom:mailroom@127.0.0.1:5432/mailroom_test?sslmode=disable) or install PostgreSQL (%v)", EnvDSN, serverErr)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return pgtest.Schema(t, adminDSN)
}

// startServer runs initdb and postgres from /usr/lib/postgresql/*/bin in a
// temporary directory on a free loopback port, as user postgres when run
// as root (postgres refuses to run as root). fsync is off: the data is
// thrown away.
func startServer() (dsn string, stop func(), err error) {
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		return "", nil, fmt.Errorf("no /usr/lib/postgresql/*/bin/initdb")
	}
	sort.Strings(bins)
	bin := filepath.Dir(bins[len(bins)-1])
	dir, err := os.MkdirTemp("", "mailroom-pg-")
	if err != nil {
		return "", nil, err
	}
	var wrap []string
	if os.Geteuid() == 0 {
		pu, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return "", nil, fmt.Errorf("running as root and no user postgres: %w", err)
		}
		uid, _ := strconv.Atoi(pu.Uid)
		gid, _ := strconv.Atoi(pu.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return "", nil, err
		}
		wrap = []string{"runuser", "-u", "postgres", "--"}
	}
	command := func(args ...string) *exec.Cmd {
		args = append(wrap, args...)
		return exec.Command(args[0], args[1:]...)
	}
	data := filepath.Join(dir, "data")
	if out, err := command(filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-N", "-E", "UTF8").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	srv := command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200")
	logf, _ := os.Create(filepath.Join(dir, "server.log"))
	srv.Stdout, srv.Stderr = logf, logf
	if err := srv.Start(); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	stop = func() {
		// Signals to srv would reach runuser, not postgres: stop it with
		// pg_ctl (immediate: the data is thrown away).
		if out, err := command(filepath.Join(bin, "pg_ctl"), "stop", "-D", data, "-m", "immediate", "-w").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "pg_ctl stop: %v: %s\n", err, out)
		}
		done := make(chan struct{})
		go func() { srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			srv.Process.Kill()
			<-done
		}
		logf.Close()
		os.RemoveAll(dir)
	}
	dsn = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		conn, err := pgx.Connect(context.Background(), dsn)
		if err == nil {
			conn.Close(context.Background())
			return dsn, stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("throwaway server did not start: %w", err)
		}
	}
}
