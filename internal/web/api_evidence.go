package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/evidence"
	"github.com/evident-isms/evident/internal/identity"
)

// Evidence operations of the API. Uploads and downloads stream, so they are
// plain routes (huma would hold a 50 MB body in memory); the OpenAPI
// document describes them all the same.

// evidenceReader says whether the caller may see restricted evidence.
func evidenceReader(role identity.Role) evidence.Reader {
	return evidence.Reader{Restricted: identity.Allowed(role, identity.ConfidentialRead)}
}

type evidenceBody struct {
	Kind         evidence.Kind       `json:"kind" enum:"link,note,attestation" doc:"Files are uploaded to /evidence/files."`
	Title        string              `json:"title" minLength:"1" maxLength:"200"`
	Description  string              `json:"description,omitempty" maxLength:"10000"`
	CollectedOn  string              `json:"collected_on,omitempty" maxLength:"10" doc:"YYYY-MM-DD; default today."`
	ValidUntil   string              `json:"valid_until,omitempty" maxLength:"10" doc:"YYYY-MM-DD; default and maximum: 12 months after collection (notes: 3 months)."`
	Visibility   evidence.Visibility `json:"visibility,omitempty" enum:"public,private,restricted" doc:"Default private."`
	OwnerID      string              `json:"owner_id,omitempty" maxLength:"64"`
	URL          string              `json:"url,omitempty" maxLength:"2048" doc:"Links: where the evidence lives."`
	AttestorName string              `json:"attestor_name,omitempty" maxLength:"200" doc:"Attestations: the independent person."`
	AttestorFirm string              `json:"attestor_firm,omitempty" maxLength:"200" doc:"Attestations: their firm."`
	ControlIDs   []string            `json:"control_ids,omitempty" maxItems:"200" doc:"Controls this evidence supports."`
}

func (b evidenceBody) input() evidence.Input {
	return evidence.Input{Kind: b.Kind, Title: b.Title, Description: b.Description, CollectedOn: b.CollectedOn,
		ValidUntil: b.ValidUntil, Visibility: b.Visibility, OwnerID: b.OwnerID, URL: b.URL, AttestorName: b.AttestorName,
		AttestorFirm: b.AttestorFirm, ControlIDs: b.ControlIDs}
}

type createEvidenceInput struct{ Body evidenceBody }

// EvidencePath is exported because huma reads parameters only from exported
// embedded structs.
type EvidencePath struct {
	ID string `path:"id" maxLength:"64"`
}

type updateEvidenceInput struct {
	EvidencePath
	Body evidenceBody
}

type evidenceOutput struct{ Body *evidence.Evidence }

type createCheckInput struct {
	Body struct {
		Kind            string              `json:"check_kind" enum:"http_headers,tls,dns,security_txt,http_up"`
		Target          string              `json:"target" minLength:"1" maxLength:"2048" doc:"A URL (http_headers, security_txt, http_up), host[:port] (tls) or domain (dns)."`
		Title           string              `json:"title,omitempty" maxLength:"200" doc:"Default: the kind and the target."`
		Description     string              `json:"description,omitempty" maxLength:"10000"`
		Assertions      []string            `json:"assertions,omitempty" maxItems:"10" doc:"Assertions that must pass; default all of the kind's."`
		IntervalMinutes int                 `json:"interval_minutes,omitempty" minimum:"0" maximum:"10080" doc:"Default 60; at least 5."`
		Visibility      evidence.Visibility `json:"visibility,omitempty" enum:"public,private,restricted"`
		ControlIDs      []string            `json:"control_ids,omitempty" maxItems:"200"`
	}
}

type checkRunOutput struct{ Body *evidence.CheckRun }

type evidenceHistoryOutput struct{ Body []audit.Item }

type checkHistoryOutput struct {
	Body struct {
		Runs   []evidence.CheckRun   `json:"runs" doc:"Newest first, at most 100."`
		States []evidence.CheckState `json:"states" doc:"Newest first, at most 1,000."`
	}
}

type evidenceListInput struct {
	Kind       string `query:"kind" maxLength:"20" doc:"file, link, note or attestation."`
	ControlID  string `query:"control_id" maxLength:"64"`
	Visibility string `query:"visibility" maxLength:"20"`
	Expiring   int    `query:"expiring" minimum:"0" maximum:"366" doc:"Current items whose validity ends within this many days."`
	Expired    bool   `query:"expired" doc:"Only items that are no longer current."`
	Q          string `query:"q" maxLength:"200"`
}

