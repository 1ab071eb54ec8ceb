-- Histories imported from other services (Letterboxd, IMDb, Goodreads), and films linked to the
-- books they adapt.

-- One row per import: what it did, and the rows it could not match alone, kept until the user
-- resolves them (POST /me/imports/{id}/resolve).
CREATE TABLE history_imports (
    id               uuid PRIMARY KEY,
    user_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    source           text NOT NULL CHECK (source IN ('letterboxd', 'imdb', 'goodreads')),
    -- The uploaded file's SHA-256: the same file imported again is recognised.
    file_sha256      text NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    rows             integer NOT NULL CHECK (rows >= 0),
    matched          integer NOT NULL DEFAULT 0,
    ratings_added    integer NOT NULL DEFAULT 0,
    ratings_updated  integer NOT NULL DEFAULT 0,
    wants_added      integer NOT NULL DEFAULT 0,
    -- [{"row", "title", "candidates": [...], ...}]: rows with several likely matches, awaiting a choice.
    ambiguous        jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(ambiguous) = 'array'),
    -- [{"row", "title", ...}]: rows nothing in the catalogue matched.
    not_found        jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(not_found) = 'array'),
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX history_imports_user_idx ON history_imports (user_id, created_at DESC);

-- A film and the book it adapts. `found_by` says how the link was made: TMDB's crew credits
-- (Novel, Book, Author, Short Story...), its keywords ("based on novel or book") matched against
-- the books by author and title, or the catalogue file that ships the link.
CREATE TABLE adaptations (
    movie_id    bigint NOT NULL REFERENCES movies (id) ON DELETE CASCADE,
    book_id     bigint NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    found_by    text NOT NULL CHECK (found_by IN ('tmdb_credits', 'tmdb_keywords', 'catalogue')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (movie_id, book_id)
);
CREATE INDEX adaptations_book_idx ON adaptations (book_id);
