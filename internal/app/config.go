// Package app is the one place that knows every package: it reads the
// operator's settings and wires the database, keys, job queue, mail, domain
// services and the HTTP server together.
package app

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/mail"
	"github.com/evident-isms/evident/internal/org"
	"github.com/evident-isms/evident/internal/web"
)

// Config is every setting of an instance. The CLI fills it from flags and
// EVIDENT_* environment variables (secrets also from *_FILE).
type Config struct {
	DataDir        string
	DatabaseURL    string
	Addr           string
	BaseURL        string
	TrustedProxies string
	BehindTLS      bool
	LogFormat      string
	LogLevel       string
	MetricsAddr    string
	MetricsToken   string
	Workers        int
	SecretKey      string
	SigningKey     string
	SMTP           mail.Config
	MaxUploadMB    int    // evidence upload limit
	ClamAVAddr     string // clamd: host:port or unix:/path; empty: files are stored as not scanned
	S3             S3Config
	CheckAllow     string // CIDRs automated checks may reach although private (the demo: 127.0.0.1/32)
	DNSResolver    string // host:port of the resolver the dns check asks; empty: the system's
	WebhookTries   int    // delivery attempts of a webhook message before it is dead (--webhook-max-attempts)
	PublicOrg      string // the organisation served at / (its security.txt); empty: the landing page
}

// S3Config names S3-compatible storage for evidence files; without an
// endpoint, files live in DATA/blobs.
type S3Config struct {
	Endpoint  string // host:port
	Bucket    string
	Region    string
	Prefix    string
	Insecure  bool   // plain HTTP, for a storage server on a private network
	AccessKey string // EVIDENT_S3_ACCESS_KEY
	SecretKey string // EVIDENT_S3_SECRET_KEY
}

// Defaults are the settings of a fresh install.
func Defaults() Config {
	return Config{
		DataDir:      "./evident-data",
		Addr:         "127.0.0.1:8080",
		LogFormat:    "text",
		LogLevel:     "info",
		Workers:      4,
		SMTP:         mail.Config{Port: 587, TLS: mail.TLSStartTLS},
		MaxUploadMB:  50,
		WebhookTries: 8,
	}
}

// UsesPostgres tells whether the settings name a PostgreSQL database.
func (c Config) UsesPostgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// settings is Config once checked and parsed.
type settings struct {
	baseURL *url.URL
	proxies []netip.Prefix
}

func (c Config) check() (settings, error) {
	var s settings
	if c.DataDir == "" {
		return s, errors.New("--data must name a directory")
	}
	if c.DatabaseURL != "" && !c.UsesPostgres() {
		return s, errors.New("--database-url must start with postgres:// (or be empty for SQLite in the data directory)")
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return s, fmt.Errorf("--addr %q is not host:port", c.Addr)
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			return s, fmt.Errorf("--metrics-addr %q is not host:port", c.MetricsAddr)
		}
	}
	base, err := parseBaseURL(c.BaseURL, c.Addr)
	if err != nil {
		return s, err
	}
	s.baseURL = base
	if s.proxies, err = web.ParseCIDRs(c.TrustedProxies); err != nil {
		return s, fmt.Errorf("--trusted-proxies: %w", err)
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return s, fmt.Errorf("--log-format %q: use json or text", c.LogFormat)
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return s, err
	}
	if c.Workers < 1 || c.Workers > 64 {
		return s, fmt.Errorf("--workers %d: use 1 to 64", c.Workers)
	}
	if err := c.SMTP.Validate(); err != nil {
		return s, fmt.Errorf("mail settings: %w", err)
	}
	if c.MaxUploadMB < 1 || c.MaxUploadMB > 4096 {
		return s, fmt.Errorf("--max-upload-mb %d: use 1 to 4096", c.MaxUploadMB)
	}
	if c.ClamAVAddr != "" && !strings.HasPrefix(c.ClamAVAddr, "unix:") {
		if _, _, err := net.SplitHostPort(c.ClamAVAddr); err != nil {
			return s, fmt.Errorf("--clamav-addr %q is neither host:port nor unix:/path/to/clamd.ctl", c.ClamAVAddr)
		}
	}
	if _, err := web.ParseCIDRs(c.CheckAllow); err != nil {
		return s, fmt.Errorf("--check-allow: %w", err)
	}
	if c.PublicOrg != "" {
		if err := org.ValidateSlug(c.PublicOrg); err != nil {
			return s, fmt.Errorf("--public-org: %s", apperr.MessageOf(err))
		}
	}
	if c.DNSResolver != "" {
		if _, _, err := net.SplitHostPort(c.DNSResolver); err != nil {
			return s, fmt.Errorf("--dns-resolver %q is not host:port", c.DNSResolver)
		}
	}
	if c.WebhookTries < 1 || c.WebhookTries > 50 {
		return s, fmt.Errorf("--webhook-max-attempts %d: use 1 to 50", c.WebhookTries)
	}
	if c.S3.Endpoint != "" && (c.S3.Bucket == "" || c.S3.AccessKey == "" || c.S3.SecretKey == "") {
		return s, errors.New("--s3-endpoint needs --s3-bucket, EVIDENT_S3_ACCESS_KEY and EVIDENT_S3_SECRET_KEY")
	}
	return s, nil
}

// parseBaseURL reads --base-url; without one, links point at the listening
// address, which suits a local trial only.
func parseBaseURL(raw, addr string) (*url.URL, error) {
	if raw == "" {
		host, port, _ := net.SplitHostPort(addr)
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "localhost"
		}
		raw = "http://" + net.JoinHostPort(host, port)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--base-url %q: use an absolute http:// or https:// URL such as https://trust.example.com", raw)
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("--base-url %q: give only scheme and host (Evident serves from the root of its host)", raw)
	}
	u.Path = ""
	return u, nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("--log-level %q: use debug, info, warn or error", s)
	}
	return l, nil
}

// NewLogger returns the logger the settings ask for, writing to w.
func NewLogger(c Config, w io.Writer) *slog.Logger {
	level, _ := parseLevel(c.LogLevel)
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
