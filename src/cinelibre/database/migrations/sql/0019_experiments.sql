-- Experiments: A/B tests and interleaving of recommender configurations on one surface, what
-- every served list showed (its exposure), and which interactions were made from which list.
CREATE TABLE experiments (
    id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                  text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    surface               text NOT NULL CHECK (surface IN ('personalized', 'similar', 'popular', 'search')),
    kind                  text NOT NULL CHECK (kind IN ('ab', 'interleaving')),
    status                text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'running', 'paused', 'stopped')),
    -- [{"name", "configuration", "share"}], the control first.
    variants              jsonb NOT NULL CHECK (jsonb_typeof(variants) = 'array'),
    expected_daily_users  integer CHECK (expected_daily_users > 0),
    created_at            timestamptz NOT NULL DEFAULT now(),
    started_at            timestamptz,
    stopped_at            timestamptz
);
-- One running experiment per surface: a caller is in at most one experiment per list.
CREATE UNIQUE INDEX experiments_one_running_per_surface ON experiments (surface) WHERE status = 'running';

-- One row per list served, written in batches after the answer has gone. No foreign keys: a row
-- may arrive after its user deleted their account (accounts delete their rows themselves), and
-- a batch must not fail for one such row.
CREATE TABLE list_exposures (
    list_id         uuid PRIMARY KEY,
    surface         text NOT NULL,
    user_id         bigint,
    client_id       text,
    experiment_id   bigint,
    variant         text,
    item_types      text[] NOT NULL,
    item_ids        bigint[] NOT NULL,
    -- Interleaving: which variant contributed each item (0: the first, 1: the second).
    teams           smallint[],
    -- The first item's place in the whole list (1 + the page's skip).
    first_position  integer NOT NULL,
    shown_at        timestamptz NOT NULL
);
CREATE INDEX list_exposures_experiment_idx ON list_exposures (experiment_id, variant) WHERE experiment_id IS NOT NULL;
CREATE INDEX list_exposures_user_idx ON list_exposures (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX list_exposures_shown_idx ON list_exposures (surface, shown_at);

-- The list an interaction was made from, as the client said; credited only where that list was
-- shown to the same user and held the item.
ALTER TABLE interactions ADD COLUMN list_id uuid;
CREATE INDEX interactions_list_idx ON interactions (list_id) WHERE list_id IS NOT NULL;
