package evidence

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/evident-isms/evident/internal/apperr"
	"github.com/evident-isms/evident/internal/audit"
	"github.com/evident-isms/evident/internal/blob"
	"github.com/evident-isms/evident/internal/clamav"
	"github.com/evident-isms/evident/internal/clock"
	"github.com/evident-isms/evident/internal/control"
	"github.com/evident-isms/evident/internal/db"
	"github.com/evident-isms/evident/internal/filetype"
	"github.com/evident-isms/evident/internal/valid"
)

// Reader says what the caller may see: restricted items need the
// confidential-read permission.
type Reader struct {
	Restricted bool
}

// orgLocation reads the organisation's time zone.
func (s *Service) orgLocation(ctx context.Context, q db.Querier, orgID string) (*time.Location, error) {
	var tz string
	if err := q.QueryRowContext(ctx, `SELECT time_zone FROM orgs WHERE id = $1`, orgID).Scan(&tz); err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.UTC, nil
	}
	return loc, nil
}

// Create adds a link, a note or an attestation.
func (s *Service) Create(ctx context.Context, orgID string, in Input) (*Evidence, error) {
	if in.Kind == File {
		return nil, apperr.Field("kind", "files are uploaded, not created")
	}
	return s.create(ctx, orgID, in, nil)
}

// Upload stores a file and creates its item. The type comes from the
// content (an HTML page named report.pdf is refused); more than the upload
// limit is refused with nothing stored; the bytes are durable before the
// item refers to them; with a scanner configured, an infected file or a
// failed scan is quarantined: kept for the admins, never served or counted.
func (s *Service) Upload(ctx context.Context, orgID string, in Input, filename string, r io.Reader) (*Evidence, error) {
	if s.blobs == nil {
		return nil, apperr.New(apperr.Internal, "no blob store is configured")
	}
	in.Kind = File
	filename = cleanFilename(filename)
	loc, err := s.orgLocation(ctx, s.db.Read, orgID)
	if err != nil {
		return nil, apperr.Wrap(err, "read organisation")
	}
	if err := in.validate(s.clock.Now(), loc); err != nil {
		return nil, err
	}
	head := make([]byte, filetype.HeadSize)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, apperr.New(apperr.Invalid, "the upload could not be read: %v", err)
	}
	head = head[:n]
	ft, err := filetype.Detect(head, filename)
	if err != nil {
		return nil, err
	}
	filename = withExtension(filename, ft.Extension)
	// Text is checked to its end as it is stored (Detect saw only the head).
	obj, err := s.blobs.Put(ctx, orgID, filetype.Guard(ft, io.MultiReader(bytes.NewReader(head), r)), s.maxBytes)
	if errors.Is(err, blob.ErrTooLarge) {
		return nil, apperr.New(apperr.TooLarge, "the file is larger than %d MB, the upload limit", s.maxBytes>>20)
	}
	if err != nil {
		return nil, apperr.Wrap(err, "store the file")
	}
	info := &FileInfo{SHA256: obj.SHA256, Size: obj.Size, MediaType: ft.MediaType, Filename: filename, ScanState: NotScanned}
	if s.scanner != nil {
		info.ScanState, info.ScanDetail = s.scan(ctx, orgID, obj.SHA256)
	}
	// On failure the bytes stay: another upload of the same bytes may
	// refer to them by now, so only a collector that checks references may
	// remove them.
	return s.create(ctx, orgID, in, info)
}

// scan runs the virus scanner over a stored blob. Any failure quarantines:
// an unscanned file is never served as if clean.
func (s *Service) scan(ctx context.Context, orgID, sha string) (state, detail string) {
	rc, _, err := s.blobs.Open(ctx, orgID, sha)
	if err != nil {
		return Quarantined, "the file could not be read back for scanning"
	}
	defer rc.Close()
	res, err := s.scanner.Scan(ctx, rc)
	// The detail reaches the API, the console and the audit chain: a fixed
	// sentence, never the scanner's address or error text, which go to the
	// operator's log.
	switch {
	case errors.Is(err, clamav.ErrSizeLimit):
		return Quarantined, "the file is larger than the virus scanner accepts, so it was not scanned"
	case err != nil:
		s.log.Error("virus scan failed", "org", orgID, "sha256", sha, "err", err)
		return Quarantined, "the virus scan failed; the operator's log has the cause"
	case !res.Clean:
		return Quarantined, "malware found: " + res.Signature
	}
	return Clean, ""
}

