package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"

	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/clock"
)

// DataDir is the data directory of the demo when the operator names none:
// apart from the default one, so that the demo never lands in real data.
const DataDir = "./evident-demo"

// Configure adapts the settings of `serve --demo` once the listener l is
// open: the demo runs on SQLite, is published at / unless the operator
// publishes another organisation, and its checks may reach the listening
// address (loopback, which checks may reach only when allowed). It returns
// the address at which the checks reach the server.
func Configure(cfg *app.Config, l net.Addr) (selfURL string, err error) {
	if cfg.UsesPostgres() {
		return "", errors.New("--demo runs on SQLite in its own data directory: leave --database-url empty")
	}
	tcp, ok := l.(*net.TCPAddr)
	if !ok {
		return "", fmt.Errorf("--demo needs a TCP listener, not %s", l.Network())
	}
	ip, _ := netip.AddrFromSlice(tcp.IP)
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsUnspecified() {
		ip = netip.AddrFrom4([4]byte{127, 0, 0, 1}) // listening everywhere: loopback reaches it
	}
	self := netip.AddrPortFrom(ip, uint16(tcp.Port))
	allow := netip.PrefixFrom(ip, ip.BitLen()).String()
	if cfg.CheckAllow == "" {
		cfg.CheckAllow = allow
	} else if !strings.Contains(","+strings.ReplaceAll(cfg.CheckAllow, " ", "")+",", ","+allow+",") {
		cfg.CheckAllow += "," + allow
	}
	if cfg.PublicOrg == "" {
		cfg.PublicOrg = Slug
	}
	if cfg.BaseURL == "" {
		if _, port, _ := net.SplitHostPort(cfg.Addr); port == "0" {
			cfg.BaseURL = "http://" + self.String() // a port chosen by the system: links must name it
		}
	}
	return "http://" + self.String(), nil
}

// Prepare seeds the demo into the instance cfg describes (or finds it
// seeded by an earlier start), printing on out what it does. It opens the
// instance for the seeding only: serve opens it again once the demo
// organisation exists, so that nothing warns that the organisation
// published at / does not exist.
func Prepare(ctx context.Context, cfg app.Config, log *slog.Logger, clk clock.Clock, selfURL string, out io.Writer) (*Result, error) {
	cfg.PublicOrg = ""
	a, err := app.Open(ctx, cfg, log, clk)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	started := clk.Now()
	if orgs, err := a.Orgs.List(ctx); err == nil && len(orgs) == 0 {
		fmt.Fprintf(out, "Demo: seeding %s, a fictional e-mail SaaS, into %s…\n", Name, a.DB.Where)
	}
	res, err := Seed(ctx, a, Options{SelfURL: selfURL})
	if err != nil {
		return nil, err
	}
	if !res.Created {
		fmt.Fprintf(out, "Demo: %s is seeded already in %s; nothing to do.\n", Name, a.DB.Where)
		for _, t := range res.CheckTargets {
			if !strings.HasPrefix(t, selfURL+"/") && !strings.HasPrefix(t, "https://"+strings.TrimPrefix(selfURL, "http://")+"/") {
				fmt.Fprintf(out, "Demo: its checks call %s, not this server (%s): start it on that address for them to pass.\n", t, selfURL)
				break
			}
		}
		return res, nil
	}
	fmt.Fprintf(out, "Demo: done in %.1f s: %d frameworks, %d controls, %d evidence items "+
		"(%d automated checks calling this server, first runs within a minute), %d measures, %d subprocessors, %d change notices.\n",
		clk.Now().Sub(started).Seconds(), res.Frameworks, res.Controls, res.Evidence, res.Checks, res.Measures,
		res.Subprocessors, res.Notices)
	return res, nil
}

// Announce prints where to go: the trust center, the console and a new
// one-time sign-in link for the demo admin.
func Announce(ctx context.Context, a *app.App, out io.Writer) error {
	link, err := SignInLink(ctx, a)
	if err != nil {
		return err
	}
	base, _, _ := strings.Cut(link, "/app/") // links are built from the base URL
	publicAt := base + "/t/" + Slug + "/"
	if a.Config.PublicOrg == Slug {
		publicAt = base + "/"
	}
	fmt.Fprintf(out, "Trust center: %s\nConsole:      %s/app/login\nDemo admin: %s\n", publicAt, base, link)
	fmt.Fprintf(out, "  (one-time link for %s, valid one hour: choose a password, then sign in. Another start prints a new one.)\n", AdminEmail)
	return nil
}
