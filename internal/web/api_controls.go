package web

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/catalog"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/identity"
)

// The catalog, controls, applicability, mappings, posture and Statement of
// Applicability operations of the API.

// FrameworkPath and ControlPath are exported because huma reads parameters
// only from exported embedded structs.
type FrameworkPath struct {
	Framework string `path:"framework" maxLength:"64" doc:"A framework identifier, e.g. nist-csf-2.0."`
}

type frameworksOutput struct{ Body []catalog.Framework }

type frameworkOutput struct {
	Body struct {
		Framework    catalog.Framework     `json:"framework"`
		Requirements []catalog.Requirement `json:"requirements" doc:"The tree in document order; parent_ref links a node to its parent."`
	}
}

type frameworkInput struct {
	FrameworkPath
	Baseline  string `query:"baseline" maxLength:"50" doc:"Only the requirements of this baseline (and their ancestors)."`
	Withdrawn bool   `query:"withdrawn" doc:"Include withdrawn requirements."`
}

type mappingsInput struct {
	FrameworkPath
	Ref string `query:"ref" maxLength:"64" doc:"Only mappings touching this requirement."`
}

type mappingsOutput struct{ Body []catalog.Mapping }

type libraryOutput struct{ Body []catalog.LibraryControl }

func (s *Server) registerCatalogAPI(api huma.API) {
	tags := []string{"Catalog"}
	operation(api, identity.ContentRead, huma.Operation{OperationID: "list-frameworks", Method: http.MethodGet, Path: "/frameworks",
		Summary: "List the frameworks of the catalog", Tags: tags},
		func(ctx context.Context, _ *empty) (*frameworksOutput, error) {
			fws, err := s.cfg.Catalog.List(ctx)
			return &frameworksOutput{Body: fws}, err
		})
	operation(api, identity.ContentRead, huma.Operation{OperationID: "get-framework", Method: http.MethodGet, Path: "/frameworks/{framework}",
		Summary: "Read a framework and its requirement tree", Tags: tags},
		func(ctx context.Context, in *frameworkInput) (*frameworkOutput, error) {
			f, err := s.cfg.Catalog.Get(ctx, in.Framework)
			if err != nil {
				return nil, err
			}
			if in.Baseline != "" && !slices.Contains(f.Baselines, in.Baseline) {
				return nil, apperr.Field("baseline", "framework %s has no baseline %q", f.ID, in.Baseline)
			}
			tree, err := s.cfg.Catalog.Requirements(ctx, f.ID)
			if err != nil {
				return nil, err
			}
			out := &frameworkOutput{}
			out.Body.Framework, out.Body.Requirements = *f, filterTree(tree, in.Baseline, in.Withdrawn)
			return out, nil
		})
	operation(api, identity.ContentRead, huma.Operation{OperationID: "list-mappings", Method: http.MethodGet, Path: "/frameworks/{framework}/mappings",
		Summary: "Mappings of a framework's requirements", Tags: tags,
		Description: "NIST's mappings (the CSF 1.1 to 2.0 transition) and the organisation's own."},
		func(ctx context.Context, in *mappingsInput) (*mappingsOutput, error) {
			if _, err := s.cfg.Catalog.Get(ctx, in.Framework); err != nil {
				return nil, err
			}
			ms, err := s.cfg.Controls.Mappings(ctx, apiPrincipal(ctx).Org.ID, in.Framework, in.Ref)
			return &mappingsOutput{Body: ms}, err
		})
	operation(api, identity.ContentRead, huma.Operation{OperationID: "list-library", Method: http.MethodGet, Path: "/library",
		Summary: "The library of common controls", Tags: tags,
		Description: "Evident's own practices with typical evidence, suggested automated checks and Evident's own mapping to CSF 2.0, ISO/IEC 27001:2022 and SOC 2."},
		func(ctx context.Context, _ *empty) (*libraryOutput, error) {
			lib, err := catalog.Library()
			return &libraryOutput{Body: lib}, err
		})
}

// filterTree keeps the requirements of a baseline (with the groups above
// them) and, unless asked, leaves withdrawn ones out.
func filterTree(tree []catalog.Requirement, baseline string, withdrawn bool) []catalog.Requirement {
	keep := map[string]bool{}
	parent := map[string]string{}
	for _, r := range tree {
		parent[r.Ref] = r.ParentRef
	}
	for _, r := range tree {
		if r.Withdrawn && !withdrawn || !r.Assessable {
			continue
		}
		if baseline != "" && !slices.Contains(r.Baselines, baseline) {
			continue
		}
		for ref := r.Ref; ref != "" && !keep[ref]; ref = parent[ref] {
			keep[ref] = true
		}
	}
	out := []catalog.Requirement{}
	for _, r := range tree {
		if keep[r.Ref] {
			out = append(out, r)
		}
	}
	return out
}

