-- Catalogue sync from TMDB and Google Books: runs, their checkpoints, and what a film's details
-- were last fetched for.

-- A fingerprint of the TMDB list entry (title, overview, date, genres, poster) the film's details
-- were last fetched for: while it matches, a re-sync does not fetch the details again.
ALTER TABLE movies ADD COLUMN tmdb_list_fingerprint text;
-- ISO 639-1 codes of the languages spoken in the film (TMDB's spoken_languages).
ALTER TABLE movies ADD COLUMN spoken_languages text[] NOT NULL DEFAULT '{}';

CREATE TABLE sync_runs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source       text NOT NULL CHECK (source IN ('tmdb', 'google_books')),
    started_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    -- 'running' also marks a run whose process died: the next run of the source resumes it.
    status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'finished')),
    options      jsonb NOT NULL DEFAULT '{}',
    counts       jsonb NOT NULL DEFAULT '{}',
    errors       jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX sync_runs_source_idx ON sync_runs (source, started_at DESC);

-- How many pages of one listing (a language's discover results, a book query) a run finished:
-- written in the transaction that stores those pages' items, so a resumed run starts after them.
CREATE TABLE sync_checkpoints (
    run_id      bigint NOT NULL REFERENCES sync_runs (id) ON DELETE CASCADE,
    listing     text NOT NULL,
    pages_done  integer NOT NULL CHECK (pages_done >= 0),
    finished    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (run_id, listing)
);
