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
