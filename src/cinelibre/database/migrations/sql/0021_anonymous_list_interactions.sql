-- Clicks and views on lists served to callers who were not signed in, known only by the random
-- client id their browser sends (X-Client-Id): an experiment on the popular, similar or search
-- surface credits them as it credits a signed-in user's interactions.
CREATE TABLE anonymous_list_interactions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    list_id     uuid NOT NULL,
    client_id   text NOT NULL CHECK (client_id ~ '^[A-Za-z0-9_-]{8,64}$'),
    kind        text NOT NULL CHECK (kind IN ('click', 'view')),
    item_type   text NOT NULL CHECK (item_type IN ('movie', 'book')),
    item_id     bigint NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX anonymous_list_interactions_list_idx ON anonymous_list_interactions (list_id);
CREATE INDEX anonymous_list_interactions_created_idx ON anonymous_list_interactions (created_at);
