-- CineLibre database schema.
-- Paste this whole file into Supabase's SQL editor (or run it with psql) on an empty database
-- to create the same schema that `cinelibre db migrate` creates. Generated from the migrations
-- by `cinelibre db schema`; do not edit by hand.

-- ===== 0001_foundation =====
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

-- ===== 0002_search =====
-- Semantic and full-text search: item documents, their embeddings, and the match functions.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- array_to_string() and concat_ws() are only STABLE (they must allow for any element type); for
-- text they are immutable, which generated columns require. NULL parts are skipped.
CREATE FUNCTION join_text(parts text[], separator text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN array_to_string(parts, separator);

CREATE FUNCTION language_name(code text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE code
        WHEN 'hi' THEN 'Hindi' WHEN 'ta' THEN 'Tamil' WHEN 'te' THEN 'Telugu' WHEN 'ml' THEN 'Malayalam'
        WHEN 'kn' THEN 'Kannada' WHEN 'bn' THEN 'Bengali' WHEN 'mr' THEN 'Marathi' WHEN 'pa' THEN 'Punjabi'
        WHEN 'gu' THEN 'Gujarati' WHEN 'or' THEN 'Odia' WHEN 'ur' THEN 'Urdu' WHEN 'as' THEN 'Assamese'
        WHEN 'en' THEN 'English' WHEN 'fr' THEN 'French' WHEN 'es' THEN 'Spanish' WHEN 'de' THEN 'German'
        WHEN 'it' THEN 'Italian' WHEN 'ja' THEN 'Japanese' WHEN 'ko' THEN 'Korean' WHEN 'zh' THEN 'Mandarin'
        WHEN 'cn' THEN 'Cantonese' WHEN 'ru' THEN 'Russian' WHEN 'pt' THEN 'Portuguese' WHEN 'fa' THEN 'Persian'
        WHEN 'sv' THEN 'Swedish' WHEN 'da' THEN 'Danish' WHEN 'no' THEN 'Norwegian' WHEN 'pl' THEN 'Polish'
        WHEN 'tr' THEN 'Turkish' WHEN 'ar' THEN 'Arabic' WHEN 'he' THEN 'Hebrew' WHEN 'ro' THEN 'Romanian'
        WHEN 'nl' THEN 'Dutch' WHEN 'fi' THEN 'Finnish' WHEN 'el' THEN 'Greek' WHEN 'th' THEN 'Thai'
        ELSE code
    END;

-- The text an item is embedded from: title, genres, overview, people, language and year.
CREATE FUNCTION movie_document(
    title text, original_title text, year integer, original_language text, genres text[], keywords text[],
    directors text[], cast_members text[], overview text
) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN concat(
        title,
        CASE WHEN original_title IS NOT NULL AND original_title <> title THEN ' (' || original_title || ')' END,
        CASE WHEN year IS NOT NULL THEN ', ' || year END,
        '. ',
        CASE WHEN original_language IS NOT NULL THEN language_name(original_language) || ' film. ' END,
        CASE WHEN cardinality(genres) > 0 THEN 'Genres: ' || join_text(genres, ', ') || '. ' END,
        CASE WHEN cardinality(directors) > 0 THEN 'Directed by ' || join_text(directors, ', ') || '. ' END,
        CASE WHEN cardinality(cast_members) > 0 THEN 'Starring ' || join_text(cast_members, ', ') || '. ' END,
        CASE WHEN cardinality(keywords) > 0 THEN 'Keywords: ' || join_text(keywords, ', ') || '. ' END,
        overview
    );

CREATE FUNCTION book_document(
    title text, subtitle text, year integer, language text, categories text[], authors text[], description text
) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN concat(
        title,
        CASE WHEN subtitle IS NOT NULL THEN ': ' || subtitle END,
        CASE WHEN year IS NOT NULL THEN ', ' || year END,
        '. ',
        CASE WHEN language IS NOT NULL THEN 'Book in ' || language_name(language) || '. ' END,
        CASE WHEN cardinality(authors) > 0 THEN 'By ' || join_text(authors, ', ') || '. ' END,
        CASE WHEN cardinality(categories) > 0 THEN 'Categories: ' || join_text(categories, ', ') || '. ' END,
        description
    );

ALTER TABLE movies
    ADD COLUMN document text GENERATED ALWAYS AS (
        movie_document(title, original_title, year, original_language, genres, keywords, directors, cast_members,
                       overview)
    ) STORED,
    -- The words of titles and people, unstemmed, for typo-tolerant matching through search_words.
    ADD COLUMN name_vector tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', join_text(ARRAY[title, original_title] || directors || cast_members, ' '))
    ) STORED,
    ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', join_text(ARRAY[title, original_title], ' ')), 'A')
        || setweight(to_tsvector('english', join_text(directors || cast_members, ' ')), 'B')
        || setweight(to_tsvector('english', join_text(genres || keywords || language_name(original_language), ' ')),
                     'C')
        || setweight(to_tsvector('english', coalesce(overview, '')), 'D')
    ) STORED;

ALTER TABLE books
    ADD COLUMN document text GENERATED ALWAYS AS (
        book_document(title, subtitle, year, language, categories, authors, description)
    ) STORED,
    ADD COLUMN name_vector tsvector GENERATED ALWAYS AS (
        to_tsvector('simple', join_text(ARRAY[title, subtitle] || authors, ' '))
    ) STORED,
    ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', join_text(ARRAY[title, subtitle], ' ')), 'A')
        || setweight(to_tsvector('english', join_text(authors, ' ')), 'B')
        || setweight(to_tsvector('english', join_text(categories || language_name(language), ' ')), 'C')
        || setweight(to_tsvector('english', coalesce(description, '')), 'D')
    ) STORED;

-- content_hash is md5(document) at the time the embedding was made: a different hash, or another
-- model, means the item needs embedding again.
COMMENT ON COLUMN movies.content_hash IS 'md5 of the document the current embedding was computed from';
COMMENT ON COLUMN books.content_hash IS 'md5 of the document the current embedding was computed from';

CREATE INDEX movies_embedding_idx ON movies USING hnsw (embedding vector_cosine_ops);
CREATE INDEX books_embedding_idx ON books USING hnsw (embedding vector_cosine_ops);
CREATE INDEX movies_search_idx ON movies USING gin (search_vector);
CREATE INDEX books_search_idx ON books USING gin (search_vector);
CREATE INDEX movies_name_vector_idx ON movies USING gin (name_vector);
CREATE INDEX books_name_vector_idx ON books USING gin (name_vector);

-- The catalogue's vocabulary, rebuilt after the catalogue changes (stale rows only cost a little
-- precision). search_terms counts how many items hold each full-text lexeme, so that search can
-- leave out words so common they match half the catalogue; search_words does the same for the
-- words of titles and names, a short dictionary where trigram look-ups find the right spelling
-- of a misspelt word quickly.
CREATE TABLE search_terms (
    lexeme      text PRIMARY KEY,
    documents   integer NOT NULL
);
CREATE TABLE search_words (
    word        text PRIMARY KEY,
    documents   integer NOT NULL
);
CREATE INDEX search_words_trgm_idx ON search_words USING gin (word gin_trgm_ops);

