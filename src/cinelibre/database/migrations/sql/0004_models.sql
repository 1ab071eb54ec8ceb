-- Trained recommender models, kept in the database so that every API process serves the same one.

CREATE TABLE recommender_models (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            text NOT NULL,
    version         integer NOT NULL,
    trained_at      timestamptz NOT NULL DEFAULT now(),
    -- How many ratings it learnt from: retraining waits until enough new ones arrive.
    ratings_seen    bigint NOT NULL,
    parameters      jsonb NOT NULL,
    is_active       boolean NOT NULL DEFAULT false,
    CONSTRAINT recommender_models_version_key UNIQUE (kind, version)
);
-- Only one model of a kind serves at a time.
CREATE UNIQUE INDEX recommender_models_active_key ON recommender_models (kind) WHERE is_active;

-- Each item's learnt bias and factors; a user's own factors are solved from their ratings at
-- request time, so a new rating counts at once.
CREATE TABLE model_item_factors (
    model_id    bigint NOT NULL REFERENCES recommender_models (id) ON DELETE CASCADE,
    item_type   text NOT NULL CHECK (item_type IN ('movie', 'book')),
    item_id     bigint NOT NULL,
    bias        double precision NOT NULL,
    factors     vector NOT NULL,
    PRIMARY KEY (model_id, item_type, item_id)
);

-- The item-to-item model: for an item a user rated, the items it recommends, with weights.
CREATE TABLE model_item_neighbours (
    model_id        bigint NOT NULL REFERENCES recommender_models (id) ON DELETE CASCADE,
    item_type       text NOT NULL CHECK (item_type IN ('movie', 'book')),
    item_id         bigint NOT NULL,
    neighbour_type  text NOT NULL CHECK (neighbour_type IN ('movie', 'book')),
    neighbour_id    bigint NOT NULL,
    weight          real NOT NULL,
    PRIMARY KEY (model_id, item_type, item_id, neighbour_type, neighbour_id)
);
