-- Technical and organisational measures (the annex of a data processing
-- agreement): what the organisation does, by category, each linked to the
-- controls whose posture backs it.

-- +goose Up
CREATE TABLE measures (
    id          TEXT NOT NULL PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES orgs (id),
    category    TEXT NOT NULL, -- one of measure.Categories, or custom
    custom      TEXT NOT NULL, -- the category's name when category is custom
    title       TEXT NOT NULL,
    description TEXT NOT NULL,
    visibility  TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    deleted_at  BIGINT,
    UNIQUE (org_id, id)
);
CREATE INDEX measures_org ON measures (org_id);

CREATE TABLE measure_controls (
    org_id     TEXT NOT NULL REFERENCES orgs (id),
    measure_id TEXT NOT NULL,
    control_id TEXT NOT NULL,
    PRIMARY KEY (org_id, measure_id, control_id),
    FOREIGN KEY (org_id, measure_id) REFERENCES measures (org_id, id),
    FOREIGN KEY (org_id, control_id) REFERENCES controls (org_id, id)
);

-- +goose Down
DROP TABLE measure_controls;
DROP TABLE measures;