-- The semantic search functions, also callable through Supabase's RPC. They return the
-- closest items to query_embedding made by the same model, best first, with their cosine
-- similarity; filters are optional.
CREATE FUNCTION match_movies(
    query_embedding vector(384),
    match_threshold double precision DEFAULT 0,
    match_count integer DEFAULT 12,
    embedding_model_name text DEFAULT NULL,
    filter_language text DEFAULT NULL,
    filter_genre text DEFAULT NULL,
    filter_year_from integer DEFAULT NULL,
    filter_year_to integer DEFAULT NULL,
    exclude_id bigint DEFAULT NULL
) RETURNS TABLE (id bigint, similarity double precision)
    LANGUAGE sql STABLE PARALLEL SAFE
    -- Keep walking the HNSW graph when filters drop candidates, so filtered searches still fill the list.
    SET hnsw.iterative_scan = 'relaxed_order'
    SET hnsw.ef_search = 100
AS $$
    SELECT nearest.id, nearest.similarity
    FROM (
        SELECT m.id, 1 - (m.embedding <=> query_embedding) AS similarity
        FROM movies m
        WHERE m.embedding IS NOT NULL
          AND (embedding_model_name IS NULL OR m.embedding_model = embedding_model_name)
          AND (filter_language IS NULL OR m.original_language = filter_language)
          AND (filter_genre IS NULL OR EXISTS (SELECT 1 FROM unnest(m.genres) g WHERE lower(g) = lower(filter_genre)))
          AND (filter_year_from IS NULL OR m.year >= filter_year_from)
          AND (filter_year_to IS NULL OR m.year <= filter_year_to)
          AND (exclude_id IS NULL OR m.id <> exclude_id)
        ORDER BY m.embedding <=> query_embedding
        LIMIT match_count
    ) AS nearest
    WHERE nearest.similarity >= match_threshold
    ORDER BY nearest.similarity DESC, nearest.id
$$;

CREATE FUNCTION match_books(
    query_embedding vector(384),
    match_threshold double precision DEFAULT 0,
    match_count integer DEFAULT 12,
    embedding_model_name text DEFAULT NULL,
    filter_language text DEFAULT NULL,
    filter_category text DEFAULT NULL,
    filter_year_from integer DEFAULT NULL,
    filter_year_to integer DEFAULT NULL,
    exclude_id bigint DEFAULT NULL
) RETURNS TABLE (id bigint, similarity double precision)
    LANGUAGE sql STABLE PARALLEL SAFE
    SET hnsw.iterative_scan = 'relaxed_order'
    SET hnsw.ef_search = 100
AS $$
    SELECT nearest.id, nearest.similarity
    FROM (
        SELECT b.id, 1 - (b.embedding <=> query_embedding) AS similarity
        FROM books b
        WHERE b.embedding IS NOT NULL
          AND (embedding_model_name IS NULL OR b.embedding_model = embedding_model_name)
          AND (filter_language IS NULL OR b.language = filter_language)
          AND (filter_category IS NULL
               OR EXISTS (SELECT 1 FROM unnest(b.categories) c WHERE lower(c) = lower(filter_category)))
          AND (filter_year_from IS NULL OR b.year >= filter_year_from)
          AND (filter_year_to IS NULL OR b.year <= filter_year_to)
          AND (exclude_id IS NULL OR b.id <> exclude_id)
        ORDER BY b.embedding <=> query_embedding
        LIMIT match_count
    ) AS nearest
    WHERE nearest.similarity >= match_threshold
    ORDER BY nearest.similarity DESC, nearest.id
$$;

-- ===== 0003_recommend =====
-- The SQL recommendation functions, also callable through Supabase's RPC.

-- Popular items: ranked by a Bayesian average of our users' ratings. The prior is pessimistic,
-- prior_weight phantom ratings at the middle of the scale (2.75 stars): a prior at the mean would
-- still let one 5-star vote beat items that many users rated a little below the mean. So an item
-- earns its place with several good ratings. All time, it reads the items' own rating counts and
-- sums (kept by every rating write), so it stays fast on millions of ratings. With window_days,
-- only ratings and interactions of that many recent days count, and views and clicks break ties.
CREATE FUNCTION get_popular_items(
    item_type_filter text DEFAULT NULL,
    window_days integer DEFAULT NULL,
    match_count integer DEFAULT 20,
    prior_weight double precision DEFAULT 5,
    prior_rating double precision DEFAULT 2.75
) RETURNS TABLE (
    item_type text, item_id bigint, score double precision, average_rating double precision,
    rating_count bigint, interaction_count bigint
)
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    -- All time: from the items' own rating aggregates, kept current by every rating write.
    SELECT ranked.* FROM (
        SELECT 'movie'::text, id, (prior_rating * prior_weight + rating_sum::float8) / (prior_weight + rating_count),
               average_rating::float8, rating_count::bigint, 0::bigint
        FROM movies
        WHERE window_days IS NULL AND rating_count > 0 AND coalesce(item_type_filter, 'movie') = 'movie'
        UNION ALL
        SELECT 'book', id, (prior_rating * prior_weight + rating_sum::float8) / (prior_weight + rating_count),
               average_rating::float8, rating_count::bigint, 0::bigint
        FROM books
        WHERE window_days IS NULL AND rating_count > 0 AND coalesce(item_type_filter, 'book') = 'book'
        ORDER BY 3 DESC, 5 DESC, 1, 2
        LIMIT match_count
    ) AS ranked
    WHERE window_days IS NULL
    UNION ALL
    -- A recent window: from the ratings and interactions themselves.
    (
    WITH recent_ratings AS (
        SELECT r.item_type, r.item_id, count(*) AS n, sum(r.rating)::float8 AS total
        FROM ratings r
        WHERE window_days IS NOT NULL
          AND (item_type_filter IS NULL OR r.item_type = item_type_filter)
          AND r.updated_at >= now() - make_interval(days => window_days)
        GROUP BY r.item_type, r.item_id
    ), recent_interactions AS (
        SELECT i.item_type, i.item_id, count(*) AS n
        FROM interactions i
        WHERE window_days IS NOT NULL AND i.item_id IS NOT NULL AND i.kind IN ('view', 'click')
          AND (item_type_filter IS NULL OR i.item_type = item_type_filter)
          AND i.created_at >= now() - make_interval(days => window_days)
        GROUP BY i.item_type, i.item_id
    )
    SELECT
        coalesce(r.item_type, i.item_type),
        coalesce(r.item_id, i.item_id),
        (prior_rating * prior_weight + coalesce(r.total, 0)) / (prior_weight + coalesce(r.n, 0)),
        r.total / r.n,
        coalesce(r.n, 0),
        coalesce(i.n, 0)
    FROM recent_ratings r
    FULL JOIN recent_interactions i ON i.item_type = r.item_type AND i.item_id = r.item_id
    ORDER BY 3 DESC, 6 DESC, 5 DESC, 1, 2
    LIMIT match_count
    )
$$;

