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