// withExtension makes a download name end in the extension of the type
// detected from the content, so that what opens the file is what the
// content is.
func withExtension(name, ext string) string {
	if name == "" {
		name = "evidence"
	}
	if ext != "" && !strings.EqualFold(filepath.Ext(name), ext) {
		name += ext
	}
	return name
}

// cleanFilename keeps the base name of what the client sent, as text.
func cleanFilename(name string) string {
	name = filepath.Base(strings.ReplaceAll(name, "\\", "/"))
	if name == "." || name == "/" || !valid.PlainText(name) {
		name = ""
	}
	if r := []rune(name); len(r) > 200 {
		name = string(r[len(r)-200:])
	}
	return strings.TrimSpace(name)
}

func (s *Service) create(ctx context.Context, orgID string, in Input, file *FileInfo) (*Evidence, error) {
	var item *Evidence
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		loc, err := s.orgLocation(ctx, tx, orgID)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		if err := in.validate(now, loc); err != nil {
			return err
		}
		if err := checkOwner(ctx, tx, orgID, in.OwnerID); err != nil {
			return err
		}
		item = &Evidence{ID: db.NewID(now), Kind: in.Kind, Title: in.Title, Description: in.Description, CollectedOn: in.CollectedOn,
			ValidUntil: in.ValidUntil, Visibility: in.Visibility, OwnerID: in.OwnerID, URL: in.URL, AttestorName: in.AttestorName,
			AttestorFirm: in.AttestorFirm, File: file, CreatedBy: actorID(ctx), UploadedAt: now, UpdatedAt: now}
		if err := insertItem(ctx, tx, orgID, item); err != nil {
			return err
		}
		if err := s.linkControls(ctx, tx, orgID, item.ID, in.ControlIDs); err != nil {
			return err
		}
		item.ControlIDs = uniqueSorted(in.ControlIDs)
		fields := itemFields(item)
		fields["control_ids"] = item.ControlIDs
		if err := s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "evidence.create", TargetType: "evidence",
			TargetID: item.ID, Fields: fields}); err != nil {
			return err
		}
		if file != nil && file.ScanState == Quarantined {
			return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "evidence.quarantine", TargetType: "evidence",
				TargetID: item.ID, Fields: map[string]any{"reason": file.ScanDetail}})
		}
		return nil
	})
	if err != nil {
		return nil, apperr.Wrap(err, "create evidence")
	}
	item.finish(s.clock.Now(), s.mustLocation(ctx, orgID))
	return item, nil
}

func (s *Service) mustLocation(ctx context.Context, orgID string) *time.Location {
	loc, err := s.orgLocation(ctx, s.db.Read, orgID)
	if err != nil {
		return time.UTC
	}
	return loc
}

// finish fills the computed fields. A check is current while it is not
// failing and its latest passing run is younger than twice its interval;
// its validity date is the day that ends.
func (it *Evidence) finish(now time.Time, loc *time.Location) {
	it.Assurance = string(AssuranceOf(it.Kind))
	it.Current = now.Before(ValidUntilInstant(it.ValidUntil, loc)) && (it.File == nil || it.File.ScanState != Quarantined)
	if c := it.Check; c != nil {
		until := c.CurrentUntil()
		it.Current = c.State == "passing" && now.Before(until)
		it.ValidUntil = ""
		if !until.IsZero() {
			it.ValidUntil = clock.DateIn(until, loc)
		}
	}
	if it.ControlIDs == nil {
		it.ControlIDs = []string{}
	}
}

func actorID(ctx context.Context) string {
	if r := audit.RequestFrom(ctx); r != nil && r.Actor.ID != "" {
		return r.Actor.Type + ":" + r.Actor.ID
	}
	return "system:unknown"
}

func itemFields(it *Evidence) map[string]any {
	f := map[string]any{"kind": string(it.Kind), "title": it.Title, "description": it.Description, "collected_on": it.CollectedOn,
		"valid_until": it.ValidUntil, "visibility": string(it.Visibility), "owner_id": it.OwnerID, "url": it.URL,
		"name": it.AttestorName, "attestor_firm": it.AttestorFirm}
	if it.File != nil {
		f["sha256"], f["size"], f["media_type"], f["filename"], f["scan_state"] = it.File.SHA256, it.File.Size, it.File.MediaType,
			it.File.Filename, it.File.ScanState
	}
	return f
}

