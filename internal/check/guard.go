package check

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrForbiddenAddress is the guard's refusal. Connection errors carry it
// through url.Error and net.OpError, so errors.Is finds it at any depth.
var ErrForbiddenAddress = errors.New("forbidden address")

// AddressError names the address the guard refused and why.
type AddressError struct {
	Addr   netip.Addr
	Reason string
}

func (e *AddressError) Error() string {
	if !e.Addr.IsValid() {
		return "refused to connect: " + e.Reason
	}
	return fmt.Sprintf("refused to connect to %s, %s", e.Addr, e.Reason)
}

// Unwrap makes errors.Is(err, ErrForbiddenAddress) true.
func (e *AddressError) Unwrap() error { return ErrForbiddenAddress }

// MaxRedirects is how many redirects the guarded HTTP client follows.
const MaxRedirects = 5

// Guard decides which addresses outbound connections to user-chosen targets
// (checks, monitors, webhooks) may reach. Users choose the host name but DNS
// chooses the address, so the decision is made on the resolved address of
// every connection, redirects included, never on the name.
//
// A nil *Guard allows nothing beyond public addresses.
type Guard struct {
	// Allow lists the operator's exceptions: addresses in these prefixes
	// are let through even though they are loopback, private or link-local.
	// Cloud metadata services stay refused whatever is allowed: no check
	// has a reason to read them, and a broad exception such as
	// 169.254.0.0/16 would otherwise hand out the host's credentials.
	Allow []netip.Prefix
}

// Check returns nil when the guard lets a connection to addr through, else an
// *AddressError that wraps ErrForbiddenAddress.
func (g *Guard) Check(addr netip.Addr) error {
	// IPv4-mapped IPv6 (::ffff:127.0.0.1) reaches the IPv4 address, and a
	// zone never matches a prefix, so both are removed before comparing.
	a := addr.Unmap().WithZone("")
	if !a.IsValid() {
		return &AddressError{Addr: addr, Reason: "not an IP address"}
	}
	reason, metadata := classify(a)
	if reason == "" {
		return nil
	}
	if !metadata && g.allows(a) {
		return nil
	}
	return &AddressError{Addr: a, Reason: reason}
}

func (g *Guard) allows(a netip.Addr) bool {
	if g == nil {
		return false
	}
	for _, p := range g.Allow {
		// An exception written as ::ffff:127.0.0.1/128 means the IPv4 one.
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		if p.Masked().Contains(a) {
			return true
		}
	}
	return false
}

// Dialer returns a dialer that refuses forbidden addresses. The check runs in
// Control, after the address is resolved and before connect(2), so a refused
// address is never sent a packet; it runs again for each address a dual-stack
// dial tries.
func (g *Guard) Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{
		Timeout: orDefault(timeout),
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				// Fail closed: an address we cannot read is not one we let through.
				return &AddressError{Reason: fmt.Sprintf("cannot read the address %q", address)}
			}
			return g.Check(ap.Addr())
		},
	}
}

// HTTPClient returns a client whose every connection, redirects included,
// goes through the guarded dialer. timeout bounds a whole request, body
// included.
func (g *Guard) HTTPClient(timeout time.Duration) *http.Client {
	return g.httpClient(timeout, nil)
}

// httpClient is HTTPClient with the trusted roots replaced when roots is not
// nil (tests use their own certificate authority).
func (g *Guard) httpClient(timeout time.Duration, roots *x509.CertPool) *http.Client {
	timeout = orDefault(timeout)
	transport := &http.Transport{
		// No proxy from the environment: a proxy would make the connection
		// for us, to an address the guard never sees.
		Proxy:                  nil,
		DialContext:            g.Dialer(timeout).DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots},
		TLSHandshakeTimeout:    timeout,
		ResponseHeaderTimeout:  timeout,
		MaxResponseHeaderBytes: 64 << 10,
		IdleConnTimeout:        30 * time.Second,
		// A custom dialer or TLS config turns HTTP/2 off unless asked for.
		ForceAttemptHTTP2: true,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		// Jar stays nil: no cookie is kept between requests or redirects.
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > MaxRedirects {
				return fmt.Errorf("stopped after %d redirects", MaxRedirects)
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return fmt.Errorf("refused a redirect to a %s: URL", req.URL.Scheme)
			}
			return nil
		},
	}
}

