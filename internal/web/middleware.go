package web

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"time"

	"github.com/evident-isms/evident/internal/audit"

	"github.com/evident-isms/evident/internal/clock"
)

// Security headers sent on every response (DESIGN.md, HTTP surfaces).
const (
	ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	PermissionsPolicy     = "accelerometer=(), autoplay=(), camera=(), display-capture=(), encrypted-media=(), fullscreen=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), midi=(), payment=(), picture-in-picture=(), publickey-credentials-get=(), screen-wake-lock=(), sync-xhr=(), usb=(), xr-spatial-tracking=()"
	StrictTransport       = "max-age=63072000; includeSubDomains"
)

// SecurityHeaders returns the headers every response carries; HSTS only when
// the client reached us over TLS.
func SecurityHeaders(tls bool) map[string]string {
	h := map[string]string{
		"Content-Security-Policy": ContentSecurityPolicy,
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "strict-origin-when-cross-origin",
		"Permissions-Policy":      PermissionsPolicy,
	}
	if tls {
		h["Strict-Transport-Security"] = StrictTransport
	}
	return h
}

// securityPlain and securityTLS are SecurityHeaders as header values, built
// once: every response copies them (the public pages' speed depends on it).
var securityPlain, securityTLS = headerOf(SecurityHeaders(false)), headerOf(SecurityHeaders(true))

func headerOf(m map[string]string) http.Header {
	h := http.Header{}
	for k, v := range m {
		h.Set(k, v)
	}
	return h
}

// DefaultMaxBody is the largest request body a route accepts unless it says
// otherwise.
const DefaultMaxBody = 1 << 20

// Settings the middleware needs.
type MiddlewareConfig struct {
	Log            *slog.Logger
	Clock          clock.Clock
	TrustedProxies []netip.Prefix
	BehindTLS      bool
	// Observe, when set, is told the route, status and duration of every
	// request (for metrics).
	Observe func(route string, status int, took time.Duration)
}

// statusWriter remembers the status and whether anything was written.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.status, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (flushing, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// wrap puts the middleware around next, outermost first: request info and
// id, logging, panic recovery, security headers, body limit.
func wrap(next http.Handler, c MiddlewareConfig) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started := c.Clock.Now()
		info := &Info{ID: newRequestID(), ClientIP: clientIP(r, c.TrustedProxies), log: c.Log}
		// The audit log reads the request id, client and (once the route's
		// check has run) the actor from the same request record.
		var ip string
		if info.ClientIP.IsValid() {
			ip = info.ClientIP.String()
		}
		info.Audit = &audit.Request{ID: info.ID, ClientIP: ip, UserAgent: r.UserAgent()}
		r = r.WithContext(audit.WithRequest(withInfo(r.Context(), info), info.Audit))
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}

		h := sw.Header()
		sec := securityPlain
		if r.TLS != nil || c.BehindTLS {
			sec = securityTLS
		}
		for k, v := range sec {
			h[k] = v // canonical names, built once
		}
		h.Set("X-Request-Id", info.ID)
		// Console and API answers hold private data and one-time secrets
		// (tokens, reset and invitation links, TOTP secrets): never cached.
		if strings.HasPrefix(r.URL.Path, "/app/") || strings.HasPrefix(r.URL.Path, "/api/") {
			h.Set("Cache-Control", "no-store")
		}

		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				c.Log.Error("panic", "request_id", info.ID, "route", info.Route, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if !sw.wrote {
					Error(sw, r, fmt.Errorf("panic: %v", p))
				}
			}
			took := c.Clock.Now().Sub(started)
			route := info.Route
			if route == "" {
				route = "unmatched"
			}
			level := slog.LevelInfo
			if sw.status >= 500 {
				level = slog.LevelError
			}
			attrs := []slog.Attr{
				slog.String("request_id", info.ID), slog.String("route", route),
				slog.Int("status", sw.status), slog.Duration("duration", took),
				slog.String("client", info.ClientIP.String()),
			}
			if info.Org != "" {
				attrs = append(attrs, slog.String("org", info.Org))
			}
			if info.User != "" {
				attrs = append(attrs, slog.String("user", info.User))
			}
			c.Log.LogAttrs(r.Context(), level, "request", attrs...)
			if c.Observe != nil {
				c.Observe(route, sw.status, took)
			}
		}()

		info.body = r.Body
		r.Body = http.MaxBytesReader(sw, r.Body, DefaultMaxBody)
		next.ServeHTTP(sw, r)
	})
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// clientIP is the peer address, or, when the peer is a trusted proxy, the
// right-most address of X-Forwarded-For that is not itself a trusted proxy.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	peer = peer.Unmap()
	if !isTrusted(peer, trusted) {
		return peer
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a malformed hop: believe nothing further left
		}
		a = a.Unmap()
		if !isTrusted(a, trusted) {
			return a
		}
		peer = a
	}
	return peer
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ParseCIDRs reads a comma-separated list of CIDRs or single addresses.
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address or CIDR", part)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or CIDR", part)
		}
		// Client addresses are compared unmapped: ::ffff:10.0.0.0/104 is 10.0.0.0/8.
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return nil, fmt.Errorf("%q mixes IPv4-mapped and IPv6 addresses: give the IPv4 range", part)
			}
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
