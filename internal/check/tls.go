package check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
)

// minDaysLeft is how long a certificate must still be valid: three weeks
// leaves time to notice and renew.
const minDaysLeft = 21

// errHandshake marks a failure of the TLS handshake itself, as opposed to
// reaching the server.
var errHandshake = errors.New("TLS handshake failed")

// handshake connects to addr through the guard and completes a TLS handshake
// limited to [minVersion, maxVersion]. The certificate is not verified here:
// checkTLS verifies it itself so that an untrusted chain becomes a failed
// assertion with the certificate's details, not a bare error.
func (r *Runner) handshake(ctx context.Context, addr, host string, minVersion, maxVersion uint16) (tls.ConnectionState, error) {
	conn, err := r.Guard.Dialer(r.timeout()).DialContext(ctx, "tcp", addr)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	tc := tls.Client(conn, &tls.Config{
		ServerName:         host, // not sent as SNI when host is an IP address
		MinVersion:         minVersion,
		MaxVersion:         maxVersion,
		InsecureSkipVerify: true, // checkTLS verifies against RootCAs and the host
	})
	if err := tc.HandshakeContext(ctx); err != nil {
		return tls.ConnectionState{}, fmt.Errorf("%w: %w", errHandshake, err)
	}
	return tc.ConnectionState(), nil
}

func (r *Runner) checkTLS(ctx context.Context, res *Result, target string) {
	host, port, _ := splitHostPort(target, "443")
	addr := net.JoinHostPort(host, port)

	// Offer TLS 1.0 up to 1.3 so a server stuck on an old version shows as a
	// failed assertion naming its version rather than a handshake error.
	state, err := r.handshake(ctx, addr, host, tls.VersionTLS10, tls.VersionTLS13)
	if err != nil {
		res.fail(err)
		return
	}
	res.measure("tls_version", tls.VersionName(state.Version))
	res.measure("cipher_suite", tls.CipherSuiteName(state.CipherSuite))
	res.assert("tls_1_2_or_newer", state.Version >= tls.VersionTLS12, "negotiated %s", tls.VersionName(state.Version))

	_, err = r.handshake(ctx, addr, host, tls.VersionTLS10, tls.VersionTLS11)
	switch {
	case err == nil:
		res.assert("old_versions_refused", false, "the server accepts TLS 1.0/1.1")
	case errors.Is(err, errHandshake):
		res.assert("old_versions_refused", true, "the server refuses TLS 1.0 and 1.1")
	default:
		// Could not reach the server a second time: no verdict either way.
		res.fail(err)
		return
	}

	if len(state.PeerCertificates) == 0 {
		res.assert("certificate_valid", false, "the server sent no certificate")
		return
	}
	leaf := state.PeerCertificates[0]
	now := r.now()
	res.measure("subject", leaf.Subject.String())
	res.measure("issuer", leaf.Issuer.String())
	res.measure("not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	if len(leaf.DNSNames) > 0 {
		res.measure("dns_names", truncate(strings.Join(leaf.DNSNames, ", "), measuredMax))
	}

	intermediates := x509.NewCertPool()
	for _, c := range state.PeerCertificates[1:] {
		intermediates.AddCert(c)
	}
	_, err = leaf.Verify(x509.VerifyOptions{
		DNSName:       host,
		Roots:         r.RootCAs, // nil: the system roots
		Intermediates: intermediates,
		CurrentTime:   now,
	})
	if err != nil {
		res.assert("certificate_valid", false, "%s", certProblem(err, host, now))
	} else {
		res.assert("certificate_valid", true, "valid for %s, issued by %s", host, leaf.Issuer.String())
	}

	left := leaf.NotAfter.Sub(now)
	days := int(math.Floor(left.Hours() / 24))
	res.measure("days_left", strconv.Itoa(days))
	notAfter := leaf.NotAfter.UTC().Format(time.DateOnly)
	switch {
	case left <= 0:
		res.assert("certificate_not_expiring", false, "expired on %s", notAfter)
	case days < minDaysLeft:
		res.assert("certificate_not_expiring", false, "expires in %d days (%s), under %d days", days, notAfter, minDaysLeft)
	default:
		res.assert("certificate_not_expiring", true, "expires in %d days (%s)", days, notAfter)
	}
}

// certProblem says in plain words why a chain did not verify.
func certProblem(err error, host string, now time.Time) string {
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var unknown x509.UnknownAuthorityError
	switch {
	case errors.As(err, &hostErr):
		names := hostErr.Certificate.DNSNames
		for _, ip := range hostErr.Certificate.IPAddresses {
			names = append(names, ip.String())
		}
		return fmt.Sprintf("the certificate is not valid for %s (it names %s)", host, strings.Join(names, ", "))
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		c := invalid.Cert
		if now.Before(c.NotBefore) {
			return fmt.Sprintf("the certificate is not valid before %s", c.NotBefore.UTC().Format(time.RFC3339))
		}
		return fmt.Sprintf("the certificate expired on %s", c.NotAfter.UTC().Format(time.RFC3339))
	case errors.As(err, &unknown):
		return "the certificate is not signed by a trusted authority (issuer " + unknown.Cert.Issuer.String() + ")"
	}
	return "the certificate chain is not valid: " + err.Error()
}
