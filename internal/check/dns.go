package check

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/miekg/dns"
)

// resolvConf is where the resolver comes from when none is configured.
const resolvConf = "/etc/resolv.conf"

func (r *Runner) resolverAddr() (string, error) {
	if r.Resolver.Addr != "" {
		return r.Resolver.Addr, nil
	}
	conf, err := dns.ClientConfigFromFile(resolvConf)
	if err != nil || len(conf.Servers) == 0 {
		return "", errors.New("no DNS resolver is configured")
	}
	return net.JoinHostPort(conf.Servers[0], conf.Port), nil
}

// query asks the resolver for name's records of type qtype. found is false
// when the name does not exist (NXDOMAIN); any other failure is an error.
func (r *Runner) query(ctx context.Context, name string, qtype uint16) (answer []dns.RR, found bool, err error) {
	addr, err := r.resolverAddr()
	if err != nil {
		return nil, false, err
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype) // sets RD: the resolver recurses for us
	m.SetEdns0(4096, false)
	c := &dns.Client{Net: "udp", Timeout: r.timeout()}
	in, _, err := c.ExchangeContext(ctx, m, addr)
	if err == nil && in.Truncated {
		// The answer did not fit a datagram: ask again over TCP.
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, m, addr)
	}
	typ := dns.TypeToString[qtype]
	if err != nil {
		return nil, false, fmt.Errorf("the DNS resolver %s did not answer for %s %s: %s", addr, typ, name, plainError(err))
	}
	switch in.Rcode {
	case dns.RcodeSuccess:
		return in.Answer, true, nil
	case dns.RcodeNameError:
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("the DNS resolver answered %s for %s %s", dns.RcodeToString[in.Rcode], typ, name)
}

// txt returns the TXT records of name, each one's strings joined as RFC 7208
// section 3.3 says.
func (r *Runner) txt(ctx context.Context, name string) ([]string, bool, error) {
	answer, found, err := r.query(ctx, name, dns.TypeTXT)
	var out []string
	for _, rr := range answer {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out, found, err
}

// withPrefix keeps the records whose first word is tag (v=spf1, v=DMARC1).
func withPrefix(records []string, tag string) []string {
	var out []string
	for _, rec := range records {
		first, _, _ := strings.Cut(strings.TrimSpace(rec), " ")
		first, _, _ = strings.Cut(first, ";")
		if strings.EqualFold(first, tag) {
			out = append(out, rec)
		}
	}
	return out
}

func (r *Runner) checkDNS(ctx context.Context, res *Result, target string) {
	domain := strings.ToLower(strings.TrimSuffix(target, "."))

	records, found, err := r.txt(ctx, domain)
	if err != nil {
		res.fail(err)
		return
	}
	if !found {
		res.Error = fmt.Sprintf("the domain %s does not exist (NXDOMAIN)", domain)
		return
	}
	judgeSPF(res, withPrefix(records, "v=spf1"))

	records, _, err = r.txt(ctx, "_dmarc."+domain)
	if err != nil {
		res.fail(err)
		return
	}
	judgeDMARC(res, domain, withPrefix(records, "v=DMARC1"))

	if err := r.checkCAA(ctx, res, domain); err != nil {
		res.fail(err)
	}
}

// judgeSPF wants exactly one SPF record (two are a permanent error, RFC 7208
// section 4.5) whose all mechanism does not pass every sender.
func judgeSPF(res *Result, spf []string) {
	switch len(spf) {
	case 0:
		res.assert("spf_present", false, "no TXT record starting with v=spf1")
		return
	case 1:
		res.measure("spf", truncate(spf[0], measuredMax))
		res.assert("spf_present", true, "%s", truncate(spf[0], measuredMax))
	default:
		res.measure("spf", truncate(strings.Join(spf, " | "), measuredMax))
		res.assert("spf_present", false, "%d SPF records; receivers reject all of them when there is more than one", len(spf))
		return
	}
	for _, term := range strings.Fields(strings.ToLower(spf[0]))[1:] {
		// A mechanism without qualifier means "+".
		if term == "all" || term == "+all" {
			res.assert("spf_no_pass_all", false, "%s lets any server on the internet send mail as the domain", term)
			return
		}
	}
	res.assert("spf_no_pass_all", true, "the record does not end in +all")
}

// judgeDMARC wants a policy that acts: quarantine or reject. p=none only
// reports. The organisational-domain fallback of RFC 7489 is not followed:
// it needs the public suffix list, and a checked domain should publish its
// own record.
func judgeDMARC(res *Result, domain string, dmarc []string) {
	at := "_dmarc." + domain
	switch len(dmarc) {
	case 0:
		res.assert("dmarc_policy", false, "no DMARC record at %s", at)
		return
	case 1:
	default:
		res.assert("dmarc_policy", false, "%d DMARC records at %s; receivers ignore them all", len(dmarc), at)
		return
	}
	res.measure("dmarc", truncate(dmarc[0], measuredMax))
	policy := ""
	for _, tag := range strings.Split(dmarc[0], ";") {
		name, value, _ := strings.Cut(tag, "=")
		if strings.EqualFold(strings.TrimSpace(name), "p") {
			policy = strings.ToLower(strings.TrimSpace(value))
			break
		}
	}
	switch policy {
	case "quarantine", "reject":
		res.assert("dmarc_policy", true, "p=%s", policy)
	case "":
		res.assert("dmarc_policy", false, "the DMARC record at %s has no p= policy", at)
	default:
		res.assert("dmarc_policy", false, "p=%s does not ask receivers to quarantine or reject failing mail", policy)
	}
}

// checkCAA looks for the CAA record set that governs domain: its own, or
// failing that its closest ancestor's (RFC 8659 section 3).
func (r *Runner) checkCAA(ctx context.Context, res *Result, domain string) error {
	for name := domain; name != ""; {
		answer, _, err := r.query(ctx, name, dns.TypeCAA)
		if err != nil {
			return err
		}
		var set []string
		for _, rr := range answer {
			if c, ok := rr.(*dns.CAA); ok {
				set = append(set, fmt.Sprintf("%d %s %q", c.Flag, c.Tag, c.Value))
			}
		}
		if len(set) > 0 {
			res.measure("caa", truncate(strings.Join(set, "; "), measuredMax))
			res.measure("caa_at", name)
			if name == domain {
				res.assert("caa_present", true, "%s", strings.Join(set, "; "))
			} else {
				res.assert("caa_present", true, "inherited from %s: %s", name, strings.Join(set, "; "))
			}
			return nil
		}
		_, name, _ = strings.Cut(name, ".")
	}
	res.assert("caa_present", false, "no CAA record on %s or its parent domains", domain)
	return nil
}
