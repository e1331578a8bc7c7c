-- The public trust center: whether an organisation publishes its site, the
-- revision its render cache is keyed by (bumped in the transaction of every
-- change a visitor could see), the host names the operator maps to an
-- organisation, and the requests visitors send for restricted documents.

-- +goose Up
ALTER TABLE orgs ADD COLUMN public_site BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE orgs ADD COLUMN public_revision BIGINT NOT NULL DEFAULT 0;

CREATE TABLE public_hosts (
    host       TEXT NOT NULL PRIMARY KEY, -- lower case, no port, no trailing dot
    org_id     TEXT NOT NULL REFERENCES orgs (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX public_hosts_org ON public_hosts (org_id);

CREATE TABLE access_requests (
    id          TEXT NOT NULL PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id),
    evidence_id TEXT NOT NULL,            -- the restricted document asked for
    name        TEXT NOT NULL,
    email       TEXT NOT NULL,            -- as given
    email_norm  TEXT NOT NULL,            -- normalised in Go, for erasure requests
    company     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    lang        TEXT NOT NULL,            -- en, fr: the language of any answer
    state       TEXT NOT NULL CHECK (state IN ('open', 'handled')),
    created_at  BIGINT NOT NULL,
    handled_at  BIGINT,
    handled_by  TEXT,                     -- the user who marked it handled
    UNIQUE (org_id, id),
    FOREIGN KEY (org_id, evidence_id) REFERENCES evidence (org_id, id)
);
CREATE INDEX access_requests_org ON access_requests (org_id, created_at);
CREATE INDEX access_requests_email ON access_requests (org_id, email_norm);

-- +goose Down
DROP TABLE access_requests;
DROP TABLE public_hosts;
ALTER TABLE orgs DROP COLUMN public_revision;
ALTER TABLE orgs DROP COLUMN public_site;