type evidenceListOutput struct{ Body []evidence.Evidence }

func parseEvidenceFilter(kind, visibility string) (evidence.Kind, evidence.Visibility, error) {
	switch evidence.Kind(kind) {
	case "", evidence.File, evidence.Link, evidence.Note, evidence.Attestation, evidence.Check, evidence.PolicyVersion:
	default:
		return "", "", apperr.Field("kind", "kind %q is not one of file, link, note, attestation", kind)
	}
	switch evidence.Visibility(visibility) {
	case "", evidence.Public, evidence.Private, evidence.Restricted:
	default:
		return "", "", apperr.Field("visibility", "visibility %q is not one of public, private, restricted", visibility)
	}
	return evidence.Kind(kind), evidence.Visibility(visibility), nil
}

func (s *Server) registerEvidenceAPI(api huma.API) {
	tags := []string{"Evidence"}
	org := func(ctx context.Context) string { return apiPrincipal(ctx).Org.ID }
	reader := func(ctx context.Context) evidence.Reader { return evidenceReader(apiPrincipal(ctx).Role) }
	operation(api, identity.ContentRead, huma.Operation{OperationID: "list-evidence", Method: http.MethodGet, Path: "/evidence",
		Summary: "List evidence", Tags: tags,
		Description: "Soonest expiry first. `expiring=30` lists current items whose validity ends within 30 days. " +
			"Restricted items are listed only for roles that read confidential content."},
		func(ctx context.Context, in *evidenceListInput) (*evidenceListOutput, error) {
			kind, vis, err := parseEvidenceFilter(in.Kind, in.Visibility)
			if err != nil {
				return nil, err
			}
			items, err := s.cfg.Evidence.List(ctx, org(ctx), evidence.Filter{Kind: kind, Visibility: vis, ControlID: in.ControlID,
				ExpiringDays: in.Expiring, Expired: in.Expired, Query: in.Q}, reader(ctx))
			return &evidenceListOutput{Body: items}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "create-evidence", Method: http.MethodPost, Path: "/evidence",
		Summary: "Add a link, a self-attested note or an independent attestation", Tags: tags, DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *createEvidenceInput) (*evidenceOutput, error) {
			it, err := s.cfg.Evidence.Create(ctx, org(ctx), in.Body.input())
			return &evidenceOutput{Body: it}, err
		})
	operation(api, identity.ContentRead, huma.Operation{OperationID: "get-evidence", Method: http.MethodGet, Path: "/evidence/{id}",
		Summary: "Read an evidence item", Tags: tags},
		func(ctx context.Context, in *EvidencePath) (*evidenceOutput, error) {
			it, err := s.cfg.Evidence.Get(ctx, org(ctx), in.ID, reader(ctx))
			return &evidenceOutput{Body: it}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "update-evidence", Method: http.MethodPut, Path: "/evidence/{id}",
		Summary: "Replace an item's fields and control links", Tags: tags,
		Description: "The kind and a file's bytes never change; upload a new item instead."},
		func(ctx context.Context, in *updateEvidenceInput) (*evidenceOutput, error) {
			it, err := s.cfg.Evidence.Update(ctx, org(ctx), in.ID, in.Body.input(), reader(ctx))
			return &evidenceOutput{Body: it}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "delete-evidence", Method: http.MethodDelete, Path: "/evidence/{id}",
		Summary: "Delete an evidence item", Tags: tags, DefaultStatus: http.StatusNoContent},
		func(ctx context.Context, in *EvidencePath) (*empty, error) {
			return &empty{}, s.cfg.Evidence.Delete(ctx, org(ctx), in.ID, reader(ctx))
		})

	operation(api, identity.ContentRead, huma.Operation{OperationID: "evidence-history", Method: http.MethodGet, Path: "/evidence/{id}/history",
		Summary: "The history of changes of an evidence item", Tags: tags,
		Description: "Its entries of the organisation's audit log, newest first (at most 200), without personal data."},
		func(ctx context.Context, in *EvidencePath) (*evidenceHistoryOutput, error) {
			if _, err := s.cfg.Evidence.Get(ctx, org(ctx), in.ID, reader(ctx)); err != nil {
				return nil, err
			}
			items, _, err := s.cfg.Audit.List(ctx, org(ctx), audit.Filter{TargetType: "evidence", TargetID: in.ID, Limit: audit.MaxListLimit})
			if err != nil {
				return nil, err
			}
			for i := range items {
				items[i].Personal = nil // who changed it is the actor id; names and addresses stay in the audit log
			}
			return &evidenceHistoryOutput{Body: nonNil(items)}, nil
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "create-check", Method: http.MethodPost, Path: "/checks",
		Summary: "Add an automated check", Tags: tags, DefaultStatus: http.StatusCreated,
		Description: "A check is an evidence item of kind check. Kinds: http_headers (HSTS of six months or more, CSP, frame " +
			"protection, nosniff, Referrer-Policy), tls (TLS 1.2 or newer only, certificate valid for the host and not expiring " +
			"within 21 days), dns (SPF, DMARC quarantine or reject, CAA), security_txt (present, Contact, Expires in the future), " +
			"http_up. Its first run is queued at once; it is failing while its latest run failed, and current while its latest " +
			"passing run is younger than twice its interval. Targets on private or loopback addresses are refused when run."},
		func(ctx context.Context, in *createCheckInput) (*evidenceOutput, error) {
			b := in.Body
			it, err := s.cfg.Evidence.CreateCheck(ctx, org(ctx), evidence.CheckInput{Title: b.Title, Description: b.Description,
				Kind: b.Kind, Target: b.Target, Assertions: b.Assertions, IntervalMinutes: b.IntervalMinutes, Visibility: b.Visibility,
				ControlIDs: b.ControlIDs})
			return &evidenceOutput{Body: it}, err
		})
	operation(api, identity.ContentEdit, huma.Operation{OperationID: "run-check", Method: http.MethodPost, Path: "/checks/{id}/run",
		Summary: "Run a check now", Tags: tags},
		func(ctx context.Context, in *EvidencePath) (*checkRunOutput, error) {
			if _, err := s.cfg.Evidence.Get(ctx, org(ctx), in.ID, reader(ctx)); err != nil {
				return nil, err
			}
			run, err := s.cfg.Evidence.RunCheck(ctx, org(ctx), in.ID)
			return &checkRunOutput{Body: run}, err
		})
	operation(api, identity.ContentRead, huma.Operation{OperationID: "check-history", Method: http.MethodGet, Path: "/checks/{id}/history",
		Summary: "A check's latest runs and its state history", Tags: tags,
		Description: "Raw runs are kept 7 days; the state history (every change and one summary a day) 400 days."},
		func(ctx context.Context, in *EvidencePath) (*checkHistoryOutput, error) {
			runs, states, err := s.cfg.Evidence.CheckHistory(ctx, org(ctx), in.ID, reader(ctx))
			out := &checkHistoryOutput{}
			out.Body.Runs, out.Body.States = runs, states
			return out, err
		})

	// The streaming routes, registered on the router and described here.
	s.Router.HandleFunc("POST", apiPrefix+"/evidence/files", identity.ContentEdit, s.uploadEvidence)
	s.Router.HandleFunc("GET", apiPrefix+"/evidence/{id}/file", identity.ContentRead, s.downloadEvidence)
	s.Router.HandleFunc("POST", apiPrefix+"/evidence/push", identity.EvidencePush, s.pushEvidence)
	oa := api.OpenAPI()
	oa.AddOperation(&huma.Operation{OperationID: "upload-evidence", Method: http.MethodPost, Path: apiPrefix + "/evidence/files",
		Summary: "Upload a file as evidence", Tags: tags, Security: []map[string][]string{{"bearer": {}}},
		Description: "multipart/form-data, streamed: the fields (title, description, collected_on, valid_until, visibility, " +
			"owner_id, control_ids repeated) come first, then the part named `file`. The type is taken from the content " +
			"(PDF, images, text, CSV, JSON, Markdown, office documents); HTML, SVG and executables are refused. Over the " +
			"upload limit (50 MB by default): 413 and nothing stored. Identical bytes are stored once per organisation.\n\n" +
			"Permission: `content.edit`.",
		Responses: map[string]*huma.Response{"201": {Description: "The new evidence item (JSON)."},
			"400": {Description: "Refused type or bad field"}, "413": {Description: "Over the upload limit"}}})
	oa.AddOperation(&huma.Operation{OperationID: "push-evidence", Method: http.MethodPost, Path: apiPrefix + "/evidence/push",
		Summary: "Push a check result from a CI job or script", Tags: tags, Security: []map[string][]string{{"bearer": {}}},
		Description: "JSON `{\"check\": \"dependency-scan\", \"passed\": true, \"summary\": \"0 critical\", \"measured\": " +
			"{\"critical\": \"0\"}, \"control_ids\": [\"…\"], \"interval_minutes\": 1440}`, or multipart/form-data with the " +
			"same fields (measured as measured.NAME) followed by a part named `file` stored as its own evidence item. The first " +
			"push of a name creates a check of kind push linked to the controls; each push is one run: failing when passed is " +
			"false, current for twice interval_minutes after the last passing push.\n\nPermission: `evidence.push` (use a token " +
			"with the scope evidence:push).",
		Responses: map[string]*huma.Response{"200": {Description: "What the push did (JSON)."}, "400": {Description: "Bad field"},
			"413": {Description: "The file is over the upload limit"}}})
	oa.AddOperation(&huma.Operation{OperationID: "download-evidence", Method: http.MethodGet, Path: apiPrefix + "/evidence/{id}/file",
		Summary: "Download an evidence file", Tags: tags, Security: []map[string][]string{{"bearer": {}}},
		Parameters: []*huma.Param{{Name: "id", In: "path", Required: true, Schema: &huma.Schema{Type: "string"}}},
		Description: "Served as an attachment with the stored type. Downloads of restricted items are recorded in the audit log.\n\n" +
			"Permission: `content.read` (restricted items: `confidential.read`).",
		Responses: map[string]*huma.Response{"200": {Description: "The file"}, "404": {Description: "No such item or file"}}})
}

