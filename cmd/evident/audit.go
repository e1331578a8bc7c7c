package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/clock"
)

func (c *cli) auditCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Verify, export and checkpoint the tamper-evident audit log",
		Long: `The audit log is one SHA-256 hash chain per organisation plus one instance chain
(sign-in, passwords, second factor). docs/audit-chain.md describes the algorithm.`}

	var org, checkpointFile string
	verify := &cobra.Command{
		Use:   "verify",
		Short: "Check every hash, sequence number and personal-data commitment of the chains",
		Long: `Checks the organisation's chain (--org), or every chain. With --checkpoint FILE (written
earlier by "evident audit checkpoint"), also checks that the chain still holds the entry the
checkpoint signed, which shows entries cut off the end. Exits 0 when everything verifies, 1
naming the first bad entry otherwise.`,
		Example: `  evident audit verify
  evident audit verify --org acme --checkpoint acme-checkpoint.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var cp *audit.Checkpoint
			if checkpointFile != "" {
				b, err := os.ReadFile(checkpointFile)
				if err != nil {
					return usageError{fmt.Errorf("read checkpoint: %w", unwrapPath(err))}
				}
				cp = &audit.Checkpoint{}
				if err := json.Unmarshal(b, cp); err != nil || cp.Chain == "" || cp.Seq < 1 {
					return usageError{fmt.Errorf("%s is not a checkpoint written by evident audit checkpoint", checkpointFile)}
				}
			}
			return c.withApp(cmd.Context(), func(a *app.App) error {
				chains, err := c.chains(cmd.Context(), a, org, cp)
				if err != nil {
					return err
				}
				var total int64
				for _, ch := range chains {
					var chainCP *audit.Checkpoint
					if cp != nil && cp.Chain == ch.id {
						chainCP = cp
					}
					rep, err := a.Audit.Verify(cmd.Context(), ch.id, chainCP)
					if err != nil {
						return err
					}
					if rep.Problem != nil {
						return fmt.Errorf("chain %s: %s", ch.name, rep.Problem)
					}
					total += rep.Entries
					note := ""
					if chainCP != nil {
						note = fmt.Sprintf(", holds the checkpoint of %s (entry %d)", chainCP.TimeString(), chainCP.Seq)
					}
					fmt.Fprintf(c.stdout, "chain %s: %d entries verified, head %d %s%s\n", ch.name, rep.Entries, rep.HeadSeq, rep.HeadHash, note)
				}
				fmt.Fprintf(c.stdout, "%d entries verified in %d chains\n", total, len(chains))
				return nil
			})
		},
	}
	verify.Flags().StringVar(&org, "org", "", "verify only this organisation's chain (slug; \"instance\" for the instance chain)")
	verify.Flags().StringVar(&checkpointFile, "checkpoint", "", "a checkpoint file the chain must still hold")

	var exportOrg, since string
	export := &cobra.Command{
		Use:   "export",
		Short: "Write a chain as JSON Lines on standard output, for independent verification",
		Long: `Writes the organisation's chain, oldest first, one entry per line, with its hash, the
previous hash and the personal data still held. scripts/verify-audit-export.py verifies such a
file without Evident. The export is itself recorded in the chain (audit.export).`,
		Example: `  evident audit export --org acme > acme-audit.jsonl
  evident audit export --org acme --since 2026-01-01 > acme-2026.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var from time.Time
			if since != "" {
				var err error
				if from, err = time.Parse(time.RFC3339, since); err != nil {
					if from, err = clock.ParseDate(since, time.UTC); err != nil {
						return usageError{fmt.Errorf("--since %q is neither a date (2026-01-01) nor an instant (2026-01-01T00:00:00Z)", since)}
					}
				}
			}
			return c.withApp(cmd.Context(), func(a *app.App) error {
				chains, err := c.chains(cmd.Context(), a, exportOrg, nil)
				if err != nil {
					return err
				}
				ch := chains[0]
				n, err := a.Audit.Export(cmd.Context(), c.stdout, ch.id, from)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stderr, "exported %d entries of chain %s\n", n, ch.name)
				return nil
			})
		},
	}
	export.Flags().StringVar(&exportOrg, "org", "", "the organisation (slug; \"instance\" for the instance chain) (required)")
	export.Flags().StringVar(&since, "since", "", "only entries from this date or instant (UTC)")
	_ = export.MarkFlagRequired("org")

	var cpOrg string
	checkpoint := &cobra.Command{
		Use:   "checkpoint",
		Short: "Sign the head of each chain now and print the checkpoints as JSON",
		Long: `Prints one signed checkpoint per chain (or the one of --org) as JSON. Keep it where the
database's administrators cannot write; "evident audit verify --checkpoint FILE" later proves
that no entry was cut off the end since. Checkpoints are also made hourly and stored.`,
		Example: `  evident audit checkpoint --org acme > acme-checkpoint.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app.App) error {
				chains, err := c.chains(cmd.Context(), a, cpOrg, nil)
				if err != nil {
					return err
				}
				enc := json.NewEncoder(c.stdout)
				enc.SetIndent("", "  ")
				for _, ch := range chains {
					cp, err := a.Audit.Checkpoint(cmd.Context(), ch.id)
					if err != nil {
						return err
					}
					if cp == nil {
						if cpOrg != "" {
							return fmt.Errorf("chain %s has no entries yet: nothing to checkpoint", ch.name)
						}
						continue
					}
					if err := enc.Encode(cp); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	checkpoint.Flags().StringVar(&cpOrg, "org", "", "only this organisation's chain (slug; \"instance\" for the instance chain)")

	cmd.AddCommand(verify, export, checkpoint)
	return cmd
}

type chainName struct{ id, name string }

// chains resolves --org (a slug, "instance" or empty for all) to chains,
// named by slug for people.
func (c *cli) chains(ctx context.Context, a *app.App, slug string, cp *audit.Checkpoint) ([]chainName, error) {
	orgs, err := a.Orgs.List(ctx)
	if err != nil {
		return nil, err
	}
	names := map[string]string{audit.InstanceChain: audit.InstanceChain}
	for _, o := range orgs {
		names[o.ID] = o.Slug
	}
	name := func(id string) string {
		if n, ok := names[id]; ok {
			return n
		}
		return id + " (deleted organisation)"
	}
	switch {
	case slug == audit.InstanceChain:
		return []chainName{{audit.InstanceChain, audit.InstanceChain}}, nil
	case slug != "":
		o, err := a.Orgs.BySlug(ctx, slug)
		if apperr.CodeOf(err) == apperr.NotFound {
			return nil, usageError{fmt.Errorf("no organisation with slug %q (see evident org list)", slug)}
		}
		if err != nil {
			return nil, err
		}
		if cp != nil && cp.Chain != o.ID {
			return nil, usageError{fmt.Errorf("the checkpoint is of chain %s, not of %s", name(cp.Chain), slug)}
		}
		return []chainName{{o.ID, o.Slug}}, nil
	}
	ids, err := a.Audit.Chains(ctx)
	if err != nil {
		return nil, err
	}
	var out []chainName
	for _, id := range ids {
		out = append(out, chainName{id, name(id)})
	}
	if cp != nil && !slices.Contains(ids, cp.Chain) {
		return nil, fmt.Errorf("chain %s of the checkpoint has no entries any more", name(cp.Chain))
	}
	return out, nil
}