-- Classic user-based collaborative filtering (Pearson user-kNN): Pearson correlation with every user over the
-- items both rated; neighbours need at least 3 such items and a correlation above 0.3; the 50
-- most correlated are kept. An unrated item's predicted rating is the target user's mean plus
-- the similarity-weighted mean of the neighbours' mean-centred ratings of it. With only_item_id
-- (and item_type_filter), the prediction for that one item, rated by the user or not.
CREATE FUNCTION get_collaborative_recommendations(
    target_user_id bigint,
    match_count integer DEFAULT 20,
    item_type_filter text DEFAULT NULL,
    min_common_items integer DEFAULT 3,
    min_correlation double precision DEFAULT 0.3,
    max_neighbours integer DEFAULT 50,
    only_item_id bigint DEFAULT NULL
) RETURNS TABLE (item_type text, item_id bigint, predicted_rating double precision, neighbour_count bigint)
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH target AS (
        SELECT item_type, item_id, rating::float8 AS rating FROM ratings WHERE user_id = target_user_id
    ), correlations AS (
        SELECT other.user_id, corr(target.rating, other.rating::float8) AS pearson
        FROM target
        JOIN ratings other ON other.item_type = target.item_type AND other.item_id = target.item_id
        WHERE other.user_id <> target_user_id
        GROUP BY other.user_id
        HAVING count(*) >= min_common_items
    ), neighbours AS (
        SELECT user_id, pearson FROM correlations
        WHERE pearson > min_correlation
        ORDER BY pearson DESC, user_id
        LIMIT max_neighbours
    ), neighbour_means AS (
        SELECT r.user_id, avg(r.rating::float8) AS mean
        FROM ratings r JOIN neighbours n ON n.user_id = r.user_id
        GROUP BY r.user_id
    ), predictions AS (
        SELECT r.item_type, r.item_id,
               sum(n.pearson * (r.rating::float8 - m.mean)) / sum(abs(n.pearson)) AS offset_from_mean,
               count(*) AS neighbour_count
        FROM ratings r
        JOIN neighbours n ON n.user_id = r.user_id
        JOIN neighbour_means m ON m.user_id = r.user_id
        WHERE (item_type_filter IS NULL OR r.item_type = item_type_filter)
          AND (only_item_id IS NULL OR r.item_id = only_item_id)
          AND (only_item_id IS NOT NULL
               OR NOT EXISTS (SELECT 1 FROM target t WHERE t.item_type = r.item_type AND t.item_id = r.item_id))
        GROUP BY r.item_type, r.item_id
    )
    SELECT p.item_type, p.item_id, (SELECT avg(rating) FROM target) + p.offset_from_mean, p.neighbour_count
    FROM predictions p
    ORDER BY 3 DESC, p.neighbour_count DESC, p.item_type, p.item_id
    LIMIT match_count
$$;

-- ===== 0004_models =====
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

-- ===== 0005_factor_index =====
-- The rating model's item factors become fixed-width vectors with an HNSW index, so "items rated
-- like this one" is an index top-k instead of a scan of every item's factors.

-- Models of another width, and the item-kNN model the ranking model (EASE) replaced, cannot be
-- kept: the next training writes their successors.
DELETE FROM recommender_models m
WHERE m.kind = 'item-knn'
   OR EXISTS (SELECT 1 FROM model_item_factors f WHERE f.model_id = m.id AND vector_dims(f.factors) <> 64);

ALTER TABLE model_item_factors ALTER COLUMN factors TYPE vector(64);
CREATE INDEX model_item_factors_hnsw_idx ON model_item_factors USING hnsw (factors vector_cosine_ops);

-- Items whose factors are closest (cosine) to a given item's in one rating model: the
-- collaborative side of "similar items". Empty when the model does not know the item.
CREATE FUNCTION similar_by_ratings(
    rating_model_id bigint,
    source_type text,
    source_id bigint,
    target_type text,
    match_count integer DEFAULT 20
) RETURNS TABLE (item_type text, item_id bigint, similarity double precision)
    LANGUAGE sql STABLE PARALLEL SAFE
    -- Other model versions and item types share the index: keep walking the graph past them.
    SET hnsw.iterative_scan = 'relaxed_order'
    SET hnsw.ef_search = 100
AS $$
    SELECT nearest.item_type, nearest.item_id, nearest.similarity
    FROM (
        SELECT f.item_type, f.item_id, 1 - (f.factors <=> source.factors) AS similarity
        FROM model_item_factors f,
             (SELECT factors FROM model_item_factors
              WHERE model_id = rating_model_id AND item_type = source_type AND item_id = source_id) AS source
        WHERE f.model_id = rating_model_id AND f.item_type = target_type
          AND NOT (f.item_type = source_type AND f.item_id = source_id)
        ORDER BY f.factors <=> (SELECT factors FROM model_item_factors
                                WHERE model_id = rating_model_id AND item_type = source_type AND item_id = source_id)
        LIMIT match_count
    ) AS nearest
    ORDER BY nearest.similarity DESC, nearest.item_id
$$;

-- ===== 0006_sync =====
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

-- ===== 0007_activity =====
-- A counter per user that moves whenever their ratings or interactions change. Cached
-- personalized lists are keyed by it, so every API instance, with or without a shared cache,
-- stops serving a list the moment the user's own activity makes it stale.

ALTER TABLE users ADD COLUMN activity_version bigint NOT NULL DEFAULT 0;

-- Statement-level, so a bulk import touches each user once rather than once per row.
CREATE FUNCTION bump_activity_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE users SET activity_version = activity_version + 1
    WHERE id IN (SELECT DISTINCT user_id FROM changed_rows);
    RETURN NULL;
END
$$;

-- PostgreSQL allows a transition table only on single-event triggers, hence one per event.
CREATE TRIGGER ratings_inserted_bump_activity AFTER INSERT ON ratings
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_activity_version();
CREATE TRIGGER ratings_updated_bump_activity AFTER UPDATE ON ratings
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_activity_version();
CREATE TRIGGER ratings_deleted_bump_activity AFTER DELETE ON ratings
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_activity_version();
CREATE TRIGGER interactions_inserted_bump_activity AFTER INSERT ON interactions
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_activity_version();
CREATE TRIGGER interactions_deleted_bump_activity AFTER DELETE ON interactions
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION bump_activity_version();

-- ===== 0008_list_order_indexes =====
-- Indexes in the exact order the catalogue lists sort by. The first ones stopped at the first
-- column, and where most rows share it (MovieLens films have no TMDB popularity) a page had to
-- read and sort the whole table: 9 ms at 10,000 films, 0.1 ms with these.

DROP INDEX movies_popularity_idx;
CREATE INDEX movies_popularity_idx ON movies (popularity DESC NULLS LAST, rating_count DESC, id);
DROP INDEX movies_rating_idx;
CREATE INDEX movies_rating_idx ON movies (average_rating DESC NULLS LAST, rating_count DESC, id);
CREATE INDEX books_rating_count_idx ON books (rating_count DESC, upstream_ratings_count DESC NULLS LAST, id);

-- ===== 0009_item_embeddings =====
-- Item vectors move out of the catalogue tables into tables of their own. A rating changes its
-- item's aggregates, and PostgreSQL gives an updated row new entries in every index of its table
-- (unless no indexed column changed): with the HNSW index on movies, each rating paid for an
-- insertion into the vector graph (2.7 ms of database time instead of 0.6 ms, measured with
-- pgbench on ml-latest-small), and the graph grew with every rating. Vectors now change only when
-- an item's text does.

