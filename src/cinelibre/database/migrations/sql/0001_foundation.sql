-- Accounts, catalogue, ratings and interactions.

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- NULL for users brought in by an import (MovieLens, demo): they cannot log in.
    email           text,
    password_hash   text,
    name            text NOT NULL,
    -- Where an imported user came from ('ml-100k', 'ml-latest-small', 'demo', ...) and their id there.
    imported_from   text,
    external_id     bigint,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_login_complete CHECK ((email IS NULL) = (password_hash IS NULL)),
    CONSTRAINT users_import_complete CHECK ((imported_from IS NULL) = (external_id IS NULL)),
    CONSTRAINT users_email_not_blank CHECK (email IS NULL OR length(email) BETWEEN 3 AND 320)
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX users_import_key ON users (imported_from, external_id) WHERE imported_from IS NOT NULL;

CREATE TABLE movies (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title               text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    original_title      text,
    year                integer CHECK (year BETWEEN 1870 AND 2200),
    release_date        date,
    original_language   text CHECK (original_language ~ '^[a-z]{2,3}$'),
    genres              text[] NOT NULL DEFAULT '{}',
    keywords            text[] NOT NULL DEFAULT '{}',
    overview            text,
    directors           text[] NOT NULL DEFAULT '{}',
    cast_members        text[] NOT NULL DEFAULT '{}',
    poster_url          text,
    runtime_minutes     integer CHECK (runtime_minutes > 0),
    tmdb_id             integer UNIQUE,
    imdb_id             text UNIQUE CHECK (imdb_id ~ '^tt[0-9]+$'),
    -- MovieLens has two id spaces: ml-100k's, and the one shared by ml-latest, ml-25m and ml-32m.
    movielens_id        integer UNIQUE,
    movielens_100k_id   integer UNIQUE,
    popularity          double precision,
    vote_average        double precision,
    vote_count          integer,
    -- Our own users' ratings, kept up to date by every rating write.
    rating_count        integer NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
    rating_sum          numeric(14, 1) NOT NULL DEFAULT 0,
    average_rating      numeric(3, 2) GENERATED ALWAYS AS (
                            CASE WHEN rating_count > 0 THEN round(rating_sum / rating_count, 2) END
                        ) STORED,
    embedding           vector(384),
    embedding_model     text,
    content_hash        text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX movies_language_idx ON movies (original_language);
CREATE INDEX movies_year_idx ON movies (year);
CREATE INDEX movies_popularity_idx ON movies (popularity DESC NULLS LAST, id);
CREATE INDEX movies_rating_idx ON movies (average_rating DESC NULLS LAST, id);
CREATE INDEX movies_title_idx ON movies (lower(title), id);
CREATE INDEX movies_genres_idx ON movies USING gin (genres);

CREATE TABLE books (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title                   text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    subtitle                text,
    authors                 text[] NOT NULL DEFAULT '{}',
    description             text,
    categories              text[] NOT NULL DEFAULT '{}',
    language                text CHECK (language ~ '^[a-z]{2,3}$'),
    year                    integer CHECK (year BETWEEN 0 AND 2200),
    published_date          text,
    page_count              integer CHECK (page_count > 0),
    thumbnail_url           text,
    google_books_id         text UNIQUE,
    isbn13                  text UNIQUE CHECK (isbn13 ~ '^97[89][0-9]{10}$'),
    upstream_average_rating double precision,
    upstream_ratings_count  integer,
    rating_count            integer NOT NULL DEFAULT 0 CHECK (rating_count >= 0),
    rating_sum              numeric(14, 1) NOT NULL DEFAULT 0,
    average_rating          numeric(3, 2) GENERATED ALWAYS AS (
                                CASE WHEN rating_count > 0 THEN round(rating_sum / rating_count, 2) END
                            ) STORED,
    embedding               vector(384),
    embedding_model         text,
    content_hash            text,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX books_language_idx ON books (language);
CREATE INDEX books_categories_idx ON books USING gin (categories);
CREATE INDEX books_title_idx ON books (lower(title), id);

-- A rating or interaction names its item by (item_type, item_id), as the API does. The two
-- generated columns let PostgreSQL enforce that the item exists, and refuse to delete an item
-- that users have rated.
CREATE TABLE ratings (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    item_type   text NOT NULL CHECK (item_type IN ('movie', 'book')),
    item_id     bigint NOT NULL,
    rating      numeric(2, 1) NOT NULL CHECK (rating BETWEEN 0.5 AND 5.0 AND rating * 2 = trunc(rating * 2)),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    movie_id    bigint GENERATED ALWAYS AS (CASE WHEN item_type = 'movie' THEN item_id END) STORED
                REFERENCES movies (id),
    book_id     bigint GENERATED ALWAYS AS (CASE WHEN item_type = 'book' THEN item_id END) STORED
                REFERENCES books (id),
    CONSTRAINT ratings_one_per_item UNIQUE (user_id, item_type, item_id)
);
CREATE INDEX ratings_item_idx ON ratings (item_type, item_id);
CREATE INDEX ratings_updated_idx ON ratings (updated_at);

CREATE TABLE interactions (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind ~ '^[a-z][a-z_]{0,31}$'),
    item_type   text CHECK (item_type IN ('movie', 'book')),
    item_id     bigint,
    query       text CHECK (length(query) <= 500),
    created_at  timestamptz NOT NULL DEFAULT now(),
    movie_id    bigint GENERATED ALWAYS AS (CASE WHEN item_type = 'movie' THEN item_id END) STORED
                REFERENCES movies (id),
    book_id     bigint GENERATED ALWAYS AS (CASE WHEN item_type = 'book' THEN item_id END) STORED
                REFERENCES books (id),
    CONSTRAINT interactions_item_complete CHECK ((item_type IS NULL) = (item_id IS NULL))
);
CREATE INDEX interactions_user_idx ON interactions (user_id, created_at DESC);
CREATE INDEX interactions_item_idx ON interactions (item_type, item_id, created_at);
CREATE INDEX interactions_created_idx ON interactions (created_at);
