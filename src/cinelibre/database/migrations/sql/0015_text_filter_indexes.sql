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