// maxFieldBytes bounds one form field of an upload.
const maxFieldBytes = 64 << 10

// readUpload streams a multipart upload into the evidence service. Fields
// must precede the file part, so the file is never buffered. It also returns
// the fields it read, which a form shows again after a mistake.
func (s *Server) readUpload(w http.ResponseWriter, r *http.Request, orgID string) (*evidence.Evidence, evidence.Input, error) {
	in := evidence.Input{Kind: evidence.File}
	limit := s.cfg.Evidence.MaxBytes()
	raiseBodyLimit(w, r, limit+1<<20) // the file plus room for the other fields
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, in, apperr.New(apperr.Invalid, "send the file as multipart/form-data with a part named \"file\"")
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil, in, apperr.Field("file", "the upload has no part named \"file\"")
		}
		if err != nil {
			return nil, in, uploadError(err, limit)
		}
		name := part.FormName()
		if name == "file" {
			it, err := s.cfg.Evidence.Upload(r.Context(), orgID, in, part.FileName(), part)
			if err != nil {
				return nil, in, uploadError(err, limit)
			}
			return it, in, nil
		}
		b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
		if err != nil {
			return nil, in, uploadError(err, limit)
		}
		if len(b) > maxFieldBytes {
			return nil, in, apperr.Field(name, "the field %q is longer than %d KiB", name, maxFieldBytes>>10)
		}
		v := string(b)
		switch name {
		case "title":
			in.Title = v
		case "description":
			in.Description = v
		case "collected_on":
			in.CollectedOn = v
		case "valid_until":
			in.ValidUntil = v
		case "visibility":
			in.Visibility = evidence.Visibility(v)
		case "owner_id":
			in.OwnerID = v
		case "control_ids", "control_id":
			if v != "" {
				in.ControlIDs = append(in.ControlIDs, v)
			}
		}
	}
}

