package web

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evident-isms/evident/internal/identity"
	"github.com/evident-isms/evident/internal/subprocessor"
)

// Subprocessors through the API, and their registers as CSV.

// SubprocessorPath is exported because huma reads parameters only from
// exported embedded structs.
type SubprocessorPath struct {
	ID string `path:"id" maxLength:"64"`
}

type subprocessorBody struct {
	ParentID            string   `json:"parent_id,omitempty" maxLength:"64" doc:"The subprocessor whose subcontractor this is."`
	Name                string   `json:"name" minLength:"1" maxLength:"200"`
	LEI                 string   `json:"lei,omitempty" maxLength:"20" doc:"Legal entity identifier (ISO 17442)."`
	Purpose             string   `json:"purpose" minLength:"1" maxLength:"2000"`
	Function            string   `json:"function,omitempty" maxLength:"200"`
	DataCategories      []string `json:"data_categories,omitempty" maxItems:"50"`
	ProcessingCountries []string `json:"processing_countries,omitempty" maxItems:"250" doc:"ISO 3166-1 alpha-2 codes."`
	StorageCountries    []string `json:"storage_countries,omitempty" maxItems:"250"`
	TransferMechanism   string   `json:"transfer_mechanism,omitempty" enum:"adequacy,scc,bcr,none,not_applicable" doc:"Default not_applicable."`
	DPAStatus           string   `json:"dpa_status,omitempty" enum:"signed,pending,none" doc:"Default none."`
	DPAURL              string   `json:"dpa_url,omitempty" maxLength:"2048"`
	Website             string   `json:"website,omitempty" maxLength:"2048"`
	Category            string   `json:"category,omitempty" maxLength:"100"`
	Status              string   `json:"status,omitempty" enum:"planned,active,removed" doc:"Default active."`
	Visibility          string   `json:"visibility,omitempty" enum:"public,private" doc:"Default public."`
	Since               string   `json:"since,omitempty" maxLength:"10" doc:"YYYY-MM-DD."`
	NoticeEffectiveOn   string   `json:"notice_effective_on,omitempty" maxLength:"10" doc:"When a change visitors can see takes effect (YYYY-MM-DD). Default: the end of the notice period."`
	NoticeReason        string   `json:"notice_reason,omitempty" maxLength:"1000" doc:"Required when notice_effective_on is before the end of the notice period."`
}

func (b subprocessorBody) terms() subprocessor.Terms {
	return subprocessor.Terms{EffectiveOn: b.NoticeEffectiveOn, Reason: b.NoticeReason}
}

func (b subprocessorBody) input() subprocessor.Input {
	return subprocessor.Input{ParentID: b.ParentID, Name: b.Name, LEI: b.LEI, Purpose: b.Purpose, Function: b.Function,
		DataCategories: b.DataCategories, ProcessingCountries: b.ProcessingCountries, StorageCountries: b.StorageCountries,
		TransferMechanism: b.TransferMechanism, DPAStatus: b.DPAStatus, DPAURL: b.DPAURL, Website: b.Website, Category: b.Category,
		Status: b.Status, Visibility: b.Visibility, Since: b.Since}
}

type subprocessorInput struct {
	Body subprocessorBody
}

type subprocessorUpdateInput struct {
	SubprocessorPath
	Body subprocessorBody
}

type subprocessorOutput struct{ Body *subprocessor.Subprocessor }

type subprocessorDeleteInput struct {
	SubprocessorPath
	NoticeEffectiveOn string `query:"notice_effective_on" maxLength:"10" doc:"When the removal of a public subprocessor takes effect (YYYY-MM-DD)."`
	NoticeReason      string `query:"notice_reason" maxLength:"1000" doc:"Required for a notice shorter than the notice period."`
}

// NoticePath is exported because huma reads parameters only from exported
// embedded structs.
type NoticePath struct {
	ID string `path:"id" maxLength:"64"`
}

type noticesInput struct {
	Limit int `query:"limit" minimum:"1" maximum:"500" default:"100"`
}

type noticesOutput struct{ Body []subprocessor.Notice }

type noticeOutput struct{ Body *subprocessor.Notice }

type objectionsOutput struct{ Body []subprocessor.Objection }

type noticeSettings struct {
	NoticeDays int `json:"notice_days" minimum:"0" maximum:"365" doc:"Days between a notice and the earliest date its change may take effect without a recorded reason."`
}

type noticeSettingsOutput struct{ Body noticeSettings }

type noticeSettingsInput struct{ Body noticeSettings }

type subprocessorsInput struct {
	Public bool `query:"public" doc:"Only public subprocessors."`
}

type subprocessorsOutput struct{ Body []subprocessor.Subprocessor }

type registerInput struct {
	Register string `query:"register" enum:"art30,dora" default:"art30" doc:"art30: the GDPR Art. 30 record of recipients; dora: the ICT third-party providers of a DORA register of information."`
}

type registerOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	Body               []byte
}