CREATE TABLE movie_embeddings (
    movie_id      bigint PRIMARY KEY REFERENCES movies (id) ON DELETE CASCADE,
    model         text NOT NULL,
    -- md5 of the document the vector was computed from; NULL marks it for embedding again.
    content_hash  text,
    embedding     vector(384) NOT NULL
);
CREATE TABLE book_embeddings (
    book_id       bigint PRIMARY KEY REFERENCES books (id) ON DELETE CASCADE,
    model         text NOT NULL,
    content_hash  text,
    embedding     vector(384) NOT NULL
);

INSERT INTO movie_embeddings (movie_id, model, content_hash, embedding)
SELECT id, embedding_model, content_hash, embedding FROM movies
WHERE embedding IS NOT NULL AND embedding_model IS NOT NULL;
INSERT INTO book_embeddings (book_id, model, content_hash, embedding)
SELECT id, embedding_model, content_hash, embedding FROM books
WHERE embedding IS NOT NULL AND embedding_model IS NOT NULL;

CREATE INDEX movie_embeddings_hnsw_idx ON movie_embeddings USING hnsw (embedding vector_cosine_ops);
CREATE INDEX book_embeddings_hnsw_idx ON book_embeddings USING hnsw (embedding vector_cosine_ops);

CREATE OR REPLACE FUNCTION match_movies(
    query_embedding vector(384),
    match_threshold double precision DEFAULT 0,
    match_count integer DEFAULT 12,
    embedding_model_name text DEFAULT NULL,
    filter_language text DEFAULT NULL,
    filter_genre text DEFAULT NULL,
    filter_year_from integer DEFAULT NULL,
    filter_year_to integer DEFAULT NULL,
    exclude_id bigint DEFAULT NULL
) RETURNS TABLE (id bigint, similarity double precision)
    LANGUAGE sql STABLE PARALLEL SAFE
    -- Keep walking the HNSW graph when filters drop candidates, so filtered searches still fill the list.
    SET hnsw.iterative_scan = 'relaxed_order'
    SET hnsw.ef_search = 100
AS $$
    SELECT nearest.id, nearest.similarity
    FROM (
        SELECT m.id, 1 - (e.embedding <=> query_embedding) AS similarity
        FROM movie_embeddings e JOIN movies m ON m.id = e.movie_id
        WHERE (embedding_model_name IS NULL OR e.model = embedding_model_name)
          AND (filter_language IS NULL OR m.original_language = filter_language)
          AND (filter_genre IS NULL OR EXISTS (SELECT 1 FROM unnest(m.genres) g WHERE lower(g) = lower(filter_genre)))
          AND (filter_year_from IS NULL OR m.year >= filter_year_from)
          AND (filter_year_to IS NULL OR m.year <= filter_year_to)
          AND (exclude_id IS NULL OR m.id <> exclude_id)
        ORDER BY e.embedding <=> query_embedding
        LIMIT match_count
    ) AS nearest
    WHERE nearest.similarity >= match_threshold
    ORDER BY nearest.similarity DESC, nearest.id
$$;

CREATE OR REPLACE FUNCTION match_books(
    query_embedding vector(384),
    match_threshold double precision DEFAULT 0,
    match_count integer DEFAULT 12,
    embedding_model_name text DEFAULT NULL,
    filter_language text DEFAULT NULL,
    filter_category text DEFAULT NULL,
    filter_year_from integer DEFAULT NULL,
    filter_year_to integer DEFAULT NULL,
    exclude_id bigint DEFAULT NULL
) RETURNS TABLE (id bigint, similarity double precision)
    LANGUAGE sql STABLE PARALLEL SAFE
    SET hnsw.iterative_scan = 'relaxed_order'
    SET hnsw.ef_search = 100
AS $$
    SELECT nearest.id, nearest.similarity
    FROM (
        SELECT b.id, 1 - (e.embedding <=> query_embedding) AS similarity
        FROM book_embeddings e JOIN books b ON b.id = e.book_id
        WHERE (embedding_model_name IS NULL OR e.model = embedding_model_name)
          AND (filter_language IS NULL OR b.language = filter_language)
          AND (filter_category IS NULL
               OR EXISTS (SELECT 1 FROM unnest(b.categories) c WHERE lower(c) = lower(filter_category)))
          AND (filter_year_from IS NULL OR b.year >= filter_year_from)
          AND (filter_year_to IS NULL OR b.year <= filter_year_to)
          AND (exclude_id IS NULL OR b.id <> exclude_id)
        ORDER BY e.embedding <=> query_embedding
        LIMIT match_count
    ) AS nearest
    WHERE nearest.similarity >= match_threshold
    ORDER BY nearest.similarity DESC, nearest.id
$$;

ALTER TABLE movies DROP COLUMN embedding, DROP COLUMN embedding_model, DROP COLUMN content_hash;
ALTER TABLE books DROP COLUMN embedding, DROP COLUMN embedding_model, DROP COLUMN content_hash;

-- ===== 0010_accounts =====
-- Account security. token_version is copied into every access token (the `ver` claim); moving it
-- (a password change, "log out everywhere") makes every token issued before useless at once,
-- on every instance, without a list of revoked tokens. is_admin opens the /admin operations.

ALTER TABLE users ADD COLUMN token_version integer NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN is_admin boolean NOT NULL DEFAULT false;

-- ===== 0011_item_documents =====
-- Documents that read as sentences, so that an item known only by its title, year and genres (a
-- MovieLens film, a sparse upstream record) is embedded from all that is known about it, and a
-- described item's overview comes before its long lists, within the model's 256 tokens:
--   Toy Story (1995). Adventure, Animation, Family, Comedy, Fantasy film. Tags: pixar, fun.
-- Every document changes, so every item is embedded again (its content hash no longer matches).