// uploadError maps a body over the limit to 413.
func uploadError(err error, limit int64) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return apperr.New(apperr.TooLarge, "the upload is larger than %d MB, the limit", limit>>20)
	}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return err
	}
	// Anything else comes from reading the request: it ended early or is
	// not multipart. The client's mistake, not ours.
	return apperr.New(apperr.Invalid, "the upload ended early or is not valid multipart/form-data")
}

func (s *Server) uploadEvidence(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	it, _, err := s.readUpload(w, r, p.Org.ID)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, it)
}

func (s *Server) downloadEvidence(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	it, rc, err := s.cfg.Evidence.Open(r.Context(), p.Org.ID, r.PathValue("id"), evidenceReader(p.Role))
	if err != nil {
		Error(w, r, err)
		return
	}
	defer rc.Close()
	serveAttachment(w, it, rc)
}

// serveAttachment sends a stored file so that no browser renders it: as an
// attachment, with its stored type, nosniff and a sandboxing policy.
func serveAttachment(w http.ResponseWriter, it *evidence.Evidence, rc io.Reader) {
	name := it.File.Filename
	if name == "" {
		name = "evidence"
	}
	h := w.Header()
	h.Set("Content-Type", it.File.MediaType)
	h.Set("Content-Length", strconv.FormatInt(it.File.Size, 10))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, rc)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// pushBody is the JSON of a pushed result.