func (s *Server) registerSubprocessorAPI(api huma.API) {
	tags := []string{"Subprocessors"}
	org := func(ctx context.Context) string { return apiPrincipal(ctx).Org.ID }
	operation(api, identity.ContentRead, huma.Operation{OperationID: "list-subprocessors", Method: http.MethodGet, Path: "/subprocessors",
		Summary: "List subprocessors", Tags: tags, Description: "Direct subprocessors by name, each followed by its subcontractors."},
		func(ctx context.Context, in *subprocessorsInput) (*subprocessorsOutput, error) {
			list, err := s.cfg.Subprocessors.List(ctx, org(ctx), in.Public)
			return &subprocessorsOutput{Body: list}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "create-subprocessor", Method: http.MethodPost, Path: "/subprocessors",
		Summary: "Add a subprocessor", Tags: tags, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *subprocessorInput) (*subprocessorOutput, error) {
			sp, err := s.cfg.Subprocessors.Create(ctx, org(ctx), in.Body.input(), in.Body.terms())
			return &subprocessorOutput{Body: sp}, err
		})
	operation(api, identity.ContentRead, huma.Operation{OperationID: "get-subprocessor", Method: http.MethodGet, Path: "/subprocessors/{id}",
		Summary: "Read a subprocessor", Tags: tags},
		func(ctx context.Context, in *SubprocessorPath) (*subprocessorOutput, error) {
			sp, err := s.cfg.Subprocessors.Get(ctx, org(ctx), in.ID)
			return &subprocessorOutput{Body: sp}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "update-subprocessor", Method: http.MethodPut, Path: "/subprocessors/{id}",
		Summary: "Replace a subprocessor", Tags: tags},
		func(ctx context.Context, in *subprocessorUpdateInput) (*subprocessorOutput, error) {
			sp, err := s.cfg.Subprocessors.Update(ctx, org(ctx), in.ID, in.Body.input(), in.Body.terms())
			return &subprocessorOutput{Body: sp}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "delete-subprocessor", Method: http.MethodDelete, Path: "/subprocessors/{id}",
		Summary: "Delete a subprocessor", Tags: tags, DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *subprocessorDeleteInput) (*empty, error) {
			return &empty{}, s.cfg.Subprocessors.Delete(ctx, org(ctx), in.ID,
				subprocessor.Terms{EffectiveOn: in.NoticeEffectiveOn, Reason: in.NoticeReason})
		})
	operation(api, identity.ContentRead, huma.Operation{OperationID: "list-subprocessor-notices", Method: http.MethodGet,
		Path: "/subprocessor-notices", Summary: "List change notices", Tags: tags,
		Description: "Notices of changes to public subprocessors, newest first, with the number of objections to each."},
		func(ctx context.Context, in *noticesInput) (*noticesOutput, error) {
			list, err := s.cfg.Subprocessors.Notices(ctx, org(ctx), in.Limit)
			return &noticesOutput{Body: list}, err
		})
	operation(api, identity.ContentRead, huma.Operation{OperationID: "get-subprocessor-notice", Method: http.MethodGet,
		Path: "/subprocessor-notices/{id}", Summary: "Read a change notice", Tags: tags},
		func(ctx context.Context, in *NoticePath) (*noticeOutput, error) {
			n, err := s.cfg.Subprocessors.GetNotice(ctx, org(ctx), in.ID)
			return &noticeOutput{Body: n}, err
		})
	operation(api, identity.SettingsManage, huma.Operation{OperationID: "list-notice-objections", Method: http.MethodGet,
		Path: "/subprocessor-notices/{id}/objections", Summary: "Objections to a change notice", Tags: tags,
		Description: "Who objected, through the link of the notice e-mail, and why."},
		func(ctx context.Context, in *NoticePath) (*objectionsOutput, error) {
			if _, err := s.cfg.Subprocessors.GetNotice(ctx, org(ctx), in.ID); err != nil {
				return nil, err
			}
			list, err := s.cfg.Subprocessors.Objections(ctx, org(ctx), in.ID)
			return &objectionsOutput{Body: list}, err
		})
	operation(api, identity.ContentRead, huma.Operation{OperationID: "get-notice-settings", Method: http.MethodGet,
		Path: "/subprocessor-notice-settings", Summary: "The notice period", Tags: tags},
		func(ctx context.Context, _ *struct{}) (*noticeSettingsOutput, error) {
			days, err := s.cfg.Subprocessors.NoticeDays(ctx, org(ctx))
			return &noticeSettingsOutput{Body: noticeSettings{NoticeDays: days}}, err
		})
	operation(api, identity.SettingsManage, huma.Operation{OperationID: "set-notice-settings", Method: http.MethodPut,
		Path: "/subprocessor-notice-settings", Summary: "Change the notice period", Tags: tags},
		func(ctx context.Context, in *noticeSettingsInput) (*noticeSettingsOutput, error) {
			if err := s.cfg.Subprocessors.SetNoticeDays(ctx, org(ctx), in.Body.NoticeDays); err != nil {
				return nil, err
			}
			return &noticeSettingsOutput{Body: in.Body}, nil
		})
	operation(api, identity.ContentRead, huma.Operation{OperationID: "subprocessor-register", Method: http.MethodGet,
		Path: "/subprocessors/register", Summary: "The subprocessors as a register (CSV)", Tags: tags,
		Responses: map[string]*huma.Response{"200": {Description: "CSV", Content: map[string]*huma.MediaType{"text/csv": {}}}}},
		func(ctx context.Context, in *registerInput) (*registerOutput, error) {
			list, err := s.cfg.Subprocessors.List(ctx, org(ctx), false)
			if err != nil {
				return nil, err
			}
			body := subprocessor.Art30CSV(list)
			if in.Register == "dora" {
				body = subprocessor.DORACSV(list)
			}
			return &registerOutput{ContentType: "text/csv; charset=utf-8", Body: body,
				ContentDisposition: `attachment; filename="subprocessors-` + in.Register + `.csv"`}, nil
		})
}
