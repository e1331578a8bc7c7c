// Package check re-verifies public security claims from outside: HTTP
// security headers, TLS, e-mail and CA DNS records, security.txt and plain
// availability. Runners are pure: they take a kind and a target and return a
// Result; storing results and scheduling runs belong to the caller.
//
// Every connection to a user-chosen target goes through Guard, which refuses
// loopback, private, link-local and metadata addresses unless the operator
// allows them.
package check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/evident-isms/evident/internal/clock"
)

// The kinds of check.
const (
	KindHTTPHeaders = "http_headers"
	KindTLS         = "tls"
	KindDNS         = "dns"
	KindSecurityTxt = "security_txt"
	KindHTTPUp      = "http_up"
)

// Kinds lists every kind Run knows.
var Kinds = []string{KindHTTPHeaders, KindTLS, KindDNS, KindSecurityTxt, KindHTTPUp}

// DefaultTimeout bounds a whole check when Runner.Timeout is zero, and a
// guarded connection or request given no timeout.
const DefaultTimeout = 10 * time.Second

// maxBody is the most of any response body a check reads.
const maxBody = 1 << 20

// maxURL is the longest URL a target may be.
const maxURL = 2048

// Result is the outcome of one check.
type Result struct {
	// Passed is true when every assertion passed and there was no Error.
	Passed bool `json:"passed"`
	// Assertions are the ones the check could evaluate, in order.
	Assertions []Assertion `json:"assertions"`
	// Measured holds what was observed (status, expiry date, records...).
	Measured map[string]string `json:"measured,omitempty"`
	// Error says, in plain words, why the check could not run to the end.
	Error string `json:"error,omitempty"`
}

// Assertion is one claim and whether the target meets it.
type Assertion struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail"`
}

func (r *Result) assert(name string, passed bool, format string, args ...any) {
	r.Assertions = append(r.Assertions, Assertion{Name: name, Passed: passed, Detail: fmt.Sprintf(format, args...)})
}

func (r *Result) measure(key, value string) {
	if r.Measured == nil {
		r.Measured = map[string]string{}
	}
	r.Measured[key] = value
}

func (r *Result) fail(err error) {
	r.Error = plainError(err)
}

// settle sets Passed: a check that evaluated nothing has not passed.
func (r *Result) settle() {
	if r.Assertions == nil {
		r.Assertions = []Assertion{} // stored and shown as a list, never null
	}
	r.Passed = r.Error == "" && len(r.Assertions) > 0
	for _, a := range r.Assertions {
		if !a.Passed {
			r.Passed = false
		}
	}
}

// DNSResolver is the recursive resolver the dns check asks. It is operator
// configuration, not user input, so it is dialled directly, not through the
// guard: resolvers usually live on loopback or a private address.
type DNSResolver struct {
	// Addr is "host:port". Empty means the first nameserver of
	// /etc/resolv.conf.
	Addr string
}

// Runner runs checks. The zero value works: no exceptions to the guard, the
// system roots, the resolver of /etc/resolv.conf, the wall clock and
// DefaultTimeout.
type Runner struct {
	Guard    *Guard
	Resolver DNSResolver
	// RootCAs replaces the system roots for the tls, http_headers,
	// security_txt and http_up checks when set (tests use their own CA).
	RootCAs *x509.CertPool
	Now     func() time.Time
	// Timeout bounds one whole check, every connection and query included.
	Timeout time.Duration
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return clock.System{}.Now()
}

func (r *Runner) timeout() time.Duration { return orDefault(r.Timeout) }

func (r *Runner) httpClient() *http.Client {
	return r.Guard.httpClient(r.timeout(), r.RootCAs)
}

