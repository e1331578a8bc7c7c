package measure

import (
	"fmt"
	"strings"
	"time"

	"github.com/evident-isms/evident/internal/pdf"
)

// The annex of technical and organisational measures, as a data processing
// agreement attaches it: the public measures grouped by category, each with
// the state its controls show today, so that the annex never claims more
// than the posture.

// backing says in words what a measure's controls show.
func backing(m Measure) string {
	if len(m.Controls) == 0 {
		return "No control is linked to this measure."
	}
	var parts []string
	for _, c := range m.Controls {
		parts = append(parts, c.Title+": "+c.State.Label())
	}
	return "Controls: " + strings.Join(parts, "; ") + "."
}

// group splits measures (already in annex order) by category.
func group(measures []Measure) (titles []string, byTitle map[string][]Measure) {
	byTitle = map[string][]Measure{}
	for _, m := range measures {
		if _, ok := byTitle[m.CategoryTitle]; !ok {
			titles = append(titles, m.CategoryTitle)
		}
		byTitle[m.CategoryTitle] = append(byTitle[m.CategoryTitle], m)
	}
	return titles, byTitle
}

func heading(orgName string, at time.Time) (title, subtitle string) {
	return "Technical and organisational measures",
		fmt.Sprintf("%s · state on %s (UTC); control states are computed from current evidence", orgName, at.UTC().Format("2006-01-02"))
}

// AnnexMarkdown writes the annex as Markdown.
func AnnexMarkdown(orgName string, measures []Measure, at time.Time) []byte {
	var b strings.Builder
	title, subtitle := heading(orgName, at)
	fmt.Fprintf(&b, "# %s\n\n%s\n", escapeMD(title), escapeMD(subtitle))
	titles, byTitle := group(measures)
	if len(titles) == 0 {
		b.WriteString("\nNo public measures.\n")
	}
	for _, t := range titles {
		fmt.Fprintf(&b, "\n## %s\n", escapeMD(t))
		for _, m := range byTitle[t] {
			fmt.Fprintf(&b, "\n### %s\n\n", escapeMD(m.Title))
			if m.Description != "" {
				fmt.Fprintf(&b, "%s\n\n", escapeMD(m.Description))
			}
			fmt.Fprintf(&b, "*%s*\n", escapeMD(backing(m)))
		}
	}
	return []byte(b.String())
}

// escapeMD keeps user text from turning into Markdown structure (links,
// headings, HTML) in whatever renders the annex.
func escapeMD(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`, "#", `\#`, "|", `\|`)
	return r.Replace(s)
}

// AnnexPDF writes the annex as PDF.
func AnnexPDF(orgName string, measures []Measure, at time.Time) ([]byte, error) {
	title, subtitle := heading(orgName, at)
	d := pdf.New(title, subtitle, orgName+" · generated "+at.UTC().Format("2006-01-02")+" by Evident")
	d.SetCreationDate(at)
	titles, byTitle := group(measures)
	if len(titles) == 0 {
		d.Paragraph("No public measures.")
	}
	for _, t := range titles {
		d.Heading(1, t)
		for _, m := range byTitle[t] {
			d.Heading(2, m.Title)
			if m.Description != "" {
				d.Paragraph(m.Description)
			}
			d.Paragraph(backing(m))
		}
	}
	return d.Bytes()
}
