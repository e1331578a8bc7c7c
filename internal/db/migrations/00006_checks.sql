-- Automated checks: an evidence item of kind check with a target, the
-- assertions that must pass and an interval; its raw runs (kept 7 days) and
-- its state history (every change and one summary a day, kept 400 days:
-- more than 13 months, for audit periods).

-- +goose Up
CREATE TABLE checks (
    org_id           TEXT NOT NULL REFERENCES orgs (id),
    evidence_id      TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('http_headers', 'tls', 'dns', 'security_txt', 'http_up', 'push')),
    -- push: results posted by CI jobs and scripts; never run by Evident
    target           TEXT NOT NULL, -- what is checked; for push, the name the pushes use
    assertions       TEXT NOT NULL, -- JSON list of the assertions that must pass; [] for all of the kind's
    interval_minutes INTEGER NOT NULL,
    next_run_at      BIGINT NOT NULL,
    last_run_at      BIGINT,        -- NULL: never run
    last_passed      BOOLEAN,       -- the latest run's outcome
    last_passed_at   BIGINT,        -- the latest passing run
    PRIMARY KEY (org_id, evidence_id),
    FOREIGN KEY (org_id, evidence_id) REFERENCES evidence (org_id, id)
);
CREATE INDEX checks_due ON checks (next_run_at);

CREATE TABLE check_runs (
    id          TEXT NOT NULL PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id),
    evidence_id TEXT NOT NULL,
    at          BIGINT NOT NULL,
    duration_ms INTEGER NOT NULL,
    passed      BOOLEAN NOT NULL,
    error       TEXT NOT NULL,
    assertions  TEXT NOT NULL, -- JSON: every assertion evaluated, with its detail
    measured    TEXT NOT NULL, -- JSON: measured values (days left, status, ...)
    FOREIGN KEY (org_id, evidence_id) REFERENCES evidence (org_id, id)
);
CREATE INDEX check_runs_item ON check_runs (org_id, evidence_id, at);

CREATE TABLE check_states (
    org_id      TEXT NOT NULL REFERENCES orgs (id),
    evidence_id TEXT NOT NULL,
    at          BIGINT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('passing', 'failing')),
    reason      TEXT NOT NULL CHECK (reason IN ('change', 'daily')),
    detail      TEXT NOT NULL,
    FOREIGN KEY (org_id, evidence_id) REFERENCES evidence (org_id, id)
);
CREATE INDEX check_states_item ON check_states (org_id, evidence_id, at);

-- +goose Down
DROP TABLE check_states;
DROP TABLE check_runs;
DROP TABLE checks;