// ---- adoption, controls, links ---------------------------------------------

type adoptionsOutput struct{ Body []control.Adoption }

type adoptInput struct {
	Body struct {
		FrameworkID string `json:"framework_id" maxLength:"64"`
		Baseline    string `json:"baseline,omitempty" maxLength:"50" doc:"SP 800-53: LOW, MODERATE, HIGH or PRIVACY."`
		FromLibrary *bool  `json:"from_library,omitempty" doc:"Create one control per library practice mapped to the framework (default true)."`
		UseMappings *bool  `json:"use_mappings,omitempty" doc:"Link existing controls through mappings (default true)."`
	}
}

type adoptOutput struct{ Body control.AdoptResult }

type ControlPath struct {
	ID string `path:"id" maxLength:"64"`
}

type controlBody struct {
	Title              string             `json:"title" minLength:"1" maxLength:"200"`
	Description        string             `json:"description,omitempty" maxLength:"10000"`
	OwnerID            string             `json:"owner_id,omitempty" maxLength:"64" doc:"A member of the organisation."`
	Status             control.Status     `json:"status,omitempty" enum:"planned,in_progress,implemented" doc:"Default planned."`
	Visibility         control.Visibility `json:"visibility,omitempty" enum:"public,private" doc:"Default private."`
	ReviewIntervalDays int                `json:"review_interval_days,omitempty" minimum:"0" maximum:"1096" doc:"Default 365."`
	NextReviewDate     string             `json:"next_review_date,omitempty" maxLength:"10" doc:"YYYY-MM-DD."`
}

func (b controlBody) input() control.Input {
	return control.Input{Title: b.Title, Description: b.Description, OwnerID: b.OwnerID, Status: b.Status,
		Visibility: b.Visibility, ReviewIntervalDays: b.ReviewIntervalDays, NextReviewDate: b.NextReviewDate}
}

type createControlInput struct{ Body controlBody }

type updateControlInput struct {
	ControlPath
	Body controlBody
}

type controlOutput struct{ Body *control.Control }

type controlsInput struct {
	Q          string `query:"q" maxLength:"200" doc:"Text in the title or description."`
	Status     string `query:"status" maxLength:"20" doc:"planned, in_progress or implemented."`
	Visibility string `query:"visibility" maxLength:"20" doc:"public or private."`
	State      string `query:"state" maxLength:"20" doc:"failing, not_implemented, stale, unevidenced, evidenced or verified."`
	Owner      string `query:"owner" maxLength:"64"`
	Framework  string `query:"framework" maxLength:"64" doc:"Linked to a requirement of this framework."`
	Ref        string `query:"ref" maxLength:"64" doc:"With framework: linked to this requirement."`
	Unlinked   bool   `query:"unlinked" doc:"Linked to no requirement."`
}

type controlsOutput struct{ Body []control.Listed }

type linkInput struct {
	ControlPath
	Body struct {
		FrameworkID string `json:"framework_id" maxLength:"64"`
		Ref         string `json:"ref" maxLength:"64"`
	}
}

type unlinkInput struct {
	ControlPath
	FrameworkID string `query:"framework_id" maxLength:"64"`
	Ref         string `query:"ref" maxLength:"64"`
}

type applicabilityInput struct {
	Body struct {
		FrameworkID   string `json:"framework_id" maxLength:"64"`
		Ref           string `json:"ref" maxLength:"64"`
		Applicable    bool   `json:"applicable"`
		Justification string `json:"justification,omitempty" maxLength:"2000" doc:"Required, 10 characters or more, when not applicable. It is public."`
	}
}

type mappingBody struct {
	FromFramework string `json:"from_framework" maxLength:"64"`
	FromRef       string `json:"from_ref" maxLength:"64"`
	ToFramework   string `json:"to_framework" maxLength:"64"`
	ToRef         string `json:"to_ref" maxLength:"64"`
	Relation      string `json:"relation" enum:"equivalent,subset,superset,related"`
	Note          string `json:"note,omitempty" maxLength:"2000"`
}

type addMappingInput struct{ Body mappingBody }

type removeMappingInput struct {
	FromFramework string `query:"from_framework" maxLength:"64"`
	FromRef       string `query:"from_ref" maxLength:"64"`
	ToFramework   string `query:"to_framework" maxLength:"64"`
	ToRef         string `query:"to_ref" maxLength:"64"`
}

