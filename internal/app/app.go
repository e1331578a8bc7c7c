package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"

	"github.com/evident-isms/evident/internal/access"
	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/blob"
	"github.com/evident-isms/evident/internal/catalog"
	"github.com/evident-isms/evident/internal/check"
	"github.com/evident-isms/evident/internal/clamav"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/evidence"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/job"
	"github.com/evident-isms/evident/internal/keys"
	"github.com/evident-isms/evident/internal/mail"
	"github.com/evident-isms/evident/internal/measure"
	"github.com/evident-isms/evident/internal/org"
	"github.com/evident-isms/evident/internal/subprocessor"
	"github.com/evident-isms/evident/internal/subscriber"
	"github.com/evident-isms/evident/internal/translation"
	"github.com/evident-isms/evident/internal/trust"
	"github.com/evident-isms/evident/internal/web"
	"github.com/evident-isms/evident/internal/webhook"
)

// App is a wired instance.
type App struct {
	Config        Config
	Log           *slog.Logger
	Clock         clock.Clock
	DB            *db.DB
	Keys          *keys.Keys
	Queue         *job.Queue
	Mail          *mail.Mailer
	Orgs          *org.Service
	Identity      *identity.Service
	Audit         *audit.Log
	Catalog       *catalog.Service
	Controls      *control.Service
	Evidence      *evidence.Service
	Measures      *measure.Service
	Subprocessors *subprocessor.Service
	Webhooks      *webhook.Service
	Subscribers   *subscriber.Service
	Access        *access.Service
	TrustCache    *trust.Cache
	Translations  *translation.Service
	Profile       *org.ProfileService
	Blobs         blob.Store
	Metrics       *web.Metrics
	Web           *web.Server
	settings      settings
	migrated      atomic.Bool
}