func uniqueSorted(ids []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, id := range ids {
		if id = strings.TrimSpace(id); id != "" && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// linkControls links an item to controls of the same organisation.
func (s *Service) linkControls(ctx context.Context, tx *db.Tx, orgID, itemID string, ids []string) error {
	for _, id := range uniqueSorted(ids) {
		if !validID(id) {
			return apperr.Field("control_ids", "%q is not a control identifier", id)
		}
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM controls WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`, orgID, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return apperr.Field("control_ids", "no control %q in this organisation", id)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO evidence_controls (org_id, evidence_id, control_id, created_at, kind, valid_until, counts)
			VALUES ($1, $2, $3, $4, '', '', FALSE) ON CONFLICT DO NOTHING`, orgID, itemID, id, clock.Micros(s.clock.Now())); err != nil {
			return err
		}
	}
	return syncLinks(ctx, tx, orgID, itemID)
}

// syncLinks copies an item's kind, validity and whether it counts onto its
// links, where the posture reads them. Every change of an item or its links
// calls it after the item's row is final.
func syncLinks(ctx context.Context, tx *db.Tx, orgID, itemID string) error {
	_, err := tx.ExecContext(ctx, `UPDATE evidence_controls SET
		kind = (SELECT e.kind FROM evidence e WHERE e.org_id = evidence_controls.org_id AND e.id = evidence_controls.evidence_id),
		valid_until = (SELECT e.valid_until FROM evidence e WHERE e.org_id = evidence_controls.org_id AND e.id = evidence_controls.evidence_id),
		counts = (SELECT e.deleted_at IS NULL AND e.scan_state <> 'quarantined' FROM evidence e
			WHERE e.org_id = evidence_controls.org_id AND e.id = evidence_controls.evidence_id)
		WHERE org_id = $1 AND evidence_id = $2`, orgID, itemID)
	return err
}

// Update changes an item's fields and its links to controls. A file's
// bytes never change: upload a new item instead.
func (s *Service) Update(ctx context.Context, orgID, id string, in Input, rd Reader) (*Evidence, error) {
	var item *Evidence
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		old, err := getItem(ctx, tx, orgID, id, rd)
		if err != nil {
			return err
		}
		loc, err := s.orgLocation(ctx, tx, orgID)
		if err != nil {
			return err
		}
		in.Kind = old.Kind
		// A field left out keeps its value: a PUT without visibility must
		// not publish a restricted item, nor one without dates renew
		// evidence that expired.
		if in.Visibility == "" {
			in.Visibility = old.Visibility
		}
		if in.CollectedOn == "" {
			in.CollectedOn = old.CollectedOn
		}
		if in.ValidUntil == "" && in.CollectedOn == old.CollectedOn {
			in.ValidUntil = old.ValidUntil
		}
		if old.Kind == Check {
			// A check's dates come from its runs; its target and interval
			// stay (delete and add a check to change them).
			ci := CheckInput{Title: in.Title, Description: in.Description, Kind: old.Check.Kind, Target: old.Check.Target,
				Assertions: old.Check.Assertions, IntervalMinutes: old.Check.IntervalMinutes, Visibility: in.Visibility, ControlIDs: in.ControlIDs}
			if err := ci.validate(); err != nil {
				return err
			}
			in.Title, in.Description, in.Visibility = ci.Title, ci.Description, ci.Visibility
			in.CollectedOn, in.ValidUntil, in.URL, in.AttestorName, in.AttestorFirm = old.CollectedOn, "", "", "", ""
		} else if err := in.validate(old.UploadedAt, loc); err != nil { // collected no later than it was uploaded
			return err
		}
		if err := checkOwner(ctx, tx, orgID, in.OwnerID); err != nil {
			return err
		}
		item = &Evidence{ID: old.ID, Kind: old.Kind, Title: in.Title, Description: in.Description, CollectedOn: in.CollectedOn,
			ValidUntil: in.ValidUntil, Visibility: in.Visibility, OwnerID: in.OwnerID, URL: in.URL, AttestorName: in.AttestorName,
			AttestorFirm: in.AttestorFirm, File: old.File, Check: old.Check, CreatedBy: old.CreatedBy, UploadedAt: old.UploadedAt,
			UpdatedAt: s.clock.Now()}
		// The row first: linking copies its kind and validity onto the links.
		if err := updateItem(ctx, tx, orgID, item); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM evidence_controls WHERE org_id = $1 AND evidence_id = $2`, orgID, id); err != nil {
			return err
		}
		if err := s.linkControls(ctx, tx, orgID, id, in.ControlIDs); err != nil {
			return err
		}
		item.ControlIDs = uniqueSorted(in.ControlIDs)
		changed := map[string]any{}
		before, after := itemFields(old), itemFields(item)
		for k, v := range after {
			if before[k] != v {
				changed[k] = v
			}
		}
		if strings.Join(old.ControlIDs, ",") != strings.Join(item.ControlIDs, ",") {
			changed["control_ids"] = item.ControlIDs
		}
		if len(changed) == 0 {
			return nil
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "evidence.update", TargetType: "evidence", TargetID: id,
			Fields: changed})
	})
	if err != nil {
		return nil, apperr.Wrap(err, "update evidence")
	}
	return s.Get(ctx, orgID, id, rd)
}

// Delete removes an item. Its blob stays until the collector finds it
// unreferenced.
func (s *Service) Delete(ctx context.Context, orgID, id string, rd Reader) error {
	return apperr.Wrap(s.db.InTx(ctx, func(tx *db.Tx) error {
		it, err := getItem(ctx, tx, orgID, id, rd)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM evidence_controls WHERE org_id = $1 AND evidence_id = $2`, orgID, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE evidence SET deleted_at = $3 WHERE org_id = $1 AND id = $2`, orgID, id,
			clock.Micros(s.clock.Now())); err != nil {
			return err
		}
		return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "evidence.delete", TargetType: "evidence", TargetID: id,
			Fields: map[string]any{"title": it.Title, "kind": string(it.Kind)}})
	}), "delete evidence")
}

// Get returns one item the reader may see.
func (s *Service) Get(ctx context.Context, orgID, id string, rd Reader) (*Evidence, error) {
	it, err := getItem(ctx, s.db.Read, orgID, id, rd)
	if err != nil {
		return nil, apperr.Wrap(err, "read evidence")
	}
	it.finish(s.clock.Now(), s.mustLocation(ctx, orgID))
	return it, nil
}

// Open returns a file's bytes for download. Restricted downloads are
// recorded in the audit log before any byte is sent.
func (s *Service) Open(ctx context.Context, orgID, id string, rd Reader) (*Evidence, io.ReadCloser, error) {
	it, err := s.Get(ctx, orgID, id, rd)
	if err != nil {
		return nil, nil, err
	}
	if it.File == nil {
		return nil, nil, apperr.New(apperr.NotFound, "this evidence item has no file")
	}
	if it.File.ScanState == Quarantined {
		return nil, nil, apperr.New(apperr.Forbidden, "the file is quarantined: %s", it.File.ScanDetail)
	}
	if it.Visibility == Restricted {
		if err := s.db.InTx(ctx, func(tx *db.Tx) error {
			return s.audit.Record(ctx, tx, audit.Event{OrgID: orgID, Action: "evidence.download", TargetType: "evidence", TargetID: id,
				Fields: map[string]any{"sha256": it.File.SHA256}})
		}); err != nil {
			return nil, nil, apperr.Wrap(err, "record the download")
		}
	}
	rc, _, err := s.blobs.Open(ctx, orgID, it.File.SHA256)
	if err != nil {
		return nil, nil, apperr.Wrap(err, "open the file")
	}
	return it, rc, nil
}

// Filter selects items.
type Filter struct {
	Kind         Kind
	ControlID    string
	Visibility   Visibility
	ExpiringDays int  // current items whose validity ends within this many days
	Expired      bool // items no longer current
	Query        string
}

// MaxExpiringDays bounds the expiry window of a filter.
const MaxExpiringDays = 366

// List returns the items the reader may see, soonest expiry first.
func (s *Service) List(ctx context.Context, orgID string, f Filter, rd Reader) ([]Evidence, error) {
	if f.ExpiringDays < 0 || f.ExpiringDays > MaxExpiringDays {
		return nil, apperr.Field("expiring", "the expiry window is 1 to %d days", MaxExpiringDays)
	}
	items, err := listItems(ctx, s.db.Read, orgID, rd)
	if err != nil {
		return nil, apperr.Wrap(err, "list evidence")
	}
	now, loc := s.clock.Now(), s.mustLocation(ctx, orgID)
	q := strings.ToLower(strings.TrimSpace(f.Query))
	out := []Evidence{}
	for _, it := range items {
		it.finish(now, loc)
		switch {
		case f.Kind != "" && it.Kind != f.Kind,
			f.Visibility != "" && it.Visibility != f.Visibility,
			f.ControlID != "" && !slices.Contains(it.ControlIDs, f.ControlID),
			f.Expired && it.Current,
			f.ExpiringDays > 0 && (!it.Current || !ValidUntilInstant(it.ValidUntil, loc).Before(now.AddDate(0, 0, f.ExpiringDays))),
			q != "" && !strings.Contains(strings.ToLower(it.Title+" "+it.Description), q):
			continue
		}
		out = append(out, *it)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].ValidUntil != out[j].ValidUntil {
			return out[i].ValidUntil < out[j].ValidUntil
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// ControlEvidence gives the posture engine the evidence of every control of
// an organisation: each linked, live, unquarantined item with its
// assurance and the end of its validity.
func (s *Service) ControlEvidence(ctx context.Context, orgID string) (map[string][]control.EvidenceItem, error) {
	loc, err := s.orgLocation(ctx, s.db.Read, orgID)
	if err != nil {
		return nil, err
	}
	// One scan of a covering index: the links carry their item's kind and
	// validity (syncLinks), so no item is probed (the posture benchmark in
	// docs/benchmarks.md).
	out := map[string][]control.EvidenceItem{}
	ends := map[string]time.Time{} // items of one validity date share their end: parse each date once
	rows, err := s.db.Read.QueryContext(ctx, `SELECT control_id, kind, valid_until FROM evidence_controls
		WHERE org_id = $1 AND counts AND kind <> 'check'`, orgID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var cid, kind, until string
		if err := rows.Scan(&cid, &kind, &until); err != nil {
			rows.Close()
			return nil, err
		}
		end, ok := ends[until]
		if !ok {
			end = ValidUntilInstant(until, loc)
			ends[until] = end
		}
		out[cid] = append(out[cid], control.EvidenceItem{Assurance: AssuranceOf(Kind(kind)), ValidUntil: end})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var anyCheck int
	if err := s.db.Read.QueryRowContext(ctx, `SELECT COUNT(*) FROM checks WHERE org_id = $1 AND last_run_at IS NOT NULL`, orgID).Scan(&anyCheck); err != nil {
		return nil, err
	}
	if anyCheck == 0 {
		return out, nil
	}
	// Checks: failing while the latest run failed; current while the latest
	// passing run is younger than twice the interval.
	checks, err := s.db.Read.QueryContext(ctx, `SELECT ec.control_id, c.interval_minutes, c.last_passed, c.last_passed_at
		FROM evidence_controls ec
		JOIN checks c ON c.org_id = ec.org_id AND c.evidence_id = ec.evidence_id
		JOIN evidence e ON e.org_id = ec.org_id AND e.id = ec.evidence_id
		WHERE ec.org_id = $1 AND e.deleted_at IS NULL AND c.last_run_at IS NOT NULL`, orgID)
	if err != nil {
		return nil, err
	}
	defer checks.Close()
	for checks.Next() {
		var controlID string
		var interval int
		var passed sql.NullBool
		var passedAt sql.NullInt64
		if err := checks.Scan(&controlID, &interval, &passed, &passedAt); err != nil {
			return nil, err
		}
		item := control.EvidenceItem{Assurance: control.Automated, Failing: !passed.Bool}
		if passedAt.Valid {
			item.ValidUntil = clock.FromMicros(passedAt.Int64).Add(2 * time.Duration(interval) * time.Minute)
		}
		out[controlID] = append(out[controlID], item)
	}
	return out, checks.Err()
}

// checkOwner refuses an owner who is not a member of the organisation.
func checkOwner(ctx context.Context, q db.Querier, orgID, userID string) error {
	if userID == "" {
		return nil
	}
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM memberships WHERE org_id = $1 AND user_id = $2`, orgID, userID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return apperr.Field("owner_id", "the owner must be a member of the organisation")
	}
	return err
}