type pushBody struct {
	Check           string            `json:"check"`
	Passed          *bool             `json:"passed"`
	Summary         string            `json:"summary"`
	Measured        map[string]string `json:"measured"`
	ControlIDs      []string          `json:"control_ids"`
	IntervalMinutes int               `json:"interval_minutes"`
	Title           string            `json:"title"`
}

func (s *Server) pushEvidence(w http.ResponseWriter, r *http.Request) {
	p := principal(r)
	res, err := s.readPush(w, r, p.Org.ID)
	if err != nil {
		Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// readPush takes a pushed result as JSON, or as multipart with a file.
func (s *Server) readPush(w http.ResponseWriter, r *http.Request, orgID string) (*evidence.PushResult, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		var b pushBody
		dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&b); err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, apperr.New(apperr.TooLarge, "a pushed result without a file is at most 1 MiB of JSON")
			}
			return nil, apperr.New(apperr.Invalid, "send the result as JSON (or multipart/form-data with a file): %v", err)
		}
		if b.Passed == nil {
			return nil, apperr.Field("passed", "\"passed\" is required: true or false")
		}
		return s.cfg.Evidence.Push(r.Context(), orgID, evidence.PushInput{Check: b.Check, Passed: *b.Passed, Summary: b.Summary,
			Measured: b.Measured, ControlIDs: b.ControlIDs, IntervalMinutes: b.IntervalMinutes, Title: b.Title}, "", nil)
	}
	limit := s.cfg.Evidence.MaxBytes()
	raiseBodyLimit(w, r, limit+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, apperr.New(apperr.Invalid, "the upload is not valid multipart/form-data")
	}
	in := evidence.PushInput{Measured: map[string]string{}}
	passed := ""
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, uploadError(err, limit)
		}
		name := part.FormName()
		if name == "file" {
			if err := pushPassed(&in, passed); err != nil {
				return nil, err
			}
			filename := part.FileName()
			if filename == "" {
				filename = "pushed-file" // a file part without a name is still a file
			}
			res, err := s.cfg.Evidence.Push(r.Context(), orgID, in, filename, part)
			if err != nil {
				return nil, uploadError(err, limit)
			}
			return res, nil
		}
		b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
		if err != nil {
			return nil, uploadError(err, limit)
		}
		if len(b) > maxFieldBytes {
			return nil, apperr.Field(name, "the field %q is longer than %d KiB", name, maxFieldBytes>>10)
		}
		v := string(b)
		switch {
		case name == "check":
			in.Check = v
		case name == "passed":
			passed = v
		case name == "summary":
			in.Summary = v
		case name == "title":
			in.Title = v
		case name == "control_ids" || name == "control_id":
			in.ControlIDs = append(in.ControlIDs, v)
		case name == "interval_minutes":
			if in.IntervalMinutes, err = strconv.Atoi(strings.TrimSpace(v)); err != nil {
				return nil, apperr.Field("interval_minutes", "interval_minutes %q is not a number", v)
			}
		case strings.HasPrefix(name, "measured."):
			in.Measured[strings.TrimPrefix(name, "measured.")] = v
		}
	}
	if err := pushPassed(&in, passed); err != nil {
		return nil, err
	}
	return s.cfg.Evidence.Push(r.Context(), orgID, in, "", nil)
}

func pushPassed(in *evidence.PushInput, v string) error {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes", "pass", "passed":
		in.Passed = true
	case "false", "0", "no", "fail", "failed":
		in.Passed = false
	default:
		return apperr.Field("passed", "\"passed\" is required: true or false")
	}
	return nil
}
