package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"time"

	"github.com/evident-isms/evident/internal/access"
	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/catalog"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/evidence"
	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/measure"
	"github.com/evident-isms/evident/internal/org"
	"github.com/evident-isms/evident/internal/subprocessor"
	"github.com/evident-isms/evident/internal/subscriber"
	"github.com/evident-isms/evident/internal/translation"
	"github.com/evident-isms/evident/internal/trust"
	"github.com/evident-isms/evident/internal/webhook"
)

// Config is what the HTTP server needs from the operator's settings.
type Config struct {
	BaseURL        *url.URL // every absolute link is built from it, never from Host
	TrustedProxies []netip.Prefix
	BehindTLS      bool
	// MetricsToken, when set, opens /metrics on the main listener to its
	// bearer. Without it /metrics is only on the metrics listener, if any.
	MetricsToken string
	// PublicOrg is the slug of the organisation published at / (its
	// security.txt); empty: none.
	PublicOrg string
	Log       *slog.Logger
	Clock     clock.Clock
	Metrics   *Metrics
	// Ready reports whether the instance can serve: database reachable,
	// migrations current. Each failing check is named in the answer.
	Ready func(ctx context.Context) map[string]error

	Identity *identity.Service
	Orgs     *org.Service
	Audit    *audit.Log
	Catalog  *catalog.Service
	Controls *control.Service
	Evidence *evidence.Service
	Measures *measure.Service

	Subprocessors *subprocessor.Service
	Profile       *org.ProfileService
	Translations  *translation.Service
	Subscribers   *subscriber.Service
	Webhooks      *webhook.Service
	Access        *access.Service
	// TrustCache holds the rendered public pages and the revisions they
	// are keyed by.
	TrustCache *trust.Cache
}

// Server is Evident's HTTP server: its routes and the middleware around them.
type Server struct {
	cfg    Config
	Router *Router
}

// NewServer returns a server with the instance routes registered: the
// landing page, static files, health, readiness and metrics. Domain routes
// are added to Router before Handler is called.
func NewServer(cfg Config) *Server {
	s := &Server{cfg: cfg, Router: NewRouter()}
	s.Router.DefinePermission(identity.Metrics, bearerCheck(cfg.MetricsToken))
	s.Router.DefinePermission(identity.Account, s.checkAccount)
	for _, p := range identity.OrgPermissions {
		s.Router.DefinePermission(p, s.checkOrg(p))
	}

	rt := s.Router
	rt.HandleFunc("GET", "/{$}", identity.Public, s.landing)
	rt.Handle("GET", "/static/{file...}", identity.Public, staticHandler())
	rt.HandleFunc("GET", "/.well-known/security.txt", identity.Public, s.securityTxt)
	rt.HandleFunc("GET", "/healthz", identity.Public, s.healthz)
	rt.HandleFunc("GET", "/readyz", identity.Public, s.readyz)
	if cfg.MetricsToken != "" {
		rt.Handle("GET", "/metrics", identity.Metrics, cfg.Metrics.Handler())
	}
	s.registerConsole()
	s.registerControlConsole()
	s.registerEvidenceConsole()
	s.registerMeasureConsole()
	s.registerSubprocessorConsole()
	s.registerPublicSite()
	s.registerPublicNotices()
	s.registerProfileConsole()
	s.registerTranslationConsole()
	s.registerWebhookConsole()
	s.registerAccessConsole()
	s.registerAPI()
	return s
}

// Handler returns the routes wrapped in the middleware every response passes.
func (s *Server) Handler() http.Handler {
	cop := http.NewCrossOriginProtection()
	if s.cfg.BaseURL != nil {
		// Behind a proxy the Host header may not be the public name.
		_ = cop.AddTrustedOrigin(s.cfg.BaseURL.Scheme + "://" + s.cfg.BaseURL.Host)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Error(w, r, apperr.New(apperr.Forbidden, "cross-origin request refused"))
	}))
	var observe func(string, int, time.Duration)
	if s.cfg.Metrics != nil {
		observe = s.cfg.Metrics.ObserveRequest
	}
	return wrap(cop.Handler(http.HandlerFunc(s.Router.dispatch)), MiddlewareConfig{
		Log: s.cfg.Log, Clock: s.cfg.Clock, TrustedProxies: s.cfg.TrustedProxies,
		BehindTLS: s.cfg.BehindTLS, Observe: observe,
	})
}

// MetricsHandler serves /metrics alone, for a listener of its own (an
// address only the monitoring network reaches), with the same headers.
func (s *Server) MetricsHandler() http.Handler {
	rt := NewRouter()
	rt.Handle("GET", "/metrics", identity.Public, s.cfg.Metrics.Handler())
	return wrap(http.HandlerFunc(rt.dispatch), MiddlewareConfig{Log: s.cfg.Log, Clock: s.cfg.Clock, BehindTLS: s.cfg.BehindTLS})
}

// Serve answers on l until ctx ends, then stops accepting and gives running
// requests up to 20 seconds to finish.
func Serve(ctx context.Context, l net.Listener, h http.Handler, log *slog.Logger) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := srv.Shutdown(shutCtx)
	if e := <-done; !errors.Is(e, http.ErrServerClosed) {
		err = errors.Join(err, e)
	}
	return err
}

// landing is the overview of the trust center published at / (a mapped
// host, --public-org), or the instance's own page when there is none.
func (s *Server) landing(w http.ResponseWriter, r *http.Request) {
	if st, err := s.resolveSite(r); err == nil {
		s.serveSitePage(w, r, sitePages[0], st)
		return
	} else if apperr.CodeOf(err) != apperr.NotFound {
		Error(w, r, err)
		return
	}
	rememberLang(w, r, s.cfg.BehindTLS || r.TLS != nil)
	render(w, r, "landing", nil)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	checks := map[string]string{}
	status := http.StatusOK
	for name, err := range s.cfg.Ready(ctx) {
		if err != nil {
			// The reason goes to the log; the answer names the check only,
			// since /readyz is public.
			s.cfg.Log.Warn("not ready", "check", name, "err", err)
			checks[name] = "failing"
			status = http.StatusServiceUnavailable
		} else {
			checks[name] = "ok"
		}
	}
	body := map[string]any{"status": "ready", "checks": checks}
	if status != http.StatusOK {
		body["status"] = "unavailable"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
