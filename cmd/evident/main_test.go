package main

import (
	"bytes"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/db/dbtest"
	"github.com/evident-isms/evident/internal/keys"
)

// evident runs one command line in-process with the environment cleared of
// EVIDENT_* settings, as a fresh shell would.
func evident(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "EVIDENT_") && name != dbtest.PostgresURLVar {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
}

// oneLine checks that a failure printed exactly one line on stderr,
// prefixed, and no trace.
func oneLine(t *testing.T, stderr, want string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "evident: ") || !strings.Contains(lines[0], want) {
		t.Fatalf("stderr %q: want exactly one line containing %q", stderr, want)
	}
	if strings.Contains(stderr, "goroutine ") || strings.Contains(stderr, "panic") {
		t.Fatalf("stderr has a trace: %s", stderr)
	}
}

// engineArgs returns the flags that select a fresh database on engine e.
func engineArgs(t *testing.T, e db.Engine) []string {
	t.Helper()
	args := []string{"--data", t.TempDir()}
	if e == db.Postgres {
		t.Setenv(keys.SecretVar, (&keys.Ring{Entries: []keys.Entry{keys.NewEntry()}}).String())
		t.Setenv(keys.SigningVar, (&keys.Ring{Entries: []keys.Entry{keys.NewEntry()}}).String())
		args = append(args, "--database-url", dbtest.SchemaURL(t, dbtest.PostgresURL(t)))
	}
	return args
}

func TestOrgCreateAndList(t *testing.T) {
	for _, e := range dbtest.Engines(t) {
		t.Run(string(e), func(t *testing.T) {
			clearEnv(t)
			base := engineArgs(t, e)
			code, out, errOut := evident(t, append(base, "org", "create", "--slug", "acme", "--name", "Acme", "--time-zone", "Europe/Paris")...)
			if code != 0 || !strings.Contains(out, "created organisation acme (Acme)") {
				t.Fatalf("create: %d %q %q", code, out, errOut)
			}
			code, out, _ = evident(t, append(base, "org", "list")...)
			if code != 0 || !strings.Contains(out, "acme  Acme  Europe/Paris") {
				t.Fatalf("list: %d %q", code, out)
			}
			code, _, errOut = evident(t, append(base, "org", "create", "--slug", "acme", "--name", "Again")...)
			if code != 1 {
				t.Fatalf("duplicate slug: exit %d, want 1", code)
			}
			oneLine(t, errOut, `slug "acme" already exists`)
			code, _, errOut = evident(t, append(base, "org", "create", "--slug", "Not_Valid", "--name", "X")...)
			if code != 1 {
				t.Fatalf("invalid slug: exit %d, want 1", code)
			}
			oneLine(t, errOut, `slug "Not_Valid" is invalid`)
			code, out, _ = evident(t, append(base, "org", "list", "--json")...)
			if code != 0 || !strings.Contains(out, `"slug": "acme"`) || strings.Count(out, `"slug"`) != 1 {
				t.Fatalf("list --json: %d %s", code, out)
			}
		})
	}
}

func TestBadInvocations(t *testing.T) {
	clearEnv(t)
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	data := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"--bogus"}, exitUsage, "unknown flag: --bogus"},
		{"unknown command", []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"missing required flag", []string{"--data", data, "org", "create", "--name", "X"}, exitUsage, `"slug" not set`},
		{"malformed database URL", []string{"--data", data, "--database-url", "mysql://db", "migrate"}, exitError, "must start with postgres://"},
		{"PostgreSQL without a secret key", []string{"--data", data, "--database-url", "postgres://127.0.0.1:1/x", "serve"}, exitError, "PostgreSQL needs EVIDENT_SECRET_KEY"},
		{"unwritable data directory", []string{"--data", filepath.Join(file, "sub"), "migrate"}, exitError, "cannot be created: not a directory"},
		{"port in use", []string{"--data", data, "--addr", busy.Addr().String(), "serve"}, exitError, "already in use"},
		{"bad address", []string{"--data", data, "--addr", "nonsense", "serve"}, exitError, `--addr "nonsense" is not host:port`},
		{"bad base URL", []string{"--data", data, "--base-url", "ftp://x", "serve"}, exitError, "--base-url"},
		{"bad proxies", []string{"--data", data, "--trusted-proxies", "10.0.0.0/99", "serve"}, exitError, "--trusted-proxies"},
		{"bad log format", []string{"--data", data, "--log-format", "xml", "serve"}, exitError, "--log-format"},
		{"bad mail state", []string{"--data", data, "mail", "list", "--state", "lost"}, exitUsage, "--state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := evident(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d (%s)", code, tt.code, errOut)
			}
			oneLine(t, errOut, tt.want)
		})
	}
}

