package check

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// testZone is what the in-process resolver knows. Names without a record of
// the asked type answer NOERROR with no data; names not listed at all answer
// NXDOMAIN, except servfail.test, which always fails.
var testZone = []string{
	`good.test. TXT "v=spf1 include:_spf.example.net -all"`,
	`good.test. TXT "google-site-verification=abc"`,
	`_dmarc.good.test. TXT "v=DMARC1; p=reject; rua=mailto:dmarc@good.test"`,
	`good.test. CAA 0 issue "letsencrypt.org"`,
	`good.test. CAA 0 iodef "mailto:security@good.test"`,

	// Inherits CAA from good.test (RFC 8659 tree climbing).
	`sub.good.test. TXT "v=spf1 -all"`,
	`_dmarc.sub.good.test. TXT "v=DMARC1; p=quarantine"`,

	// One SPF record split into several strings.
	`split.test. TXT "v=spf1 ip4:192.0.2.0/24 " "~all"`,
	`_dmarc.split.test. TXT "v=DMARC1;p=reject"`,
	`split.test. CAA 0 issue "pki.goog"`,

	`passall.test. TXT "v=spf1 +all"`,
	`_dmarc.passall.test. TXT "v=DMARC1; p=reject"`,
	`passall.test. CAA 0 issue "letsencrypt.org"`,

	`bareall.test. TXT "v=spf1 mx all"`,
	`_dmarc.bareall.test. TXT "v=DMARC1; p=reject"`,
	`bareall.test. CAA 0 issue "letsencrypt.org"`,

	`nospf.test. TXT "some other text"`,
	`_dmarc.nospf.test. TXT "v=DMARC1; p=reject"`,
	`nospf.test. CAA 0 issue "letsencrypt.org"`,

	`twospf.test. TXT "v=spf1 -all"`,
	`twospf.test. TXT "v=spf1 mx -all"`,
	`_dmarc.twospf.test. TXT "v=DMARC1; p=reject"`,
	`twospf.test. CAA 0 issue "letsencrypt.org"`,

	`pnone.test. TXT "v=spf1 -all"`,
	`_dmarc.pnone.test. TXT "v=DMARC1; p=none; rua=mailto:d@pnone.test"`,
	`pnone.test. CAA 0 issue "letsencrypt.org"`,

	`nodmarc.test. TXT "v=spf1 -all"`,
	`nodmarc.test. CAA 0 issue "letsencrypt.org"`,

	`nocaa.test. TXT "v=spf1 -all"`,
	`_dmarc.nocaa.test. TXT "v=DMARC1; p=reject"`,
}

// serveDNS starts a UDP resolver on 127.0.0.1 answering from testZone and
// returns its address.
func serveDNS(t *testing.T) string {
	t.Helper()
	records := map[string][]dns.RR{}
	for _, line := range testZone {
		rr, err := dns.NewRR(line)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		records[rr.Header().Name] = append(records[rr.Header().Name], rr)
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.RecursionAvailable = true
		q := req.Question[0]
		name := strings.ToLower(q.Name)
		rrs, known := records[name]
		switch {
		case name == "servfail.test.":
			m.Rcode = dns.RcodeServerFailure
		case !known:
			m.Rcode = dns.RcodeNameError
		}
		for _, rr := range rrs {
			if rr.Header().Rrtype == q.Qtype {
				m.Answer = append(m.Answer, rr)
			}
		}
		w.WriteMsg(m)
	})
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := &dns.Server{PacketConn: pc, Handler: handler, NotifyStartedFunc: func() { close(started) }}
	go srv.ActivateAndServe()
	<-started
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

func TestDNSCheck(t *testing.T) {
	r := testRunner()
	r.Resolver = DNSResolver{Addr: serveDNS(t)}
	tests := []struct {
		domain   string
		failing  []string
		measured map[string]string
	}{
		{"good.test", nil, map[string]string{
			"spf":    "v=spf1 include:_spf.example.net -all",
			"dmarc":  "v=DMARC1; p=reject; rua=mailto:dmarc@good.test",
			"caa_at": "good.test",
		}},
		{"GOOD.test.", nil, nil},
		{"sub.good.test", nil, map[string]string{"caa_at": "good.test"}},
		{"split.test", nil, map[string]string{"spf": "v=spf1 ip4:192.0.2.0/24 ~all"}},
		{"passall.test", []string{"spf_no_pass_all"}, nil},
		{"bareall.test", []string{"spf_no_pass_all"}, nil},
		{"nospf.test", []string{"spf_present"}, nil},
		{"twospf.test", []string{"spf_present"}, nil},
		{"pnone.test", []string{"dmarc_policy"}, nil},
		{"nodmarc.test", []string{"dmarc_policy"}, nil},
		{"nocaa.test", []string{"caa_present"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.domain, func(t *testing.T) {
			res := r.Run(context.Background(), KindDNS, tt.domain)
			expectFailing(t, res, tt.failing...)
			for k, v := range tt.measured {
				if res.Measured[k] != v {
					t.Errorf("measured %s = %q, want %q", k, res.Measured[k], v)
				}
			}
		})
	}
}

func TestDNSCheckErrors(t *testing.T) {
	// A UDP port with nothing behind it: the kernel answers "port unreachable".
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	silent := pc.LocalAddr().String()
	pc.Close()

	resolver := serveDNS(t)
	tests := []struct {
		name, resolver, domain, want string
	}{
		{"domain does not exist", resolver, "missing.test", "does not exist"},
		{"resolver fails", resolver, "servfail.test", "SERVFAIL"},
		{"resolver unreachable", silent, "good.test", "did not answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testRunner()
			r.Resolver = DNSResolver{Addr: tt.resolver}
			expectError(t, r.Run(context.Background(), KindDNS, tt.domain), tt.want)
		})
	}
}
