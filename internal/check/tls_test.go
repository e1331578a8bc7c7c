package check

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

var serial int64

func nextSerial() *big.Int {
	serial++
	return big.NewInt(serial)
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          nextSerial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             testNow.Add(-365 * 24 * time.Hour),
		NotAfter:              testNow.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// leaf issues a server certificate valid from notBefore to notAfter for the
// given names and IP addresses.
func (ca *testCA) leaf(t *testing.T, notBefore, notAfter time.Time, dnsNames []string, ips ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: nextSerial(),
		Subject:      pkix.Name{CommonName: "test server"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     dnsNames,
	}
	for _, ip := range ips {
		tmpl.IPAddresses = append(tmpl.IPAddresses, net.ParseIP(ip))
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// serveTLS runs a TLS server on 127.0.0.1 that completes handshakes and
// hangs up; it returns the server's "host:port".
func serveTLS(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen("tcp4", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				_ = c.(*tls.Conn).Handshake() // failures are what some cases test
			}()
		}
	}()
	return ln.Addr().String()
}

func TestTLSCheck(t *testing.T) {
	ca := newCA(t, "Evident Test CA")
	otherCA := newCA(t, "Unknown CA")
	year := testNow.Add(365 * 24 * time.Hour)
	lastYear := testNow.Add(-365 * 24 * time.Hour)
	ip := []string{"127.0.0.1"}

	tests := []struct {
		name    string
		cert    tls.Certificate
		min     uint16
		max     uint16
		failing []string
	}{
		{"valid, TLS 1.2 and newer only", ca.leaf(t, lastYear, year, nil, ip...), tls.VersionTLS12, 0, nil},
		{"valid, TLS 1.3 only", ca.leaf(t, lastYear, year, nil, ip...), tls.VersionTLS13, 0, nil},
		{"valid, TLS 1.2 exactly", ca.leaf(t, lastYear, year, nil, ip...), tls.VersionTLS12, tls.VersionTLS12, nil},
		{"server default versions", ca.leaf(t, lastYear, year, nil, ip...), 0, 0, nil},
		{"expired", ca.leaf(t, lastYear, testNow.Add(-24*time.Hour), nil, ip...), tls.VersionTLS12, 0,
			[]string{"certificate_valid", "certificate_not_expiring"}},
		{"not yet valid", ca.leaf(t, testNow.Add(24*time.Hour), year, nil, ip...), tls.VersionTLS12, 0,
			[]string{"certificate_valid"}},
		{"wrong host", ca.leaf(t, lastYear, year, []string{"other.example"}), tls.VersionTLS12, 0,
			[]string{"certificate_valid"}},
		{"expiring in 10 days", ca.leaf(t, lastYear, testNow.Add(10*24*time.Hour), nil, ip...), tls.VersionTLS12, 0,
			[]string{"certificate_not_expiring"}},
		{"unknown authority", otherCA.leaf(t, lastYear, year, nil, ip...), tls.VersionTLS12, 0,
			[]string{"certificate_valid"}},
		{"allows TLS 1.0", ca.leaf(t, lastYear, year, nil, ip...), tls.VersionTLS10, 0,
			[]string{"old_versions_refused"}},
		{"stuck on TLS 1.1", ca.leaf(t, lastYear, year, nil, ip...), tls.VersionTLS10, tls.VersionTLS11,
			[]string{"tls_1_2_or_newer", "old_versions_refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := serveTLS(t, &tls.Config{
				Certificates: []tls.Certificate{tt.cert},
				MinVersion:   tt.min,
				MaxVersion:   tt.max,
			})
			r := testRunner()
			r.RootCAs = ca.pool
			res := r.Run(context.Background(), KindTLS, addr)
			expectFailing(t, res, tt.failing...)
			for _, key := range []string{"tls_version", "days_left", "not_after", "issuer"} {
				if res.Measured[key] == "" {
					t.Errorf("measured %s missing: %v", key, res.Measured)
				}
			}
		})
	}
}

func TestTLSCheckMeasures(t *testing.T) {
	ca := newCA(t, "Evident Test CA")
	notAfter := testNow.Add(10*24*time.Hour + time.Hour)
	addr := serveTLS(t, &tls.Config{
		Certificates: []tls.Certificate{ca.leaf(t, testNow.Add(-time.Hour), notAfter, nil, "127.0.0.1")},
	})
	r := testRunner()
	r.RootCAs = ca.pool
	res := r.Run(context.Background(), KindTLS, addr)
	want := map[string]string{
		"days_left":   "10",
		"not_after":   notAfter.Format(time.RFC3339),
		"issuer":      "CN=Evident Test CA",
		"tls_version": "TLS 1.3",
	}
	for k, v := range want {
		if res.Measured[k] != v {
			t.Errorf("measured %s = %q, want %q", k, res.Measured[k], v)
		}
	}
}

func TestTLSCheckErrors(t *testing.T) {
	// A port with nothing listening.
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	// A server that is not TLS: it hangs up at once.
	plainAddr, _ := listen(t)

	ca := newCA(t, "Evident Test CA")
	good := serveTLS(t, &tls.Config{
		Certificates: []tls.Certificate{ca.leaf(t, testNow.Add(-time.Hour), testNow.Add(90*24*time.Hour), nil, "127.0.0.1")},
	})
	_, goodPort, _ := net.SplitHostPort(good)

	tests := []struct {
		name   string
		guard  *Guard
		target string
		want   string
	}{
		{"connection refused", loopbackGuard(), closed, "connection refused"},
		{"not a TLS server", loopbackGuard(), plainAddr, "TLS handshake failed"},
		{"loopback not allowed", &Guard{}, good, "refused to connect to 127.0.0.1"},
		{"nil guard", nil, good, "refused to connect to 127.0.0.1"},
		{"IPv4-mapped loopback not allowed", &Guard{}, "[::ffff:127.0.0.1]:" + goodPort, "refused to connect to 127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRunner()
			r.Guard = tt.guard
			r.RootCAs = ca.pool
			expectError(t, r.Run(context.Background(), KindTLS, tt.target), tt.want)
		})
	}
}