// Open checks the settings, prepares the data directory, loads the keys,
// opens and migrates the database and wires the services. Its errors are one
// line for the operator.
func Open(ctx context.Context, cfg Config, log *slog.Logger, clk clock.Clock) (*App, error) {
	s, err := cfg.check()
	if err != nil {
		return nil, err
	}
	// The data directory holds the SQLite database and generated keys; on
	// PostgreSQL nothing is written there (yet), so a read-only one is fine.
	if !cfg.UsesPostgres() {
		if err := prepareDataDir(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	k, err := keys.Load(keys.Config{Secret: cfg.SecretKey, Signing: cfg.SigningKey, DataDir: cfg.DataDir, Generate: !cfg.UsesPostgres()})
	if err != nil {
		return nil, err
	}
	d, err := db.Open(ctx, db.Options{URL: cfg.DatabaseURL, DataDir: cfg.DataDir})
	if err != nil {
		return nil, err
	}
	if err := d.Migrate(ctx, log); err != nil {
		d.Close()
		return nil, err
	}
	if d.Engine == db.SQLite {
		// One node: values sealed under an older key can be re-encrypted at
		// once. Several PostgreSQL nodes must all have the new key first,
		// so there the operator runs `evident keys reencrypt`.
		if n, err := k.Reencrypt(ctx, d, keys.Encrypted); err != nil {
			d.Close()
			return nil, fmt.Errorf("re-encrypt under the current secret key: %w", err)
		} else if n > 0 {
			log.Info("re-encrypted values under the current secret key", "count", n, "key_id", k.Secret.Current().ID)
		}
	}

	a := &App{Config: cfg, Log: log, Clock: clk, DB: d, Keys: k, settings: s, Metrics: web.NewMetrics()}
	a.Queue = job.New(d, clk, log)
	a.Queue.Observe = a.Metrics.ObserveJob
	a.Mail = mail.New(d, clk, a.Queue, cfg.SMTP, log)
	a.Audit = audit.New(d, clk, k)
	// Every audited change to an organisation moves its trust center's
	// revision in the same transaction (DESIGN.md, render cache).
	a.TrustCache = trust.NewCache(d)
	a.Audit.OnOrgChange(a.TrustCache.Bump)
	a.Orgs = org.NewService(d, clk, a.Audit)
	a.Identity = identity.NewService(d, clk, k, a.Mail, a.Audit, s.baseURL.String())
	a.Catalog = catalog.NewService(d, clk, a.Audit)
	a.Controls = control.NewService(d, clk, a.Audit, a.Catalog)
	if err := a.Catalog.SyncBuiltins(ctx); err != nil {
		d.Close()
		return nil, fmt.Errorf("store the built-in frameworks: %w", err)
	}
	if a.Blobs, err = openBlobs(ctx, cfg); err != nil {
		d.Close()
		return nil, err
	}
	var scanner *clamav.Client
	if cfg.ClamAVAddr != "" {
		scanner = &clamav.Client{Addr: cfg.ClamAVAddr}
	}
	a.Evidence = evidence.NewService(d, clk, a.Audit, evidence.Config{Blobs: a.Blobs, Scanner: scanner,
		MaxBytes: int64(cfg.MaxUploadMB) << 20, Log: log})
	a.Controls.SetEvidenceSource(a.Evidence)
	a.Measures = measure.NewService(d, clk, a.Audit, a.Controls)
	a.Subprocessors = subprocessor.NewService(d, clk, a.Audit)
	a.Translations = translation.NewService(d, clk, a.Audit)
	// One guard for every outbound call to a user-chosen address: webhooks
	// may reach what checks may. The CIDRs were checked with the settings.
	allow, _ := web.ParseCIDRs(cfg.CheckAllow)
	guard := &check.Guard{Allow: allow}
	a.Webhooks = webhook.NewService(d, clk, k, a.Audit, a.Queue, webhook.Config{Guard: guard, MaxAttempts: cfg.WebhookTries})
	a.Subscribers = subscriber.New(subscriber.Config{DB: d, Clock: clk, Audit: a.Audit, Keys: k, Mail: a.Mail, Queue: a.Queue,
		Limiter: a.Identity.Limiter, BaseURL: s.baseURL.String(), Log: log})
	a.Subscribers.Handle(subscriber.TopicSubprocessors, a.Subprocessors.RenderNotice)
	a.Subprocessors.SetNotifiers(a.Subscribers, a.Webhooks)
	a.Access = access.New(access.Config{DB: d, Clock: clk, Audit: a.Audit, Mail: a.Mail, Limiter: a.Identity.Limiter, BaseURL: s.baseURL.String()})
	a.Profile = org.NewProfileService(d, clk, a.Audit)
	a.Evidence.SetChecks(&check.Runner{Guard: guard, Resolver: check.DNSResolver{Addr: cfg.DNSResolver},
		Now: clk.Now}, a.Queue)
	registerHousekeeping(a)

	a.Web = web.NewServer(web.Config{
		BaseURL: s.baseURL, TrustedProxies: s.proxies, BehindTLS: cfg.BehindTLS,
		MetricsToken: cfg.MetricsToken, PublicOrg: org.NormaliseSlug(cfg.PublicOrg), Log: log, Clock: clk, Metrics: a.Metrics, Ready: a.ready,
		Identity: a.Identity, Orgs: a.Orgs, Audit: a.Audit, Catalog: a.Catalog, Controls: a.Controls,
		Evidence: a.Evidence, Measures: a.Measures, Subprocessors: a.Subprocessors, Webhooks: a.Webhooks, Subscribers: a.Subscribers,
		Profile: a.Profile, Translations: a.Translations, Access: a.Access, TrustCache: a.TrustCache,
	})
	if cfg.PublicOrg != "" {
		if _, err := a.Orgs.BySlug(ctx, cfg.PublicOrg); apperr.CodeOf(err) == apperr.NotFound {
			// Not an error: the operator may create it next.
			log.Warn("--public-org names no organisation yet: security.txt answers 404 until it exists", "slug", cfg.PublicOrg)
		}
	}
	return a, nil
}

// openBlobs opens the store of evidence files: S3-compatible storage when
// configured (several nodes), else DATA/blobs.
func openBlobs(ctx context.Context, cfg Config) (blob.Store, error) {
	if cfg.S3.Endpoint != "" {
		spool := filepath.Join(os.TempDir(), "evident-spool")
		if err := os.MkdirAll(spool, 0o700); err != nil {
			return nil, fmt.Errorf("spool directory for uploads: %s", reason(err))
		}
		st, err := blob.NewS3Store(ctx, blob.S3Config{Endpoint: cfg.S3.Endpoint, Bucket: cfg.S3.Bucket, Region: cfg.S3.Region,
			Prefix: cfg.S3.Prefix, UseTLS: !cfg.S3.Insecure, AccessKey: cfg.S3.AccessKey, SecretKey: cfg.S3.SecretKey}, spool)
		if err != nil {
			return nil, fmt.Errorf("evidence storage: %s", apperr.MessageOf(err))
		}
		return st, nil
	}
	if err := prepareDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	st, err := blob.NewFileStore(filepath.Join(cfg.DataDir, "blobs"))
	if err != nil {
		return nil, fmt.Errorf("evidence storage: %s", apperr.MessageOf(err))
	}
	return st, nil
}

// Close releases the database.
func (a *App) Close() error { return a.DB.Close() }

// prepareDataDir creates the data directory (0700) and proves it writable.
func prepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory %s cannot be created: %s", dir, reason(err))
	}
	probe, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %s", dir, reason(err))
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// reason is the last part of a file-system error ("permission denied").
func reason(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// ready answers /readyz. It uses the read pool, never SQLite's one writer
// connection, so probes cannot delay writes; once the migrations are found
// current they stay so for this process (they only ever move forward).
func (a *App) ready(ctx context.Context) map[string]error {
	checks := map[string]error{"database": a.DB.Read.PingContext(ctx), "migrations": nil}
	if checks["database"] != nil {
		checks["migrations"] = errors.New("database unreachable")
		return checks
	}
	if !a.migrated.Load() {
		current, err := a.DB.MigrationsCurrent(ctx)
		if err == nil && !current {
			err = errors.New("migrations pending")
		}
		a.migrated.Store(err == nil)
		checks["migrations"] = err
	}
	return checks
}

// Listen opens the HTTP listener and, when configured, the metrics one.
func Listen(cfg Config) (l, metrics net.Listener, err error) {
	if _, err := cfg.check(); err != nil {
		return nil, nil, err
	}
	if l, err = listen(cfg.Addr); err != nil {
		return nil, nil, err
	}
	if cfg.MetricsAddr != "" {
		if metrics, err = listen(cfg.MetricsAddr); err != nil {
			l.Close()
			return nil, nil, err
		}
	}
	return l, metrics, nil
}

// Serve runs the job workers and serves HTTP on l (and metrics on ml, if
// not nil) until ctx ends, then shuts down gracefully.
func (a *App) Serve(ctx context.Context, l, ml net.Listener) error {
	a.Log.Info("serving", "addr", l.Addr().String(), "base_url", a.settings.baseURL.String(),
		"database", a.DB.Where, "workers", a.Config.Workers)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 3)
	go func() { errs <- web.Serve(ctx, l, a.Web.Handler(), a.Log) }()
	running := 1
	if ml != nil {
		a.Log.Info("serving metrics", "addr", ml.Addr().String())
		go func() { errs <- web.Serve(ctx, ml, a.Web.MetricsHandler(), a.Log) }()
		running++
	}
	workersDone := make(chan struct{})
	jobCtx := audit.WithActor(ctx, audit.System("job"))
	go func() { a.Queue.Run(jobCtx, a.Config.Workers); close(workersDone) }()

	var first error
	for i := 0; i < running; i++ {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
		cancel() // one listener failing stops the other and the workers
	}
	<-workersDone
	a.Log.Info("stopped")
	return first
}

// listen opens a TCP listener with an operator-friendly error.
func listen(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err == nil {
		return l, nil
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, fmt.Errorf("cannot listen on %s: the address is already in use (another evident, or another program?)", addr)
	case errors.Is(err, syscall.EACCES):
		return nil, fmt.Errorf("cannot listen on %s: permission denied (ports below 1024 need privileges)", addr)
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %s", addr, oe.Err)
	}
	return nil, fmt.Errorf("cannot listen on %s: %v", addr, err)
}
