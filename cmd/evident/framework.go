package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/evident-isms/evident/internal/app"
	"github.com/evident-isms/evident/internal/catalog"
)

func (c *cli) frameworkCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "framework", Short: "List and import frameworks",
		Long: `The catalog holds the frameworks every organisation of the instance can adopt: the
built-in ones (NIST CSF 1.1 and 2.0, ISO/IEC 27001:2022, SOC 2, NIST SP 800-53 Rev. 5) and
those imported from OSCAL catalogs or Evident's JSON and CSV formats (docs/frameworks.md).`}

	list := &cobra.Command{
		Use:   "list",
		Short: "Show every framework with its number of requirements",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return c.withApp(cmd.Context(), func(a *app.App) error {
				fws, err := a.Catalog.List(cmd.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "IDENTIFIER\tNAME\tVERSION\tREQUIREMENTS\tSOURCE")
				for _, f := range fws {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", f.ID, shorten(f.Name, 60), f.Version, f.Count, f.Source)
				}
				return tw.Flush()
			})
		},
	}

	var meta catalog.Meta
	var format string
	imp := &cobra.Command{
		Use:   "import FILE",
		Short: "Import a framework from an OSCAL catalog (JSON), or Evident's JSON or CSV format",
		Long: `Reads FILE ("-" for standard input), checks all of it and stores it only when it is valid:
an OSCAL catalog is validated against the OSCAL JSON Schema of its oscal-version first. A
mistake is reported with the place in the file and nothing is stored. The format is taken
from --format, else from the file: a .csv name means CSV, a JSON object with "catalog" is
OSCAL, any other JSON is Evident's format. CSV needs --id, --name and --version; for OSCAL
they are optional (by default the identifier comes from the catalog's title).
Files are limited to 20 MiB and 20,000 requirements.`,
		Example: `  evident framework import NIST_SP-800-53_rev5_catalog.json --id sp800-53-5.0.1
  evident framework import acme-standard.json
  evident framework import controls.csv --id acme-sdlc --name "Acme SDLC standard" --version 2026.1`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readImport(args[0])
			if err != nil {
				return usageError{err}
			}
			def, err := parseImport(data, args[0], format, meta)
			if err != nil {
				return err
			}
			return c.withApp(cmd.Context(), func(a *app.App) error {
				f, err := a.Catalog.Import(cmd.Context(), def)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "imported %s (%s %s): %d requirements\n", f.ID, f.Name, f.Version, f.Count)
				return nil
			})
		},
	}
	imp.Flags().StringVar(&format, "format", "", "oscal, json or csv (default: from the file)")
	imp.Flags().StringVar(&meta.ID, "id", "", "identifier of the framework (lower case, digits, dots, hyphens)")
	imp.Flags().StringVar(&meta.Name, "name", "", "name of the framework (CSV; overrides OSCAL's title)")
	imp.Flags().StringVar(&meta.Version, "version", "", "version of the framework (CSV; overrides OSCAL's version)")
	cmd.AddCommand(list, imp)
	return cmd
}

func readImport(name string) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = os.Stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", name, unwrapPath(err))
		}
		defer f.Close()
		r = f
	}
	// One byte over the limit is enough to refuse the file.
	data, err := io.ReadAll(io.LimitReader(r, catalog.MaxImportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > catalog.MaxImportBytes {
		return nil, fmt.Errorf("%s is larger than %d MiB, the limit of an import", name, catalog.MaxImportBytes>>20)
	}
	return data, nil
}

// parseImport picks the format and reads the definition.
func parseImport(data []byte, name, format string, meta catalog.Meta) (*catalog.Definition, error) {
	if format == "" {
		switch {
		case strings.EqualFold(filepath.Ext(name), ".csv"):
			format = "csv"
		case bytes.Contains(firstBytes(data, 4096), []byte(`"catalog"`)):
			format = "oscal"
		default:
			format = "json"
		}
	}
	switch format {
	case "oscal":
		def, err := catalog.ParseOSCAL(data)
		if err != nil {
			return nil, err
		}
		if meta.Name != "" {
			def.Name = meta.Name
		}
		if meta.Version != "" {
			def.Version = meta.Version
		}
		def.ID = meta.ID
		if def.ID == "" {
			def.ID = catalog.SuggestID(def.Name, def.Version)
		}
		return def, nil
	case "json":
		def, err := catalog.ParseCustomJSON(data)
		if err != nil {
			return nil, err
		}
		if meta.ID != "" {
			def.ID = meta.ID
		}
		return def, nil
	case "csv":
		if meta.ID == "" || meta.Name == "" || meta.Version == "" {
			return nil, usageError{fmt.Errorf("a CSV import needs --id, --name and --version")}
		}
		return catalog.ParseCustomCSV(data, meta)
	}
	return nil, usageError{fmt.Errorf("--format %q is not one of oscal, json, csv", format)}
}

func firstBytes(b []byte, n int) []byte {
	if len(b) < n {
		return b
	}
	return b[:n]
}

// shorten cuts a long name for a table column.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