func TestUnreachablePostgres(t *testing.T) {
	clearEnv(t)
	engineArgs(t, db.Postgres) // sets the keys
	code, _, errOut := evident(t, "--data", t.TempDir(), "--database-url", "postgres://evident:s3cret@127.0.0.1:1/evident?connect_timeout=2", "migrate")
	if code != exitError || strings.Contains(errOut, "s3cret") {
		t.Fatalf("exit %d, stderr %q: want 1 and no password", code, errOut)
	}
	oneLine(t, errOut, "cannot reach PostgreSQL postgres://evident:xxxxx@127.0.0.1:1/evident")
}

func TestSettingsFromTheEnvironment(t *testing.T) {
	clearEnv(t)
	data := t.TempDir()
	t.Setenv("EVIDENT_DATA", data)
	if code, _, errOut := evident(t, "org", "create", "--slug", "from-env", "--name", "Env"); code != 0 {
		t.Fatalf("create: %s", errOut)
	}
	if _, err := os.Stat(filepath.Join(data, "evident.db")); err != nil {
		t.Fatal("EVIDENT_DATA was not used")
	}
	other := t.TempDir()
	if code, out, _ := evident(t, "--data", other, "org", "list"); code != 0 || strings.Contains(out, "from-env") {
		t.Fatal("the flag must win over the environment")
	}

	t.Setenv("EVIDENT_WORKERS", "many")
	code, _, errOut := evident(t, "org", "list")
	if code != exitUsage {
		t.Fatalf("bad EVIDENT_WORKERS: exit %d", code)
	}
	oneLine(t, errOut, `EVIDENT_WORKERS: "many" is not a valid int`)
	os.Unsetenv("EVIDENT_WORKERS")

	keyFile := filepath.Join(t.TempDir(), "secret")
	ring := (&keys.Ring{Entries: []keys.Entry{{ID: "fromfile", Key: make([]byte, 32)}}}).String()
	if err := os.WriteFile(keyFile, []byte(ring), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EVIDENT_SECRET_KEY_FILE", keyFile)
	code, out, errOut := evident(t, "keys", "rotate")
	if code != 0 || !strings.Contains(errOut, "EVIDENT_SECRET_KEY") || !strings.HasPrefix(out, "fromfile:") || strings.Count(out, "\n") != 2 {
		t.Fatalf("rotate with a key from a file: %d %q %q", code, out, errOut)
	}
	t.Setenv("EVIDENT_SECRET_KEY", ring)
	code, _, errOut = evident(t, "org", "list")
	if code != exitUsage {
		t.Fatalf("both EVIDENT_SECRET_KEY and _FILE: exit %d", code)
	}
	oneLine(t, errOut, "both EVIDENT_SECRET_KEY and EVIDENT_SECRET_KEY_FILE are set")
}

func TestKeysRotateOnSQLite(t *testing.T) {
	clearEnv(t)
	data := t.TempDir()
	if code, _, errOut := evident(t, "--data", data, "migrate"); code != 0 {
		t.Fatal(errOut)
	}
	before, _ := os.ReadFile(filepath.Join(data, keys.SecretFile))
	code, out, errOut := evident(t, "--data", data, "keys", "rotate")
	if code != 0 || !strings.Contains(out, "secret key rotated") {
		t.Fatalf("rotate: %d %q %q", code, out, errOut)
	}
	after, _ := os.ReadFile(filepath.Join(data, keys.SecretFile))
	if !strings.HasPrefix(string(after), string(before)) || strings.Count(string(after), "\n") != 2 {
		t.Fatalf("key file after rotation:\n%s\nwant the old key kept and a new one appended", after)
	}
	if code, out, _ := evident(t, "--data", data, "keys", "rotate", "--signing"); code != 0 || !strings.Contains(out, "signing key rotated") {
		t.Fatalf("rotate --signing: %q", out)
	}
	if code, out, _ := evident(t, "--data", data, "keys", "reencrypt"); code != 0 || !strings.Contains(out, "re-encrypted") {
		t.Fatalf("reencrypt: %q", out)
	}
}

func TestKeysGenerate(t *testing.T) {
	code, out, _ := evident(t, "keys", "generate")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 2 || !strings.HasPrefix(lines[0], keys.SecretVar+"=") || !strings.HasPrefix(lines[1], keys.SigningVar+"=") {
		t.Fatalf("generate: %q", out)
	}
	for _, l := range lines {
		_, v, _ := strings.Cut(l, "=")
		if _, err := keys.ParseRing(v, "generated"); err != nil {
			t.Fatalf("generated keyring does not parse: %v", err)
		}
	}
}

// serve answers /healthz and /readyz, and stops cleanly on SIGTERM.
func TestServeAndGracefulShutdown(t *testing.T) {
	for _, e := range dbtest.Engines(t) {
		t.Run(string(e), func(t *testing.T) {
			clearEnv(t)
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			l.Close()
			args := append(engineArgs(t, e), "--addr", addr, "serve")
			done := make(chan int, 1)
			var errOut string
			go func() {
				code, _, stderr := evident(t, args...)
				errOut = stderr
				done <- code
			}()
			deadline := time.Now().Add(20 * time.Second)
			for {
				res, err := http.Get("http://" + addr + "/readyz")
				if err == nil {
					res.Body.Close()
					if res.StatusCode != 200 {
						t.Fatalf("readyz: %d", res.StatusCode)
					}
					break
				}
				select {
				case code := <-done:
					t.Fatalf("serve exited with %d before answering: %s", code, errOut)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatal("serve did not answer in 20 s")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if res, err := http.Get("http://" + addr + "/healthz"); err != nil || res.StatusCode != 200 {
				t.Fatalf("healthz: %v", err)
			}
			if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			select {
			case code := <-done:
				if code != 0 {
					t.Fatalf("serve exited %d after SIGTERM: %s", code, errOut)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("serve did not stop within 30 s of SIGTERM")
			}
			if !strings.Contains(errOut, "msg=stopped") {
				t.Fatalf("no clean stop in the log: %s", errOut)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := evident(t, "version")
	if code != 0 || !strings.HasPrefix(out, "evident ") {
		t.Fatalf("version: %d %q", code, out)
	}
}

func TestUserAndTokenCommands(t *testing.T) {
	for _, e := range dbtest.Engines(t) {
		t.Run(string(e), func(t *testing.T) {
			clearEnv(t)
			base := engineArgs(t, e)
			if code, _, errOut := evident(t, append(base, "org", "create", "--slug", "acme", "--name", "Acme")...); code != 0 {
				t.Fatal(errOut)
			}
			pwFile := filepath.Join(t.TempDir(), "pw")
			if err := os.WriteFile(pwFile, []byte("correct horse battery staple\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := evident(t, append(base, "user", "create", "--org", "acme", "--email", "alice@acme.example", "--role", "admin", "--password-file", pwFile)...)
			if code != 0 || !strings.Contains(out, "new account alice@acme.example is now admin of acme") {
				t.Fatalf("user create: %d %q %q", code, out, errOut)
			}
			code, _, errOut = evident(t, append(base, "user", "create", "--org", "acme", "--email", "bob@acme.example", "--role", "admin", "--password-file", filepath.Join(t.TempDir(), "none"))...)
			if code != exitError {
				t.Fatalf("missing password file: exit %d", code)
			}
			oneLine(t, errOut, "--password-file")
			pwShort := filepath.Join(t.TempDir(), "short")
			_ = os.WriteFile(pwShort, []byte("short\n"), 0o600)
			code, _, errOut = evident(t, append(base, "user", "create", "--org", "acme", "--email", "bob@acme.example", "--role", "member", "--password-file", pwShort)...)
			if code != exitError {
				t.Fatalf("weak password: exit %d", code)
			}
			oneLine(t, errOut, "at least 12 characters")
			code, _, errOut = evident(t, append(base, "user", "create", "--org", "acme", "--email", "bob@acme.example", "--role", "owner")...)
			if code != exitUsage {
				t.Fatalf("unknown role: exit %d", code)
			}
			oneLine(t, errOut, `role "owner"`)

			code, out, errOut = evident(t, append(base, "token", "create", "--org", "acme", "--email", "alice@acme.example", "--role", "manager", "--name", "ci")...)
			if code != 0 || !strings.HasPrefix(out, "evd_") || strings.Count(out, "\n") != 1 || strings.Contains(strings.TrimSpace(out), " ") {
				t.Fatalf("token create must print the token alone: %d %q %q", code, out, errOut)
			}
			code, out, _ = evident(t, append(base, "user", "reset-link", "--email", "alice@acme.example")...)
			if code != 0 || !strings.HasPrefix(out, "http://127.0.0.1:8080/app/reset/") {
				t.Fatalf("reset-link: %d %q", code, out)
			}
			code, _, errOut = evident(t, append(base, "user", "reset-link", "--email", "nobody@acme.example")...)
			if code != exitError {
				t.Fatalf("reset-link for an unknown address: exit %d", code)
			}
			oneLine(t, errOut, "no account")
		})
	}
}
