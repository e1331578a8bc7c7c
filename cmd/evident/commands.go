package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/debug"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/demo"
	"github.com/evident-isms/evident/internal/keys"
	"github.com/evident-isms/evident/internal/mail"
	"github.com/evident-isms/evident/internal/org"
)

// version is set at release build time with -ldflags "-X main.version=…".
var version = "dev"

// open wires the instance for one command: settings checked, data directory
// ready, keys loaded, database migrated.
func (c *cli) open(ctx context.Context) (*app.App, error) {
	return app.Open(ctx, c.cfg, app.NewLogger(c.cfg, c.stderr), clock.System{})
}

// withApp opens the instance, runs fn with it and closes it: the frame of
// every command but serve.
func (c *cli) withApp(ctx context.Context, fn func(a *app.App) error) error {
	a, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer a.Close()
	return fn(a)
}

func (c *cli) serveCommand() *cobra.Command {
	var withDemo bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the console, API and public pages, and run background jobs",
		Long: `Serve the console, API and public pages, and run background jobs; pending
migrations are applied first.

With --demo, an empty instance is first filled with Postwell, a fictional
e-mail SaaS: NIST CSF 1.1 and 2.0 and ISO/IEC 27001 adopted, controls in
every state, evidence of every kind, automated checks calling this server,
subprocessors with a pending change notice, measures, certifications. The
trust center is published at / (unless --public-org names another
organisation), the listening address is added to --check-allow, and a
one-time sign-in link for the demo admin is printed. The demo runs on
SQLite in ./evident-demo unless --data names another directory, and refuses
a directory that holds other organisations. Started again with --demo on
the same directory, it seeds nothing and prints a new sign-in link.`,
		Example: `  evident serve
  evident serve --demo
  evident serve --demo --data "$(mktemp -d)" --addr 127.0.0.1:8399`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if withDemo && !cmd.Flags().Changed("data") && c.cfg.DataDir == app.Defaults().DataDir {
				c.cfg.DataDir = demo.DataDir // never the default directory of real data
			}
			// Take the port first: a port in use fails before the
			// database is touched.
			l, ml, err := app.Listen(c.cfg)
			if err != nil {
				return err
			}
			closeListeners := func() {
				l.Close()
				if ml != nil {
					ml.Close()
				}
			}
			if withDemo {
				// Its checks call this server: the listening address is
				// known only now.
				selfURL, err := demo.Configure(&c.cfg, l.Addr())
				if err == nil {
					_, err = demo.Prepare(cmd.Context(), c.cfg, app.NewLogger(c.cfg, c.stderr), clock.System{}, selfURL, c.stdout)
				}
				if err != nil {
					closeListeners()
					return err
				}
			}
			a, err := c.open(cmd.Context())
			if err != nil {
				closeListeners()
				return err
			}
			defer a.Close()
			if withDemo {
				if err := demo.Announce(cmd.Context(), a, c.stdout); err != nil {
					closeListeners()
					return err
				}
			}
			return a.Serve(cmd.Context(), l, ml)
		},
	}
	cmd.Flags().BoolVar(&withDemo, "demo", false, "seed a fictional organisation into an empty instance and print a sign-in link (SQLite; default data directory ./evident-demo)")
	return cmd
}

func (c *cli) migrateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending database migrations (serve also does this at start)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app.App) error {
				fmt.Fprintf(c.stdout, "%s is up to date\n", a.DB.Where)
				return nil
			})
		},
	}
}

