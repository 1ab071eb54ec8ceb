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