// orDefault turns a zero timeout into DefaultTimeout: a request to a
// user-chosen address must never wait forever.
func orDefault(timeout time.Duration) time.Duration {
	if timeout > 0 {
		return timeout
	}
	return DefaultTimeout
}

// rule is one forbidden range and the reason given when an address is in it.
type rule struct {
	prefix netip.Prefix
	reason string
}

func rules(reason string, prefixes ...string) []rule {
	out := make([]rule, 0, len(prefixes))
	for _, p := range prefixes {
		out = append(out, rule{netip.MustParsePrefix(p), reason})
	}
	return out
}

// metadataRules are the cloud metadata services. They are refused even when
// an exception covers them.
var metadataRules = concat(
	rules("the cloud metadata service (AWS, GCP, Azure, Oracle)", "169.254.169.254/32"),
	rules("the AWS metadata service", "fd00:ec2::254/128"),
	rules("the Azure platform service address", "168.63.129.16/32"),
	rules("the Alibaba Cloud metadata service", "100.100.100.200/32"),
)

// forbiddenRules are the ranges that are not the public internet. Order
// matters only for the reason given: narrow ranges come before the wide ones
// that hold them.
//
// Documentation ranges (RFC 5737, RFC 3849, RFC 9637) are refused too: no
// real service lives there, so a target resolving to one is a mistake or a
// probe, and some networks use them internally.
var forbiddenRules = concat(
	rules("the unspecified address", "0.0.0.0/32", "::/128"),
	rules("the broadcast address", "255.255.255.255/32"),
	rules("a loopback address", "127.0.0.0/8", "::1/128"),
	rules(`a "this network" address`, "0.0.0.0/8"),
	rules("a private address (RFC 1918)", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"),
	rules("a carrier-grade NAT address (RFC 6598)", "100.64.0.0/10"),
	rules("a link-local address", "169.254.0.0/16", "fe80::/10"),
	rules("an IETF protocol address (RFC 6890)", "192.0.0.0/24"),
	rules("a documentation address", "192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32", "3fff::/20"),
	rules("a benchmarking address (RFC 2544)", "198.18.0.0/15"),
	rules("a multicast address", "224.0.0.0/4", "ff00::/8"),
	rules("a reserved address", "240.0.0.0/4"),
	rules("a deprecated IPv4-compatible address", "::/96"),
	rules("a local-use NAT64 address (RFC 8215)", "64:ff9b:1::/48"),
	rules("a discard-only address (RFC 6666)", "100::/64"),
	rules("a unique local address (ULA)", "fc00::/7"),
	rules("a deprecated site-local address", "fec0::/10"),
)

func concat(lists ...[]rule) []rule {
	var out []rule
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// Well-known translation prefixes carry an IPv4 address inside the IPv6 one;
// the packet ends up at that IPv4 address, so it is the one judged.
var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// classify says why a (unmapped, without zone) is forbidden, or "" when it is
// a public address. metadata is true for cloud metadata services.
func classify(a netip.Addr) (reason string, metadata bool) {
	for _, r := range metadataRules {
		if r.prefix.Contains(a) {
			return r.reason, true
		}
	}
	for _, r := range forbiddenRules {
		if r.prefix.Contains(a) {
			return r.reason, false
		}
	}
	if a.Is6() {
		b := a.As16()
		var inner netip.Addr
		switch {
		case nat64Prefix.Contains(a):
			inner = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
		case sixToFour.Contains(a):
			inner = netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
		}
		if inner.IsValid() {
			if reason, metadata := classify(inner); reason != "" {
				return fmt.Sprintf("an IPv6 translation of %s, which is %s", inner, reason), metadata
			}
		}
	}
	return "", false
}
