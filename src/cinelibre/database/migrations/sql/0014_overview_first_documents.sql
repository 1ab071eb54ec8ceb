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
