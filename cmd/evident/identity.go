package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/identity"
)

func (c *cli) userCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Create accounts and reset links"}
	var slug, email, name, role, passwordFile string
	create := &cobra.Command{
		Use:   "create",
		Short: "Give an account a role in an organisation, creating the account if needed",
		Long: `Give the account of --email a role in the organisation, creating the account if
it does not exist. A new account's password is read from --password-file, or
else from the first line of standard input.`,
		Example: `  evident user create --org acme --email alice@acme.example --role admin --password-file pw.txt
  printf '%s\n' "$PASSWORD" | evident user create --org acme --email bob@acme.example --role member`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := identity.ParseRole(role)
			if err != nil {
				return usageError{err}
			}
			return c.withApp(cmd.Context(), func(a *app.App) error {
				o, err := a.Orgs.BySlug(cmd.Context(), slug)
				if err != nil {
					return err
				}
				in := identity.NewUser{Email: email, Name: name}
				exists, err := a.Identity.HasAccount(cmd.Context(), email)
				if err != nil {
					return err
				}
				if !exists {
					if in.Password, err = readPassword(passwordFile, cmd.InOrStdin()); err != nil {
						return err
					}
				}
				u, created, err := a.Identity.CreateMember(cmd.Context(), o.ID, in, r)
				if err != nil {
					return err
				}
				what := "existing account"
				if created {
					what = "new account"
				}
				fmt.Fprintf(c.stdout, "%s %s is now %s of %s\n", what, u.Email, r, o.Slug)
				return nil
			})
		},
	}
	create.Flags().StringVar(&slug, "org", "", "organisation slug (required)")
	create.Flags().StringVar(&email, "email", "", "e-mail address (required)")
	create.Flags().StringVar(&name, "name", "", "display name of a new account")
	create.Flags().StringVar(&role, "role", "", "admin, manager, member or guest (required)")
	create.Flags().StringVar(&passwordFile, "password-file", "", "file whose first line is the new account's password (default: standard input)")
	for _, f := range []string{"org", "email", "role"} {
		_ = create.MarkFlagRequired(f)
	}

	var resetEmail string
	resetLink := &cobra.Command{
		Use:   "reset-link",
		Short: "Print a one-hour password-reset link for an account (no mail is sent)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app.App) error {
				link, err := a.Identity.ResetLink(cmd.Context(), resetEmail)
				if err != nil {
					return err
				}
				fmt.Fprintln(c.stdout, link)
				return nil
			})
		},
	}
	resetLink.Flags().StringVar(&resetEmail, "email", "", "e-mail address of the account (required)")
	_ = resetLink.MarkFlagRequired("email")
	cmd.AddCommand(create, resetLink)
	return cmd
}

// readPassword reads the first line of a file or of standard input.
func readPassword(file string, stdin io.Reader) (string, error) {
	src := stdin
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("--password-file: %v", unwrapPath(err))
		}
		defer f.Close()
		src = f
	}
	line, err := bufio.NewReader(src).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read the password: %v", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", usageError{fmt.Errorf("a new account needs a password: give --password-file or one line on standard input")}
	}
	return pw, nil
}

func (c *cli) tokenCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "API tokens"}
	var slug, email, role, name, scope string
	var days int
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API token for a member and print it alone on standard output",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := identity.ParseRole(role)
			if err != nil {
				return usageError{err}
			}
			if days < 1 || days > 366 {
				return usageError{fmt.Errorf("--days %d: use 1 to 366", days)}
			}
			return c.withApp(cmd.Context(), func(a *app.App) error {
				o, err := a.Orgs.BySlug(cmd.Context(), slug)
				if err != nil {
					return err
				}
				u, err := a.Identity.UserByEmail(cmd.Context(), a.DB.Read, email)
				if err != nil {
					return err
				}
				if u == nil {
					return fmt.Errorf("no account with e-mail address %q", email)
				}
				_, secret, err := a.Identity.CreateToken(cmd.Context(), identity.NewToken{OrgID: o.ID, UserID: u.ID, Name: name, Role: r,
					ExpiresIn: time.Duration(days) * 24 * time.Hour, Scope: scope})
				if err != nil {
					return err
				}
				fmt.Fprintln(c.stdout, secret)
				return nil
			})
		},
	}
	create.Flags().StringVar(&slug, "org", "", "organisation slug (required)")
	create.Flags().StringVar(&email, "email", "", "owner's e-mail address (required)")
	create.Flags().StringVar(&role, "role", "", "admin, manager, member or guest, at most the owner's role (required)")
	create.Flags().StringVar(&name, "name", "", "what the token is for (required)")
	create.Flags().IntVar(&days, "days", 90, "lifetime in days, 1 to 366")
	create.Flags().StringVar(&scope, "scope", "", "evidence:push for a token that may only push evidence (a CI job's)")
	for _, f := range []string{"org", "email", "role", "name"} {
		_ = create.MarkFlagRequired(f)
	}
	cmd.AddCommand(create)
	return cmd
}
