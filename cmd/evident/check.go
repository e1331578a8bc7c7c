package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/evident-isms/evident/internal/app"
)

func (c *cli) checkCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "check", Short: "Run automated checks",
		Long: `Automated checks are evidence items that re-verify claims from outside (TLS, security
headers, DNS, security.txt, availability). They run on their interval as jobs of "evident serve";
this command runs one at once.`}
	run := &cobra.Command{
		Use:     "run ID",
		Short:   "Run one check now and record its result",
		Example: "  evident check run 01a2086e-f007-7305-8c94-df4853961a27",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.withApp(cmd.Context(), func(a *app.App) error {
				orgID, err := a.Evidence.OrgOfEvidence(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				run, err := a.Evidence.RunCheck(cmd.Context(), orgID, args[0])
				if err != nil {
					return err
				}
				verdict := "passed"
				if !run.Passed {
					verdict = "failed"
				}
				fmt.Fprintf(c.stdout, "check %s %s in %d ms\n", args[0], verdict, run.DurationMS)
				if run.Error != "" {
					fmt.Fprintf(c.stdout, "  error: %s\n", run.Error)
				}
				for _, a := range run.Assertions {
					mark := "ok  "
					if !a.Passed {
						mark = "FAIL"
					}
					fmt.Fprintf(c.stdout, "  %s %s: %s\n", mark, a.Name, a.Detail)
				}
				return nil
			})
		},
	}
	cmd.AddCommand(run)
	return cmd
}
