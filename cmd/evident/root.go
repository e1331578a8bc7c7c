package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/evident-isms/evident/internal/app"
)

// cli holds the settings every command reads, filled from flags and then
// from the environment.
type cli struct {
	cfg    app.Config
	stdout io.Writer
	stderr io.Writer
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	c := &cli{cfg: app.Defaults(), stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "evident",
		Short: "Evident: a self-hosted trust center and ISMS",
		Long: `Evident runs a security and compliance programme and publishes it as a trust center.

Every setting is a flag or an environment variable: --database-url is also
EVIDENT_DATABASE_URL, and so on. Secrets come only from the environment, each
also from a file named by *_FILE (EVIDENT_SECRET_KEY_FILE=/run/secrets/key):
  EVIDENT_SECRET_KEY     keyring encrypting secrets at rest (required on PostgreSQL)
  EVIDENT_SIGNING_KEY    Ed25519 keyring signing published documents (required on PostgreSQL)
  EVIDENT_METRICS_TOKEN  bearer token opening /metrics on the main address
  EVIDENT_SMTP_PASSWORD  password for --smtp-username
  EVIDENT_S3_ACCESS_KEY, EVIDENT_S3_SECRET_KEY  credentials for --s3-endpoint
On SQLite, missing keys are generated into the data directory (mode 0600).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			// Only the settings shared by every command come from the
			// environment: EVIDENT_SIGNING must not flip keys rotate --signing.
			return c.loadEnv(cmd.Root().PersistentFlags())
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.CompletionOptions.DisableDefaultCmd = true

	f := root.PersistentFlags()
	f.StringVar(&c.cfg.DataDir, "data", c.cfg.DataDir, "data directory: SQLite database, generated keys, files")
	f.StringVar(&c.cfg.DatabaseURL, "database-url", "", "postgres://… for PostgreSQL; empty for SQLite in the data directory")
	f.StringVar(&c.cfg.Addr, "addr", c.cfg.Addr, "address to serve HTTP on")
	f.StringVar(&c.cfg.BaseURL, "base-url", "", "public URL of this instance, used in every link (default http://ADDR)")
	f.StringVar(&c.cfg.TrustedProxies, "trusted-proxies", "", "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed")
	f.BoolVar(&c.cfg.BehindTLS, "behind-tls", false, "clients reach this instance over HTTPS (through a proxy): send HSTS, secure cookies")
	f.StringVar(&c.cfg.LogFormat, "log-format", c.cfg.LogFormat, "log format: json or text")
	f.StringVar(&c.cfg.LogLevel, "log-level", c.cfg.LogLevel, "log level: debug, info, warn or error")
	f.StringVar(&c.cfg.MetricsAddr, "metrics-addr", "", "separate address serving /metrics without a token (e.g. 127.0.0.1:9090)")
	f.IntVar(&c.cfg.Workers, "workers", c.cfg.Workers, "background job workers")
	f.StringVar(&c.cfg.SMTP.Host, "smtp-host", "", "SMTP server for outgoing mail; without one, mail is held (see: evident mail list)")
	f.IntVar(&c.cfg.SMTP.Port, "smtp-port", c.cfg.SMTP.Port, "SMTP port")
	f.StringVar(&c.cfg.SMTP.Username, "smtp-username", "", "SMTP user name (password in EVIDENT_SMTP_PASSWORD)")
	f.StringVar(&c.cfg.SMTP.TLS, "smtp-tls", c.cfg.SMTP.TLS, "SMTP encryption: starttls, tls or none")
	f.StringVar(&c.cfg.SMTP.From, "mail-from", "", "sender address of outgoing mail")
	f.IntVar(&c.cfg.MaxUploadMB, "max-upload-mb", c.cfg.MaxUploadMB, "largest evidence file accepted, in MB (larger uploads answer 413)")
	f.StringVar(&c.cfg.ClamAVAddr, "clamav-addr", "", "ClamAV daemon scanning uploads: host:port or unix:/path/clamd.ctl (infected files are quarantined)")
	f.StringVar(&c.cfg.S3.Endpoint, "s3-endpoint", "", "S3-compatible storage for evidence files (host:port); default: files in DATA/blobs")
	f.StringVar(&c.cfg.S3.Bucket, "s3-bucket", "", "bucket for evidence files (keys in EVIDENT_S3_ACCESS_KEY and EVIDENT_S3_SECRET_KEY)")
	f.StringVar(&c.cfg.S3.Region, "s3-region", "", "region of the bucket, when the storage needs one")
	f.StringVar(&c.cfg.S3.Prefix, "s3-prefix", "", "prefix of every object key, to share a bucket")
	f.BoolVar(&c.cfg.S3.Insecure, "s3-insecure", false, "reach the storage over plain HTTP (a private network only)")
	f.StringVar(&c.cfg.PublicOrg, "public-org", "", "slug of the organisation this instance publishes at / (its /.well-known/security.txt)")
	f.StringVar(&c.cfg.CheckAllow, "check-allow", "", "comma-separated CIDRs automated checks may reach although private or loopback (e.g. 127.0.0.1/32 for a demo)")
	f.StringVar(&c.cfg.DNSResolver, "dns-resolver", "", "host:port of the DNS resolver the dns check asks (default: the system's)")
	f.IntVar(&c.cfg.WebhookTries, "webhook-max-attempts", c.cfg.WebhookTries, "delivery attempts of a webhook message before it is marked dead (1 to 50)")

	root.AddCommand(c.serveCommand(), c.migrateCommand(), c.orgCommand(), c.userCommand(), c.tokenCommand(),
		c.keysCommand(), c.mailCommand(), c.auditCommand(), c.frameworkCommand(), c.checkCommand(), c.evidenceCommand(), c.hostCommand(), c.versionCommand())
	return root
}

// envName is the variable that sets a flag: --database-url → EVIDENT_DATABASE_URL.
func envName(flag string) string {
	return "EVIDENT_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// loadEnv sets every flag not given on the command line from its variable,
// then reads the secrets, which exist only as variables.
func (c *cli) loadEnv(flags *pflag.FlagSet) error {
	var err error
	flags.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		name := envName(f.Name)
		v, ok, e := setting(name)
		if e != nil {
			err = e
			return
		}
		if ok {
			if e := f.Value.Set(v); e != nil {
				err = usageError{fmt.Errorf("%s: %q is not a valid %s", name, v, f.Value.Type())}
			}
		}
	})
	if err != nil {
		return err
	}
	for name, dst := range map[string]*string{
		"EVIDENT_SECRET_KEY":    &c.cfg.SecretKey,
		"EVIDENT_SIGNING_KEY":   &c.cfg.SigningKey,
		"EVIDENT_METRICS_TOKEN": &c.cfg.MetricsToken,
		"EVIDENT_SMTP_PASSWORD": &c.cfg.SMTP.Password,
		"EVIDENT_S3_ACCESS_KEY": &c.cfg.S3.AccessKey,
		"EVIDENT_S3_SECRET_KEY": &c.cfg.S3.SecretKey,
	} {
		v, _, err := setting(name)
		if err != nil {
			return err
		}
		*dst = v
	}
	return nil
}

// setting reads variable name, or the file named by name_FILE.
func setting(name string) (string, bool, error) {
	v, has := os.LookupEnv(name)
	path, hasFile := os.LookupEnv(name + "_FILE")
	switch {
	case has && hasFile:
		return "", false, usageError{fmt.Errorf("both %s and %s_FILE are set: keep one", name, name)}
	case hasFile:
		b, err := os.ReadFile(path)
		if err != nil {
			return "", false, fmt.Errorf("%s_FILE: cannot read %s: %v", name, path, unwrapPath(err))
		}
		return strings.TrimSpace(string(b)), true, nil
	default:
		return v, has, nil
	}
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