// Run runs the check kind against target. It never panics on bad input: an
// invalid target or unknown kind comes back as Result.Error.
func (r *Runner) Run(ctx context.Context, kind, target string) Result {
	var res Result
	if err := ValidateTarget(kind, target); err != nil {
		res.Error = "invalid target: " + err.Error()
		res.settle()
		return res
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	switch kind {
	case KindHTTPHeaders:
		r.checkHeaders(ctx, &res, target)
	case KindTLS:
		r.checkTLS(ctx, &res, target)
	case KindDNS:
		r.checkDNS(ctx, &res, target)
	case KindSecurityTxt:
		r.checkSecurityTxt(ctx, &res, target)
	case KindHTTPUp:
		r.checkUp(ctx, &res, target)
	}
	res.settle()
	return res
}

// ValidateTarget tells whether target suits kind, with a message fit to show
// the person who typed it.
func ValidateTarget(kind, target string) error {
	if target == "" {
		return errors.New("the target is empty")
	}
	if strings.TrimSpace(target) != target {
		return errors.New("the target has leading or trailing spaces")
	}
	switch kind {
	case KindHTTPHeaders:
		return validateURL(target, "https")
	case KindHTTPUp:
		return validateURL(target, "https", "http")
	case KindSecurityTxt:
		if strings.Contains(target, "://") {
			return validateURL(target, "https")
		}
		return validateHostPort(target)
	case KindTLS:
		return validateHostPort(target)
	case KindDNS:
		if strings.ContainsAny(target, ":/") {
			return errors.New("give a domain name such as example.com, not a URL or host:port")
		}
		if _, err := netip.ParseAddr(target); err == nil {
			return errors.New("give a domain name such as example.com, not an IP address")
		}
		if err := validateDomain(target); err != nil {
			return err
		}
		if !strings.Contains(strings.TrimSuffix(target, "."), ".") {
			return fmt.Errorf("%q is not a full domain name such as example.com", target)
		}
		return nil
	default:
		return fmt.Errorf("unknown check kind %q (known: %s)", kind, strings.Join(Kinds, ", "))
	}
}

func validateURL(target string, schemes ...string) error {
	if len(target) > maxURL {
		return fmt.Errorf("the URL is longer than %d characters", maxURL)
	}
	u, err := url.Parse(target)
	if err != nil {
		return errors.New("not a valid URL")
	}
	want := strings.Join(schemes, ":// or ") + "://"
	if !hasScheme(u.Scheme, schemes) {
		return fmt.Errorf("the URL must start with %s", want)
	}
	if u.Opaque != "" || u.Host == "" {
		return fmt.Errorf("the URL has no host (write it as %sexample.com)", schemes[0]+"://")
	}
	if u.User != nil {
		return errors.New("the URL must not contain a user name or password")
	}
	if err := validateHost(u.Hostname()); err != nil {
		return err
	}
	if p := u.Port(); p != "" || strings.HasSuffix(u.Host, ":") {
		return validatePort(p)
	}
	return nil
}

func hasScheme(scheme string, schemes []string) bool {
	for _, s := range schemes {
		if strings.EqualFold(scheme, s) {
			return true
		}
	}
	return false
}

// validateHostPort accepts host or host:port, the host a name or an IP
// address (IPv6 in brackets when a port follows).
func validateHostPort(target string) error {
	if strings.Contains(target, "/") {
		return errors.New("give a host name such as example.com or example.com:8443, not a URL")
	}
	host, port, err := splitHostPort(target, "")
	if err != nil {
		return err
	}
	if err := validateHost(host); err != nil {
		return err
	}
	if port != "" || strings.HasSuffix(target, ":") {
		return validatePort(port)
	}
	return nil
}

// splitHostPort splits host[:port]; a bare IPv6 address has no port.
func splitHostPort(target, defaultPort string) (host, port string, err error) {
	if _, err := netip.ParseAddr(target); err == nil {
		return target, defaultPort, nil
	}
	if !strings.Contains(target, ":") {
		return target, defaultPort, nil
	}
	host, port, err = net.SplitHostPort(target)
	if err != nil {
		return "", "", fmt.Errorf("%q is not host or host:port (put an IPv6 address in brackets: [2001:db8::1]:443)", target)
	}
	if port == "" {
		port = defaultPort
	}
	return host, port, nil
}

func validatePort(p string) error {
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 || p[0] == '0' {
		return fmt.Errorf("the port %q is not a number from 1 to 65535", p)
	}
	return nil
}

// validateHost accepts a domain name or an IP address without zone.
func validateHost(host string) error {
	if host == "" {
		return errors.New("the host is empty")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return errors.New("an IPv6 zone is not allowed in the host")
		}
		return nil
	}
	return validateDomain(host)
}

// validateDomain accepts letters-digits-hyphen labels (RFC 1123). Unicode
// names must be given in their xn-- form: converting them would need IDNA
// tables, and the check only sends what the user can see typed.
func validateDomain(name string) error {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 253 {
		return fmt.Errorf("%q is not a valid host name", name)
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 {
			return fmt.Errorf("%q is not a valid host name: every part between dots must have 1 to 63 characters", name)
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return fmt.Errorf("%q is not a valid host name: a part may not start or end with a hyphen", name)
		}
		for _, c := range l {
			switch {
			case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
			case c > 127:
				return fmt.Errorf("%q is not a valid host name: write international names in their xn-- form", name)
			default:
				return fmt.Errorf("%q is not a valid host name: %q is not allowed", name, c)
			}
		}
	}
	if strings.Trim(labels[len(labels)-1], "0123456789") == "" {
		return fmt.Errorf("%q is neither a host name nor an IP address", name)
	}
	return nil
}

// plainError turns a connection or protocol error into a sentence a person
// can act on, without the Go call chain around it.
func plainError(err error) string {
	var addrErr *AddressError
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var opErr *net.OpError
	var netErr net.Error
	var urlErr *url.Error
	switch {
	case errors.As(err, &addrErr):
		return addrErr.Error() + " (not allowed for checks)"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return fmt.Sprintf("the host %s was not found in DNS", dnsErr.Name)
		}
		return fmt.Sprintf("could not look up %s: %s", dnsErr.Name, dnsErr.Err)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	case errors.Is(err, syscall.ECONNREFUSED):
		if errors.As(err, &opErr) && opErr.Addr != nil {
			return fmt.Sprintf("connection refused by %s", opErr.Addr)
		}
		return "connection refused"
	case errors.As(err, &certErr):
		return "the certificate is not trusted: " + strings.TrimPrefix(certErr.Err.Error(), "x509: ")
	case errors.As(err, &urlErr):
		return urlErr.Err.Error()
	}
	return err.Error()
}
