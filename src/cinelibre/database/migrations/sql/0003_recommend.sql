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
