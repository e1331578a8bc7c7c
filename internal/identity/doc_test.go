package identity_test

import (
	"os"
	"strings"
	"testing"

	"github.com/evident-isms/evident/internal/identity"
)

// matrixTable renders identity.Matrix as the Markdown table of
// docs/permissions.md.
func matrixTable() string {
	var b strings.Builder
	b.WriteString("| permission |")
	for _, r := range identity.Roles {
		b.WriteString(" " + string(r) + " |")
	}
	b.WriteString("\n|---|")
	for range identity.Roles {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, p := range identity.OrgPermissions {
		b.WriteString("| `" + string(p) + "` |")
		for _, r := range identity.Roles {
			if identity.Allowed(r, p) {
				b.WriteString(" ✔ |")
			} else {
				b.WriteString(" – |")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// The permission matrix in the docs is the one in the code.
func TestPermissionDoc(t *testing.T) {
	doc, err := os.ReadFile("../../docs/permissions.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(doc), matrixTable()) {
		t.Fatalf("docs/permissions.md does not contain the matrix of the code; it should contain:\n%s", matrixTable())
	}
	for _, p := range identity.OrgPermissions {
		if len(identity.Matrix[p]) == 0 {
			t.Errorf("permission %s is granted to nobody", p)
		}
	}
}
