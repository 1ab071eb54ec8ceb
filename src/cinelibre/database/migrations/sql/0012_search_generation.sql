-- A number that moves whenever what search ranks by changes: item vectors written or marked for
-- embedding again, the search vocabulary rebuilt. Search answers are cached under it (with the
-- newest item ids), so a cached answer never outlives the vectors it was ranked with, on any
-- instance sharing the cache. One row, read by every search with a primary-key lookup.
CREATE TABLE search_generation (
    only_row    boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    generation  bigint NOT NULL
);
INSERT INTO search_generation (generation) VALUES (0);
