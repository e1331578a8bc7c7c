package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/evidence"
)

func (c *cli) evidenceCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "evidence", Short: "Import results as evidence"}
	var slug string
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Record check results from a JSON or CSV file, as pushes do",
		Long: `Each result names a check (created on its first result, linked to the given controls) and
says whether it passed. JSON: an array of {"check", "passed", "summary", "measured", "control_ids",
"interval_minutes", "title"}. CSV: a header with check and passed, and optionally summary,
control_ids (separated by ;), interval_minutes and title. The whole file is checked first: a
mistake names its place and nothing is recorded. "-" reads standard input (as JSON).`,
		Example: `  evident evidence import --org acme results.json
  evident evidence import --org acme results.csv`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readImport(args[0])
			if err != nil {
				return usageError{err}
			}
			var results []evidence.PushInput
			if strings.EqualFold(filepath.Ext(args[0]), ".csv") {
				results, err = evidence.ParsePushCSV(data)
			} else {
				results, err = evidence.ParsePushJSON(data)
			}
			if err != nil {
				return err
			}
			return c.withApp(cmd.Context(), func(a *app.App) error {
				o, err := a.Orgs.BySlug(cmd.Context(), slug)
				if err != nil {
					return err
				}
				failed := 0
				for i, in := range results {
					res, err := a.Evidence.Push(cmd.Context(), o.ID, in, "", nil)
					if err != nil {
						return fmt.Errorf("result %d (%s): %w (the %d before it were recorded)", i+1, in.Check, err, i)
					}
					if !res.Run.Passed {
						failed++
					}
				}
				fmt.Fprintf(c.stdout, "recorded %d results (%d failed)\n", len(results), failed)
				return nil
			})
		},
	}
	imp.Flags().StringVar(&slug, "org", "", "organisation slug (required)")
	_ = imp.MarkFlagRequired("org")
	cmd.AddCommand(imp)
	return cmd
}