type posturesOutput struct{ Body []*control.Posture }

type postureOutput struct{ Body *control.Posture }

type soaInput struct {
	FrameworkPath
	Format string `query:"format" enum:"json,csv" default:"json"`
}

type soaOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

func (s *Server) registerControlAPI(api huma.API) {
	org := func(ctx context.Context) string { return apiPrincipal(ctx).Org.ID }
	ctl := []string{"Controls"}
	operation(api, identity.ContentRead, huma.Operation{OperationID: "list-adoptions", Method: http.MethodGet, Path: "/adoptions",
		Summary: "Frameworks the organisation has adopted", Tags: ctl},
		func(ctx context.Context, _ *empty) (*adoptionsOutput, error) {
			list, err := s.cfg.Controls.Adoptions(ctx, org(ctx))
			return &adoptionsOutput{Body: list}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "adopt-framework", Method: http.MethodPost, Path: "/adoptions",
		Summary: "Adopt a framework", Tags: ctl, DefaultStatus: http.StatusCreated,
		Description: "From the library, one control per practice is created (or the one an earlier adoption created is reused) " +
			"and linked to the practice's requirements in this framework."},
		func(ctx context.Context, in *adoptInput) (*adoptOutput, error) {
			opt := control.AdoptOptions{Baseline: in.Body.Baseline, FromLibrary: true, UseMappings: true}
			if in.Body.FromLibrary != nil {
				opt.FromLibrary = *in.Body.FromLibrary
			}
			if in.Body.UseMappings != nil {
				opt.UseMappings = *in.Body.UseMappings
			}
			res, err := s.cfg.Controls.Adopt(ctx, org(ctx), in.Body.FrameworkID, opt)
			if err != nil {
				return nil, err
			}
			return &adoptOutput{Body: *res}, nil
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "unadopt-framework", Method: http.MethodDelete, Path: "/adoptions/{framework}",
		Summary: "Stop using a framework", Tags: ctl, DefaultStatus: http.StatusNoContent,
		Description: "Removes the framework's links and applicability decisions; the controls stay."},
		func(ctx context.Context, in *FrameworkPath) (*empty, error) {
			return &empty{}, s.cfg.Controls.Unadopt(ctx, org(ctx), in.Framework)
		})
	operation(api, identity.ContentRead, huma.Operation{OperationID: "list-controls", Method: http.MethodGet, Path: "/controls",
		Summary: "List the organisation's controls", Tags: ctl},
		func(ctx context.Context, in *controlsInput) (*controlsOutput, error) {
			st, err := control.ParseStatus(in.Status)
			if err != nil {
				return nil, err
			}
			vis, err := control.ParseVisibility(in.Visibility)
			if err != nil {
				return nil, err
			}
			state, err := control.ParseState(in.State)
			if err != nil {
				return nil, err
			}
			list, err := s.cfg.Controls.List(ctx, org(ctx), control.ListFilter{Status: st, Visibility: vis, State: state,
				OwnerID: in.Owner, FrameworkID: in.Framework, Ref: in.Ref, Query: in.Q, Unlinked: in.Unlinked})
			return &controlsOutput{Body: list}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "create-control", Method: http.MethodPost, Path: "/controls",
		Summary: "Create a control", Tags: ctl, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *createControlInput) (*controlOutput, error) {
			c, err := s.cfg.Controls.Create(ctx, org(ctx), in.Body.input())
			return &controlOutput{Body: c}, err
		})
	operation(api, identity.ContentRead, huma.Operation{OperationID: "get-control", Method: http.MethodGet, Path: "/controls/{id}",
		Summary: "Read a control with its links", Tags: ctl},
		func(ctx context.Context, in *ControlPath) (*controlOutput, error) {
			c, err := s.cfg.Controls.Get(ctx, org(ctx), in.ID)
			return &controlOutput{Body: c}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "update-control", Method: http.MethodPut, Path: "/controls/{id}",
		Summary: "Replace a control's fields", Tags: ctl},
		func(ctx context.Context, in *updateControlInput) (*controlOutput, error) {
			c, err := s.cfg.Controls.Update(ctx, org(ctx), in.ID, in.Body.input())
			return &controlOutput{Body: c}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "delete-control", Method: http.MethodDelete, Path: "/controls/{id}",
		Summary: "Delete a control and its links", Tags: ctl, DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *ControlPath) (*empty, error) {
			return &empty{}, s.cfg.Controls.Delete(ctx, org(ctx), in.ID)
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "link-control", Method: http.MethodPost, Path: "/controls/{id}/links",
		Summary: "Link a control to a requirement of an adopted framework", Tags: ctl, DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *linkInput) (*empty, error) {
			return &empty{}, s.cfg.Controls.Link(ctx, org(ctx), in.ID, in.Body.FrameworkID, in.Body.Ref)
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "unlink-control", Method: http.MethodDelete, Path: "/controls/{id}/links",
		Summary: "Remove a link", Tags: ctl, DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *unlinkInput) (*empty, error) {
			return &empty{}, s.cfg.Controls.Unlink(ctx, org(ctx), in.ID, in.FrameworkID, in.Ref)
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "set-applicability", Method: http.MethodPut, Path: "/applicability",
		Summary: "Mark a requirement applicable or not applicable", Tags: ctl, DefaultStatus: http.StatusNoContent,
		Description: "A requirement marked not applicable needs a justification; it is shown publicly and in the Statement of Applicability."},
		func(ctx context.Context, in *applicabilityInput) (*empty, error) {
			b := in.Body
			return &empty{}, s.cfg.Controls.SetApplicability(ctx, org(ctx), b.FrameworkID, b.Ref, b.Applicable, b.Justification)
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "add-mapping", Method: http.MethodPost, Path: "/mappings",
		Summary: "Add a mapping between two requirements", Tags: ctl, DefaultStatus: http.StatusNoContent,
		Description: "Mappings other than \"related\" link existing controls when a framework is adopted later."},
		func(ctx context.Context, in *addMappingInput) (*empty, error) {
			b := in.Body
			return &empty{}, s.cfg.Controls.AddMapping(ctx, org(ctx), control.MappingInput{FromFramework: b.FromFramework, FromRef: b.FromRef,
				ToFramework: b.ToFramework, ToRef: b.ToRef, Relation: b.Relation, Note: b.Note})
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "remove-mapping", Method: http.MethodDelete, Path: "/mappings",
		Summary: "Remove one of the organisation's mappings", Tags: ctl, DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *removeMappingInput) (*empty, error) {
			return &empty{}, s.cfg.Controls.RemoveMapping(ctx, org(ctx), control.MappingInput{FromFramework: in.FromFramework,
				FromRef: in.FromRef, ToFramework: in.ToFramework, ToRef: in.ToRef})
		})

	post := []string{"Posture"}
	operation(api, identity.ContentRead, huma.Operation{OperationID: "list-posture", Method: http.MethodGet, Path: "/posture",
		Summary: "Posture against every adopted framework", Tags: post,
		Description: "Computed now from controls, links, applicability and evidence; never stored. The headline is " +
			"(evidenced + verified) / applicable."},
		func(ctx context.Context, _ *empty) (*posturesOutput, error) {
			ps, err := s.cfg.Controls.Postures(ctx, org(ctx))
			return &posturesOutput{Body: ps}, err
		})
	operation(api, identity.ContentRead, huma.Operation{OperationID: "get-posture", Method: http.MethodGet, Path: "/posture/{framework}",
		Summary: "Posture against one adopted framework", Tags: post},
		func(ctx context.Context, in *FrameworkPath) (*postureOutput, error) {
			p, err := s.cfg.Controls.Posture(ctx, org(ctx), in.Framework)
			return &postureOutput{Body: p}, err
		})
	operation(api, identity.ContentRead, huma.Operation{OperationID: "get-soa", Method: http.MethodGet, Path: "/soa/{framework}",
		Summary: "Statement of Applicability", Tags: post,
		Description: "Every requirement in scope: applicability and justification, its controls and their states; JSON or CSV.",
		Responses: map[string]*huma.Response{"200": {Description: "The statement", Content: map[string]*huma.MediaType{
			"application/json": {}, "text/csv": {}}}}},
		func(ctx context.Context, in *soaInput) (*soaOutput, error) {
			p, err := s.cfg.Controls.StatementOfApplicability(ctx, org(ctx), in.Framework)
			if err != nil {
				return nil, err
			}
			out := &soaOutput{ContentDisposition: `attachment; filename="soa-` + p.FrameworkID + `.` + in.Format + `"`}
			if in.Format == "csv" {
				out.ContentType, out.Body = "text/csv; charset=utf-8", control.SoACSV(p)
				return out, nil
			}
			out.ContentType = "application/json"
			out.Body, err = json.MarshalIndent(p, "", "  ")
			return out, err
		})
}