-- What MovieLens users tagged a film with, the most used first (from the data set's tags.csv).
ALTER TABLE movies ADD COLUMN tags text[] NOT NULL DEFAULT '{}';
-- When `cinelibre sync movies --enrich` last had TMDB's answer about this film's details (its
-- details, or that TMDB no longer has it): enrichment asks only about films it has not asked about.
ALTER TABLE movies ADD COLUMN tmdb_enriched_at timestamptz;

ALTER TABLE movies DROP COLUMN document;
ALTER TABLE books DROP COLUMN document;
DROP FUNCTION movie_document(text, text, integer, text, text[], text[], text[], text[], text);
DROP FUNCTION book_document(text, text, integer, text, text[], text[], text);

CREATE FUNCTION movie_document(
    title text, original_title text, year integer, original_language text, genres text[], keywords text[],
    tags text[], directors text[], cast_members text[], overview text
) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN join_text(ARRAY[
        title || coalesce(' (' || nullif(join_text(ARRAY[
            CASE WHEN original_title <> title THEN original_title END, year::text
        ], ', '), '') || ')', '') || '.',
        CASE WHEN cardinality(genres) > 0 THEN join_text(genres, ', ') || ' film' ELSE 'Film' END
            || coalesce(' in ' || language_name(original_language), '') || '.',
        CASE WHEN cardinality(directors) > 0 THEN 'Directed by ' || join_text(directors, ', ') || '.' END,
        CASE WHEN cardinality(cast_members) > 0 THEN 'Starring ' || join_text(cast_members, ', ') || '.' END,
        overview,
        CASE WHEN cardinality(tags) > 0 THEN 'Tags: ' || join_text(tags, ', ') || '.' END,
        CASE WHEN cardinality(keywords) > 0 THEN 'Keywords: ' || join_text(keywords, ', ') || '.' END
    ], ' ');

CREATE FUNCTION book_document(
    title text, subtitle text, year integer, language text, categories text[], authors text[], description text
) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN join_text(ARRAY[
        title || coalesce(': ' || subtitle, '') || coalesce(' (' || year || ')', '') || '.',
        CASE WHEN cardinality(categories) > 0 THEN join_text(categories, ', ') || ' book' ELSE 'Book' END
            || CASE WHEN cardinality(authors) > 0 THEN ' by ' || join_text(authors, ', ') ELSE '' END
            || coalesce(' in ' || language_name(language), '') || '.',
        description
    ], ' ');

ALTER TABLE movies ADD COLUMN document text GENERATED ALWAYS AS (
    movie_document(title, original_title, year, original_language, genres, keywords, tags, directors, cast_members,
                   overview)
) STORED;
ALTER TABLE books ADD COLUMN document text GENERATED ALWAYS AS (
    book_document(title, subtitle, year, language, categories, authors, description)
) STORED;

-- ===== 0012_search_generation =====
-- A number that moves whenever what search ranks by changes: item vectors written or marked for
-- embedding again, the search vocabulary rebuilt. Search answers are cached under it (with the
-- newest item ids), so a cached answer never outlives the vectors it was ranked with, on any
-- instance sharing the cache. One row, read by every search with a primary-key lookup.
CREATE TABLE search_generation (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    generation  bigint NOT NULL
);
INSERT INTO search_generation (generation) VALUES (0);

-- ===== 0013_described_first =====
-- A vector records whether the text it was embedded from had an overview (a book: a description).
-- A film known only by its title, year and genres (most MovieLens films) is embedded mostly from
-- its title words, so "a lonely man and a stray dog" finds Stray Dog (1949) closer than the films
-- about one. Search asks for described and undescribed items separately, each list from an HNSW
-- index of its own, and may rank the second a little lower (match_movies' undescribed_penalty):
-- both lists stay exact nearest-neighbour scans of their index, whatever the share of each kind.
-- The flag is written with the vector, so it always describes the text that vector came from.

ALTER TABLE movie_embeddings ADD COLUMN described boolean NOT NULL DEFAULT true;
ALTER TABLE book_embeddings ADD COLUMN described boolean NOT NULL DEFAULT true;
COMMENT ON COLUMN movie_embeddings.described IS 'the embedded text had an overview';
COMMENT ON COLUMN book_embeddings.described IS 'the embedded text had a description';

UPDATE movie_embeddings e SET described = coalesce(m.overview <> '', false) FROM movies m WHERE m.id = e.movie_id;
UPDATE book_embeddings e SET described = coalesce(b.description <> '', false) FROM books b WHERE b.id = e.book_id;

DROP INDEX movie_embeddings_hnsw_idx;
DROP INDEX book_embeddings_hnsw_idx;
CREATE INDEX movie_embeddings_described_hnsw_idx ON movie_embeddings USING hnsw (embedding vector_cosine_ops)
    WHERE described;
CREATE INDEX movie_embeddings_undescribed_hnsw_idx ON movie_embeddings USING hnsw (embedding vector_cosine_ops)
    WHERE NOT described;
CREATE INDEX book_embeddings_described_hnsw_idx ON book_embeddings USING hnsw (embedding vector_cosine_ops)
    WHERE described;
CREATE INDEX book_embeddings_undescribed_hnsw_idx ON book_embeddings USING hnsw (embedding vector_cosine_ops)
    WHERE NOT described;

DROP FUNCTION match_movies(vector, double precision, integer, text, text, text, integer, integer, bigint);
DROP FUNCTION match_books(vector, double precision, integer, text, text, text, integer, integer, bigint);

-- Nearest neighbours by `score`: the cosine similarity, less undescribed_penalty for an item
-- without an overview (0, the default: plain nearest neighbours). `similarity` stays the true
-- cosine similarity, which match_threshold applies to.
--
-- Without filters, the match_count nearest described items and the match_count nearest
-- undescribed ones, each read from its partial index in distance order, are merged: exact in
-- score, whatever the share of each kind. With a filter (language, genre, years), the items it
-- keeps are compared one by one instead, best by score: an index walk would have to pass over
-- every item the filter drops (200 ms for Hindi films among 10,000 mostly English ones).
--
-- Sequential scans are off for these statements. A SQL function's statement is planned for its
-- arguments only on its first calls, then once for any; written as a join of the vectors with the
-- catalogue, the filters (each `x IS NULL OR ...`) made that plan expect a handful of rows and read
-- every vector (27 ms a call with 10,000 films, growing with the catalogue), and told the values,
-- the planner still preferred reading every vector to a small partial index (490 described films
-- among 10,000: 14.6 ms a call, against 3.8 ms through the index).
CREATE FUNCTION match_movies(
    query_embedding vector(384),
    match_threshold double precision DEFAULT 0,
    match_count integer DEFAULT 12,
    embedding_model_name text DEFAULT NULL,
    filter_language text DEFAULT NULL,
    filter_genre text DEFAULT NULL,
    filter_year_from integer DEFAULT NULL,
    filter_year_to integer DEFAULT NULL,
    exclude_id bigint DEFAULT NULL,
    undescribed_penalty double precision DEFAULT 0
) RETURNS TABLE (id bigint, similarity double precision, score double precision)
    LANGUAGE sql STABLE PARALLEL SAFE
    -- Keep walking the HNSW graph while vectors of another model or exclude_id drop candidates.
    SET hnsw.iterative_scan = 'relaxed_order'
    SET hnsw.ef_search = 100
    SET enable_seqscan = off
AS $$
    SELECT nearest.id, nearest.similarity,
           nearest.similarity - CASE WHEN nearest.described THEN 0 ELSE undescribed_penalty END AS score
    FROM (
        (SELECT e.movie_id AS id, e.described, 1 - (e.embedding <=> query_embedding) AS similarity
         FROM movie_embeddings e
         WHERE e.described
           AND (filter_language IS NULL AND filter_genre IS NULL
                AND filter_year_from IS NULL AND filter_year_to IS NULL)
           AND (embedding_model_name IS NULL OR e.model = embedding_model_name)
           AND (exclude_id IS NULL OR e.movie_id <> exclude_id)
         ORDER BY e.embedding <=> query_embedding
         LIMIT match_count)
        UNION ALL
        (SELECT e.movie_id AS id, e.described, 1 - (e.embedding <=> query_embedding) AS similarity
         FROM movie_embeddings e
         WHERE NOT e.described
           AND (filter_language IS NULL AND filter_genre IS NULL
                AND filter_year_from IS NULL AND filter_year_to IS NULL)
           AND (embedding_model_name IS NULL OR e.model = embedding_model_name)
           AND (exclude_id IS NULL OR e.movie_id <> exclude_id)
         ORDER BY e.embedding <=> query_embedding
         LIMIT match_count)
        UNION ALL
        (SELECT m.id, e.described, 1 - (e.embedding <=> query_embedding) AS similarity
         FROM movies m JOIN movie_embeddings e ON e.movie_id = m.id
         WHERE NOT (filter_language IS NULL AND filter_genre IS NULL
                    AND filter_year_from IS NULL AND filter_year_to IS NULL)
           AND (embedding_model_name IS NULL OR e.model = embedding_model_name)
           AND (exclude_id IS NULL OR m.id <> exclude_id)
           AND (filter_language IS NULL OR m.original_language = filter_language)
           AND (filter_genre IS NULL
                OR EXISTS (SELECT 1 FROM unnest(m.genres) g WHERE lower(g) = lower(filter_genre)))
           AND (filter_year_from IS NULL OR m.year >= filter_year_from)
           AND (filter_year_to IS NULL OR m.year <= filter_year_to)
         ORDER BY (e.embedding <=> query_embedding) + CASE WHEN e.described THEN 0 ELSE undescribed_penalty END
         LIMIT match_count)
    ) AS nearest
    WHERE nearest.similarity >= match_threshold
    ORDER BY score DESC, nearest.id
    LIMIT match_count
$$;

CREATE FUNCTION match_books(
    query_embedding vector(384),
    match_threshold double precision DEFAULT 0,
    match_count integer DEFAULT 12,
    embedding_model_name text DEFAULT NULL,
    filter_language text DEFAULT NULL,
    filter_category text DEFAULT NULL,
    filter_year_from integer DEFAULT NULL,
    filter_year_to integer DEFAULT NULL,
    exclude_id bigint DEFAULT NULL,
    undescribed_penalty double precision DEFAULT 0
) RETURNS TABLE (id bigint, similarity double precision, score double precision)
    LANGUAGE sql STABLE PARALLEL SAFE
    -- Keep walking the HNSW graph while vectors of another model or exclude_id drop candidates.
    SET hnsw.iterative_scan = 'relaxed_order'
    SET hnsw.ef_search = 100
    SET enable_seqscan = off
AS $$
    SELECT nearest.id, nearest.similarity,
           nearest.similarity - CASE WHEN nearest.described THEN 0 ELSE undescribed_penalty END AS score
    FROM (
        (SELECT e.book_id AS id, e.described, 1 - (e.embedding <=> query_embedding) AS similarity
         FROM book_embeddings e
         WHERE e.described
           AND (filter_language IS NULL AND filter_category IS NULL
                AND filter_year_from IS NULL AND filter_year_to IS NULL)
           AND (embedding_model_name IS NULL OR e.model = embedding_model_name)
           AND (exclude_id IS NULL OR e.book_id <> exclude_id)
         ORDER BY e.embedding <=> query_embedding
         LIMIT match_count)
        UNION ALL
        (SELECT e.book_id AS id, e.described, 1 - (e.embedding <=> query_embedding) AS similarity
         FROM book_embeddings e
         WHERE NOT e.described
           AND (filter_language IS NULL AND filter_category IS NULL
                AND filter_year_from IS NULL AND filter_year_to IS NULL)
           AND (embedding_model_name IS NULL OR e.model = embedding_model_name)
           AND (exclude_id IS NULL OR e.book_id <> exclude_id)
         ORDER BY e.embedding <=> query_embedding
         LIMIT match_count)
        UNION ALL
        (SELECT b.id, e.described, 1 - (e.embedding <=> query_embedding) AS similarity
         FROM books b JOIN book_embeddings e ON e.book_id = b.id
         WHERE NOT (filter_language IS NULL AND filter_category IS NULL
                    AND filter_year_from IS NULL AND filter_year_to IS NULL)
           AND (embedding_model_name IS NULL OR e.model = embedding_model_name)
           AND (exclude_id IS NULL OR b.id <> exclude_id)
           AND (filter_language IS NULL OR b.language = filter_language)
           AND (filter_category IS NULL
                OR EXISTS (SELECT 1 FROM unnest(b.categories) g WHERE lower(g) = lower(filter_category)))
           AND (filter_year_from IS NULL OR b.year >= filter_year_from)
           AND (filter_year_to IS NULL OR b.year <= filter_year_to)
         ORDER BY (e.embedding <=> query_embedding) + CASE WHEN e.described THEN 0 ELSE undescribed_penalty END
         LIMIT match_count)
    ) AS nearest
    WHERE nearest.similarity >= match_threshold
    ORDER BY score DESC, nearest.id
    LIMIT match_count
$$;

-- ===== 0014_overview_first_documents =====
-- An item's overview (a book's description) opens its document, before its title and the rest:
--   A cowboy doll is threatened when a new spaceman figure arrives... Toy Story (1995). Adventure,
--   Animation film in English. Directed by John Lasseter. Starring Tom Hanks. Tags: pixar, fun.
-- The embedding model pools every word piece of the text, and a title, a list of genres and a
-- dozen names ahead of the overview pulled a described item's vector toward them; descriptions are
-- what people search by. Measured on the tune half of the query set: see docs/search.md. An item
-- without an overview reads as before, so only described items are embedded again.

ALTER TABLE movies DROP COLUMN document;
ALTER TABLE books DROP COLUMN document;
DROP FUNCTION movie_document(text, text, integer, text, text[], text[], text[], text[], text[], text);
DROP FUNCTION book_document(text, text, integer, text, text[], text[], text);

CREATE FUNCTION movie_document(
    title text, original_title text, year integer, original_language text, genres text[], keywords text[],
    tags text[], directors text[], cast_members text[], overview text
) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN join_text(ARRAY[
        overview,
        title || coalesce(' (' || nullif(join_text(ARRAY[
            CASE WHEN original_title <> title THEN original_title END, year::text
        ], ', '), '') || ')', '') || '.',
        CASE WHEN cardinality(genres) > 0 THEN join_text(genres, ', ') || ' film' ELSE 'Film' END
            || coalesce(' in ' || language_name(original_language), '') || '.',
        CASE WHEN cardinality(directors) > 0 THEN 'Directed by ' || join_text(directors, ', ') || '.' END,
        CASE WHEN cardinality(cast_members) > 0 THEN 'Starring ' || join_text(cast_members, ', ') || '.' END,
        CASE WHEN cardinality(tags) > 0 THEN 'Tags: ' || join_text(tags, ', ') || '.' END,
        CASE WHEN cardinality(keywords) > 0 THEN 'Keywords: ' || join_text(keywords, ', ') || '.' END
    ], ' ');

CREATE FUNCTION book_document(
    title text, subtitle text, year integer, language text, categories text[], authors text[], description text
) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN join_text(ARRAY[
        description,
        title || coalesce(': ' || subtitle, '') || coalesce(' (' || year || ')', '') || '.',
        CASE WHEN cardinality(categories) > 0 THEN join_text(categories, ', ') || ' book' ELSE 'Book' END
            || CASE WHEN cardinality(authors) > 0 THEN ' by ' || join_text(authors, ', ') ELSE '' END
            || coalesce(' in ' || language_name(language), '') || '.'
    ], ' ');

ALTER TABLE movies ADD COLUMN document text GENERATED ALWAYS AS (
    movie_document(title, original_title, year, original_language, genres, keywords, tags, directors, cast_members,
                   overview)
) STORED;
ALTER TABLE books ADD COLUMN document text GENERATED ALWAYS AS (
    book_document(title, subtitle, year, language, categories, authors, description)
) STORED;

-- ===== 0015_text_filter_indexes =====
-- Trigram indexes for the `q` filter of /movies and /books (pg_trgm's `<%` operator), so a
-- catalogue of hundreds of thousands of titles is filtered in milliseconds instead of a full scan.
CREATE INDEX IF NOT EXISTS movies_title_trgm_idx ON movies USING gin (title gin_trgm_ops);
CREATE INDEX IF NOT EXISTS movies_original_title_trgm_idx ON movies USING gin (original_title gin_trgm_ops);
CREATE INDEX IF NOT EXISTS books_title_trgm_idx ON books USING gin (title gin_trgm_ops);

-- A book's authors as one text, for an expression index: a trigram index cannot cover an array.
-- Authors are joined with a line break, which no name contains, so a match within one name is
-- found as before.
CREATE OR REPLACE FUNCTION book_authors_text(authors text[]) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN array_to_string(authors, E'\n');

CREATE INDEX IF NOT EXISTS books_authors_trgm_idx ON books USING gin (book_authors_text(authors) gin_trgm_ops);

-- ===== 0016_exact_small_catalogue =====
-- An index walk is approximate: HNSW finds most, not all, of the nearest vectors, and on a small
-- table (a site's first few hundred items) a walk gains nothing, since comparing every vector
-- costs a millisecond or two. Below 2,000 vectors (as the planner last counted them; a
-- table never counted is taken as small), match_movies()/match_books() compare every vector,
-- exactly, as they already did with a filter; above it they walk the two partial indexes.

CREATE OR REPLACE FUNCTION embeddings_are_few(embeddings regclass) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN coalesce((SELECT reltuples < 2000 FROM pg_class WHERE oid = embeddings), true);

CREATE OR REPLACE FUNCTION match_movies(
    query_embedding vector(384),
    match_threshold double precision DEFAULT 0,
    match_count integer DEFAULT 12,
    embedding_model_name text DEFAULT NULL,
    filter_language text DEFAULT NULL,
    filter_genre text DEFAULT NULL,
    filter_year_from integer DEFAULT NULL,
    filter_year_to integer DEFAULT NULL,
    exclude_id bigint DEFAULT NULL,
    undescribed_penalty double precision DEFAULT 0
) RETURNS TABLE (id bigint, similarity double precision, score double precision)
    LANGUAGE sql STABLE PARALLEL SAFE
    -- Keep walking the HNSW graph while vectors of another model or exclude_id drop candidates.
    SET hnsw.iterative_scan = 'relaxed_order'
    SET hnsw.ef_search = 100
    SET enable_seqscan = off
AS $$
    SELECT nearest.id, nearest.similarity,
           nearest.similarity - CASE WHEN nearest.described THEN 0 ELSE undescribed_penalty END AS score
    FROM (
        (SELECT e.movie_id AS id, e.described, 1 - (e.embedding <=> query_embedding) AS similarity
         FROM movie_embeddings e
         WHERE e.described AND NOT embeddings_are_few('movie_embeddings')
           AND (filter_language IS NULL AND filter_genre IS NULL
                AND filter_year_from IS NULL AND filter_year_to IS NULL)
           AND (embedding_model_name IS NULL OR e.model = embedding_model_name)
           AND (exclude_id IS NULL OR e.movie_id <> exclude_id)
         ORDER BY e.embedding <=> query_embedding
         LIMIT match_count)
        UNION ALL
        (SELECT e.movie_id AS id, e.described, 1 - (e.embedding <=> query_embedding) AS similarity
         FROM movie_embeddings e
         WHERE NOT e.described AND NOT embeddings_are_few('movie_embeddings')
           AND (filter_language IS NULL AND filter_genre IS NULL
                AND filter_year_from IS NULL AND filter_year_to IS NULL)
           AND (embedding_model_name IS NULL OR e.model = embedding_model_name)
           AND (exclude_id IS NULL OR e.movie_id <> exclude_id)
         ORDER BY e.embedding <=> query_embedding
         LIMIT match_count)
        UNION ALL
        (SELECT m.id, e.described, 1 - (e.embedding <=> query_embedding) AS similarity
         FROM movies m JOIN movie_embeddings e ON e.movie_id = m.id
         WHERE (NOT (filter_language IS NULL AND filter_genre IS NULL
                     AND filter_year_from IS NULL AND filter_year_to IS NULL)
                OR embeddings_are_few('movie_embeddings'))
           AND (embedding_model_name IS NULL OR e.model = embedding_model_name)
           AND (exclude_id IS NULL OR m.id <> exclude_id)
           AND (filter_language IS NULL OR m.original_language = filter_language)
           AND (filter_genre IS NULL
                OR EXISTS (SELECT 1 FROM unnest(m.genres) g WHERE lower(g) = lower(filter_genre)))
           AND (filter_year_from IS NULL OR m.year >= filter_year_from)
           AND (filter_year_to IS NULL OR m.year <= filter_year_to)
         ORDER BY (e.embedding <=> query_embedding) + CASE WHEN e.described THEN 0 ELSE undescribed_penalty END
         LIMIT match_count)
    ) AS nearest
    WHERE nearest.similarity >= match_threshold
    ORDER BY score DESC, nearest.id
    LIMIT match_count
$$;

CREATE OR REPLACE FUNCTION match_books(
    query_embedding vector(384),
    match_threshold double precision DEFAULT 0,
    match_count integer DEFAULT 12,
    embedding_model_name text DEFAULT NULL,
    filter_language text DEFAULT NULL,
    filter_category text DEFAULT NULL,
    filter_year_from integer DEFAULT NULL,
    filter_year_to integer DEFAULT NULL,
    exclude_id bigint DEFAULT NULL,
    undescribed_penalty double precision DEFAULT 0
) RETURNS TABLE (id bigint, similarity double precision, score double precision)
    LANGUAGE sql STABLE PARALLEL SAFE
    -- Keep walking the HNSW graph while vectors of another model or exclude_id drop candidates.
    SET hnsw.iterative_scan = 'relaxed_order'
    SET hnsw.ef_search = 100
    SET enable_seqscan = off
AS $$
    SELECT nearest.id, nearest.similarity,
           nearest.similarity - CASE WHEN nearest.described THEN 0 ELSE undescribed_penalty END AS score
    FROM (
        (SELECT e.book_id AS id, e.described, 1 - (e.embedding <=> query_embedding) AS similarity
         FROM book_embeddings e
         WHERE e.described AND NOT embeddings_are_few('book_embeddings')
           AND (filter_language IS NULL AND filter_category IS NULL
                AND filter_year_from IS NULL AND filter_year_to IS NULL)
           AND (embedding_model_name IS NULL OR e.model = embedding_model_name)
           AND (exclude_id IS NULL OR e.book_id <> exclude_id)
         ORDER BY e.embedding <=> query_embedding
         LIMIT match_count)
        UNION ALL
        (SELECT e.book_id AS id, e.described, 1 - (e.embedding <=> query_embedding) AS similarity
         FROM book_embeddings e
         WHERE NOT e.described AND NOT embeddings_are_few('book_embeddings')
           AND (filter_language IS NULL AND filter_category IS NULL
                AND filter_year_from IS NULL AND filter_year_to IS NULL)
           AND (embedding_model_name IS NULL OR e.model = embedding_model_name)
           AND (exclude_id IS NULL OR e.book_id <> exclude_id)
         ORDER BY e.embedding <=> query_embedding
         LIMIT match_count)
        UNION ALL
        (SELECT b.id, e.described, 1 - (e.embedding <=> query_embedding) AS similarity
         FROM books b JOIN book_embeddings e ON e.book_id = b.id
         WHERE (NOT (filter_language IS NULL AND filter_category IS NULL
                     AND filter_year_from IS NULL AND filter_year_to IS NULL)
                OR embeddings_are_few('book_embeddings'))
           AND (embedding_model_name IS NULL OR e.model = embedding_model_name)
           AND (exclude_id IS NULL OR b.id <> exclude_id)
           AND (filter_language IS NULL OR b.language = filter_language)
           AND (filter_category IS NULL
                OR EXISTS (SELECT 1 FROM unnest(b.categories) g WHERE lower(g) = lower(filter_category)))
           AND (filter_year_from IS NULL OR b.year >= filter_year_from)
           AND (filter_year_to IS NULL OR b.year <= filter_year_to)
         ORDER BY (e.embedding <=> query_embedding) + CASE WHEN e.described THEN 0 ELSE undescribed_penalty END
         LIMIT match_count)
    ) AS nearest
    WHERE nearest.similarity >= match_threshold
    ORDER BY score DESC, nearest.id
    LIMIT match_count
$$;

-- ===== 0017_item_rating_counts =====
-- How many ratings each item had when its rating model was trained: the model's blend weighs
-- its predictions by it (a well-rated item's factors and neighbours are trusted more). NULL in
-- versions trained before the blend, which are served without it.
ALTER TABLE model_item_factors ADD COLUMN ratings integer CHECK (ratings >= 0);

-- ===== 0018_popular_order =====
-- The all-time popular list in index order. Each item keeps its Bayesian average at the default
-- prior (5 phantom ratings of 2.75 stars) as a generated column, recomputed by every write of its
-- rating count and sum, and an index in the list's order; get_popular_items() with the default
-- prior then reads the first match_count entries of each type instead of scoring the whole
-- catalogue (a scan that grew with it: 7 ms at ml-latest-small's 10,000 films, for every popular
-- list and every personalized list not cached). Another prior still scores every item.
ALTER TABLE movies ADD COLUMN popular_score double precision
    GENERATED ALWAYS AS ((2.75 * 5 + rating_sum::float8) / (5 + rating_count)) STORED;
ALTER TABLE books ADD COLUMN popular_score double precision
    GENERATED ALWAYS AS ((2.75 * 5 + rating_sum::float8) / (5 + rating_count)) STORED;
CREATE INDEX movies_popular_order_idx ON movies (popular_score DESC, rating_count DESC, id) WHERE rating_count > 0;
CREATE INDEX books_popular_order_idx ON books (popular_score DESC, rating_count DESC, id) WHERE rating_count > 0;

CREATE OR REPLACE FUNCTION get_popular_items(
    item_type_filter text DEFAULT NULL,
    window_days integer DEFAULT NULL,
    match_count integer DEFAULT 20,
    prior_weight double precision DEFAULT 5,
    prior_rating double precision DEFAULT 2.75
) RETURNS TABLE (
    item_type text, item_id bigint, score double precision, average_rating double precision,
    rating_count bigint, interaction_count bigint
)
    LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    -- All time at the default prior: the first match_count of each type, in index order, merged.
    -- The same order as below, as the stored score is the same expression.
    SELECT ranked.* FROM (
        (SELECT 'movie'::text, id, popular_score, average_rating::float8, rating_count::bigint, 0::bigint
         FROM movies
         WHERE rating_count > 0 AND coalesce(item_type_filter, 'movie') = 'movie'
         ORDER BY popular_score DESC, rating_count DESC, id
         LIMIT match_count)
        UNION ALL
        (SELECT 'book', id, popular_score, average_rating::float8, rating_count::bigint, 0::bigint
         FROM books
         WHERE rating_count > 0 AND coalesce(item_type_filter, 'book') = 'book'
         ORDER BY popular_score DESC, rating_count DESC, id
         LIMIT match_count)
        ORDER BY 3 DESC, 5 DESC, 1, 2
        LIMIT match_count
    ) AS ranked
    WHERE window_days IS NULL AND prior_weight = 5 AND prior_rating = 2.75
    UNION ALL
    -- All time at another prior: from the items' own rating aggregates, scoring every item.
    SELECT ranked.* FROM (
        SELECT 'movie'::text, id, (prior_rating * prior_weight + rating_sum::float8) / (prior_weight + rating_count),
               average_rating::float8, rating_count::bigint, 0::bigint
        FROM movies
        WHERE rating_count > 0 AND coalesce(item_type_filter, 'movie') = 'movie'
        UNION ALL
        SELECT 'book', id, (prior_rating * prior_weight + rating_sum::float8) / (prior_weight + rating_count),
               average_rating::float8, rating_count::bigint, 0::bigint
        FROM books
        WHERE rating_count > 0 AND coalesce(item_type_filter, 'book') = 'book'
        ORDER BY 3 DESC, 5 DESC, 1, 2
        LIMIT match_count
    ) AS ranked
    WHERE window_days IS NULL AND NOT (prior_weight = 5 AND prior_rating = 2.75)
    UNION ALL
    -- A recent window: from the ratings and interactions themselves.
    (
    WITH recent_ratings AS (
        SELECT r.item_type, r.item_id, count(*) AS n, sum(r.rating)::float8 AS total
        FROM ratings r
        WHERE window_days IS NOT NULL
          AND (item_type_filter IS NULL OR r.item_type = item_type_filter)
          AND r.updated_at >= now() - make_interval(days => window_days)
        GROUP BY r.item_type, r.item_id
    ), recent_interactions AS (
        SELECT i.item_type, i.item_id, count(*) AS n
        FROM interactions i
        WHERE window_days IS NOT NULL AND i.item_id IS NOT NULL AND i.kind IN ('view', 'click')
          AND (item_type_filter IS NULL OR i.item_type = item_type_filter)
          AND i.created_at >= now() - make_interval(days => window_days)
        GROUP BY i.item_type, i.item_id
    )
    SELECT
        coalesce(r.item_type, i.item_type),
        coalesce(r.item_id, i.item_id),
        (prior_rating * prior_weight + coalesce(r.total, 0)) / (prior_weight + coalesce(r.n, 0)),
        r.total / r.n,
        coalesce(r.n, 0),
        coalesce(i.n, 0)
    FROM recent_ratings r
    FULL JOIN recent_interactions i ON i.item_type = r.item_type AND i.item_id = r.item_id
    ORDER BY 3 DESC, 6 DESC, 5 DESC, 1, 2
    LIMIT match_count
    )
$$;

-- ===== 0019_experiments =====
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

-- ===== 0020_imports_and_adaptations =====
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

-- ===== 0021_anonymous_list_interactions =====
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
