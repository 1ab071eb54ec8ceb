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