func (c *cli) orgCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "org", Short: "Create and list organisations"}
	var in org.CreateInput
	create := &cobra.Command{
		Use:     "create",
		Short:   "Create an organisation",
		Example: `  evident org create --slug acme --name "Acme" --time-zone Europe/Paris`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app.App) error {
				o, err := a.Orgs.Create(cmd.Context(), in)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "created organisation %s (%s), time zone %s, id %s\n", o.Slug, o.Name, o.TimeZone, o.ID)
				return nil
			})
		},
	}
	create.Flags().StringVar(&in.Slug, "slug", "", "short name in addresses: 3-63 lower-case letters, digits, hyphens (required)")
	create.Flags().StringVar(&in.Name, "name", "", "display name (required)")
	create.Flags().StringVar(&in.TimeZone, "time-zone", "UTC", "IANA time zone in which the organisation's dates are read")
	_ = create.MarkFlagRequired("slug")
	_ = create.MarkFlagRequired("name")

	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List organisations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app.App) error {
				orgs, err := a.Orgs.List(cmd.Context())
				if err != nil {
					return err
				}
				if asJSON {
					type row struct {
						ID        string    `json:"id"`
						Slug      string    `json:"slug"`
						Name      string    `json:"name"`
						TimeZone  string    `json:"time_zone"`
						CreatedAt time.Time `json:"created_at"`
					}
					out := []row{}
					for _, o := range orgs {
						out = append(out, row{o.ID, o.Slug, o.Name, o.TimeZone, o.CreatedAt})
					}
					enc := json.NewEncoder(c.stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(out)
				}
				if len(orgs) == 0 {
					fmt.Fprintln(c.stdout, "no organisations yet: create one with evident org create --slug SLUG --name NAME")
					return nil
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SLUG\tNAME\tTIME ZONE\tCREATED (UTC)")
				for _, o := range orgs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", o.Slug, o.Name, o.TimeZone, o.CreatedAt.Format("2006-01-02 15:04"))
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(create, list)
	return cmd
}

func (c *cli) keysCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Generate and rotate the secret and signing keys"}
	generate := &cobra.Command{
		Use:   "generate",
		Short: "Print fresh values for EVIDENT_SECRET_KEY and EVIDENT_SIGNING_KEY",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			for _, name := range []string{keys.SecretVar, keys.SigningVar} {
				r := &keys.Ring{Entries: []keys.Entry{keys.NewEntry()}}
				fmt.Fprintf(c.stdout, "%s=%s", name, r.String())
			}
			return nil
		},
	}
	var signing bool
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Add a new current secret key (or signing key with --signing), keeping the older ones",
		Long: `Add a new current key to a keyring. Older keys stay in the ring so values and
signatures made with them remain readable.

On SQLite with generated keys, the key file in the data directory is rewritten;
restart evident serve and it re-encrypts every value under the new key.
When the keyring comes from the environment, the new keyring is printed:
set it on every node, restart them, then run evident keys reencrypt.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			k, err := keys.Load(keys.Config{Secret: c.cfg.SecretKey, Signing: c.cfg.SigningKey, DataDir: c.cfg.DataDir, Generate: !c.cfg.UsesPostgres()})
			if err != nil {
				return err
			}
			ring, what := k.Secret, "secret key"
			if signing {
				ring, what = k.Signing, "signing key"
			}
			next := ring.WithNew()
			if ring.File == "" {
				fmt.Fprint(c.stdout, next.String())
				follow := "then run: evident keys reencrypt"
				if signing {
					follow = "published documents are signed with the new key from then on"
				}
				fmt.Fprintf(c.stderr, "%s comes from %s: set it to the keyring printed above on every node and restart them; %s\n", what, ring.Source, follow)
				return nil
			}
			if err := keys.WriteFile(ring.File, next.String()); err != nil {
				return fmt.Errorf("write %s: %w", ring.File, err)
			}
			fmt.Fprintf(c.stdout, "%s rotated: new key %s in %s (%d older kept). Restart evident serve to use it.\n",
				what, next.Current().ID, ring.File, len(ring.Entries))
			return nil
		},
	}
	rotate.Flags().BoolVar(&signing, "signing", false, "rotate the Ed25519 signing key instead of the secret key")
	reencrypt := &cobra.Command{
		Use:   "reencrypt",
		Short: "Re-encrypt every stored secret under the current secret key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app.App) error {
				n, err := a.Keys.Reencrypt(cmd.Context(), a.DB, keys.Encrypted)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "%d values re-encrypted under key %s\n", n, a.Keys.Secret.Current().ID)
				return nil
			})
		},
	}
	cmd.AddCommand(generate, rotate, reencrypt)
	return cmd
}

func (c *cli) mailCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "mail", Short: "Outgoing mail"}
	var state string
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List outgoing mail, newest first (held mail is what no SMTP server was there to send)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch state {
			case "", mail.Queued, mail.Sent, mail.Held, mail.Failed:
			default:
				return usageError{fmt.Errorf("--state %q: use queued, sent, held or failed", state)}
			}
			if limit < 1 || limit > 10000 {
				return usageError{fmt.Errorf("--limit %d: use 1 to 10000", limit)}
			}
			return c.withApp(cmd.Context(), func(a *app.App) error {
				msgs, err := a.Mail.List(cmd.Context(), state, limit)
				if err != nil {
					return err
				}
				if len(msgs) == 0 {
					fmt.Fprintln(c.stdout, "no mail")
					return nil
				}
				for _, m := range msgs {
					fmt.Fprintf(c.stdout, "--- %s  %s  to %s\nSubject: %s\n", m.CreatedAt.Format("2006-01-02 15:04:05 UTC"), m.State, m.To, m.Subject)
					if m.LastError != "" && m.State != mail.Held {
						fmt.Fprintf(c.stdout, "Last error: %s\n", m.LastError)
					}
					fmt.Fprintf(c.stdout, "\n%s\n\n", m.Text)
				}
				return nil
			})
		},
	}
	list.Flags().StringVar(&state, "state", "", "only messages in this state: queued, sent, held or failed")
	list.Flags().IntVar(&limit, "limit", 50, "at most this many messages")
	cmd.AddCommand(list)
	return cmd
}

func (c *cli) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		// No settings needed: skip reading the environment.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		Run: func(*cobra.Command, []string) {
			v, rev := version, ""
			if info, ok := debug.ReadBuildInfo(); ok {
				if v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
					v = info.Main.Version
				}
				for _, s := range info.Settings {
					if s.Key == "vcs.revision" && len(s.Value) >= 12 {
						rev = " " + s.Value[:12]
					}
				}
			}
			fmt.Fprintf(c.stdout, "evident %s%s (%s, %s/%s)\n", v, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		},
	}
}
