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
