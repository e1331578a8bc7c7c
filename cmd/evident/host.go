package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/org"
)

func (c *cli) hostCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "host",
		Short: "Map host names to organisations' public sites",
		Long: `A host name mapped to an organisation serves that organisation's public site (its trust
center and /.well-known/security.txt) at the root of the name, as --public-org does at this
instance's own address. Only the operator maps names; each name belongs to one organisation.

Evident neither changes DNS nor obtains certificates. For each name:
  - point its DNS at this server (an A/AAAA record, or a CNAME to the instance's name);
  - terminate TLS for it: a reverse proxy holding a certificate for the name forwards to
    Evident with the Host header kept, and serve runs with --behind-tls.
Links in e-mails and feeds are still built from --base-url, never from the name a visitor
used.`,
	}

	var slug string
	add := &cobra.Command{
		Use:   "add HOST",
		Short: "Serve an organisation's public site at HOST",
		Long: `Map HOST (a DNS name such as trust.acme.example, without scheme, port or path; an
internationalised name in punycode) to the organisation --org. A name mapped already, to any
organisation, is refused: remove it first.`,
		Example: `  evident host add trust.acme.example --org acme`,
		Args:    hostArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withApp(cmd.Context(), func(a *app.App) error {
				if err := a.Orgs.AddHost(cmd.Context(), args[0], slug); err != nil {
					return err
				}
				name, _ := org.NormaliseHost(args[0]) // valid: it was just stored
				fmt.Fprintf(c.stdout, "%s now serves the public site of %s: point its DNS at this server and terminate TLS for it\n",
					name, org.NormaliseSlug(slug))
				return nil
			})
		},
	}
	add.Flags().StringVar(&slug, "org", "", "slug of the organisation whose public site the name serves (required)")
	_ = add.MarkFlagRequired("org")

	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List mapped host names and their organisations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app.App) error {
				hosts, err := a.Orgs.Hosts(cmd.Context())
				if err != nil {
					return err
				}
				if asJSON {
					type row struct {
						Host       string    `json:"host"`
						OrgID      string    `json:"org_id"`
						OrgSlug    string    `json:"org_slug"`
						OrgDeleted bool      `json:"org_deleted"`
						CreatedAt  time.Time `json:"created_at"`
					}
					out := []row{}
					for _, h := range hosts {
						out = append(out, row{h.Name, h.OrgID, h.OrgSlug, h.OrgDeleted, h.CreatedAt})
					}
					enc := json.NewEncoder(c.stdout)
					enc.SetIndent("", "  ")
					return enc.Encode(out)
				}
				if len(hosts) == 0 {
					fmt.Fprintln(c.stdout, "no host names mapped: map one with evident host add HOST --org SLUG")
					return nil
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "HOST\tORGANISATION\tADDED (UTC)")
				for _, h := range hosts {
					owner := h.OrgSlug
					if h.OrgDeleted {
						owner += " (deleted: serves nothing)"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\n", h.Name, owner, h.CreatedAt.UTC().Format("2006-01-02 15:04"))
				}
				return tw.Flush()
			})
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")

	remove := &cobra.Command{
		Use:     "remove HOST",
		Short:   "Stop serving a public site at HOST",
		Example: `  evident host remove trust.acme.example`,
		Args:    hostArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withApp(cmd.Context(), func(a *app.App) error {
				if err := a.Orgs.RemoveHost(cmd.Context(), args[0]); err != nil {
					return err
				}
				name, _ := org.NormaliseHost(args[0]) // valid: it was just removed
				fmt.Fprintf(c.stdout, "%s no longer serves a public site\n", name)
				return nil
			})
		},
	}
	cmd.AddCommand(add, list, remove)
	return cmd
}

// hostArg requires exactly one HOST argument; anything else is a mistake in
// the command line.
func hostArg(_ *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageError{fmt.Errorf("give exactly one host name, such as trust.example.com (%d given)", len(args))}
	}
	return nil
}
