-- A model that is not rows of items (the learned second stage's trees) is stored whole, in its
-- version's row, so that it is versioned and activated with the rest.
ALTER TABLE recommender_models ADD COLUMN artefact bytea;
