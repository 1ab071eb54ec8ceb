export type ItemType = "movie" | "book";

export interface Movie {
  id: number;
  title: string;
  original_title: string | null;
  year: number | null;
  original_language: string | null;
  genres: string[];
  overview: string | null;
  directors: string[];
  cast: string[];
  poster_url: string | null;
  runtime: number | null;
  average_rating: number | null;
  rating_count: number;
}

export interface Book {
  id: number;
  title: string;
  subtitle: string | null;
  authors: string[];
  description: string | null;
  categories: string[];
  language: string | null;
  year: number | null;
  page_count: number | null;
  thumbnail_url: string | null;
  average_rating: number | null;
  rating_count: number;
}

export type Item = Movie | Book;

/** A movie or a book as lists that mix both answer them: with its `item_type`. */
export type TypedItem = (Movie & { item_type: "movie" }) | (Book & { item_type: "book" });

export type RecommendedItem = TypedItem & {
  score?: number;
  predicted_rating?: number | null;
  similarity?: number | null;
  reason?: string;
};

export interface Page<T> {
  items: T[];
  total: number;
  skip: number;
  limit: number;
}

export interface ItemList<T> {
  items: T[];
}

/** The experiment variant a list was made by, sent while the caller takes part in one. */
export interface ExperimentAssignment {
  id: number;
  /** For an interleaving experiment: "interleaved". */
  variant: string;
}

/**
 * What every list of a recommendation surface carries beside its items: the id a click or a view
 * of one of them sends back, so the API credits that list (and its experiment variant).
 */
export interface ServedList {
  list_id?: string;
  experiment?: ExperimentAssignment | null;
}

export type RecommendationList = ItemList<RecommendedItem> & ServedList;

export interface SearchAnswer extends ServedList {
  items: RecommendedItem[];
  hint: string | null;
  partial: boolean;
  embedded_share: number;
}

export interface User {
  id: number;
  email: string;
  name: string;
  created_at: string;
  /** Sent by GET /auth/me only (register and login answers leave it out). */
  is_admin?: boolean;
}

export interface TokenAnswer {
  access_token: string;
  token_type: string;
  user: User;
}

export interface Rating {
  id: number;
  item_id: number;
  item_type: ItemType;
  rating: number;
  created_at: string;
  updated_at: string;
  title?: string | null;
}

export interface Interaction {
  id: number;
  /** "want": on the user's watchlist or to-read shelf (an import brings these). */
  kind: "view" | "click" | "search" | "want";
  item_id: number | null;
  item_type: ItemType | null;
  title: string | null;
  query: string | null;
  created_at: string;
}

export type ExperimentSurface = "personalized" | "similar" | "popular" | "search";
export type ExperimentKind = "ab" | "interleaving";
export type ExperimentStatus = "draft" | "running" | "paused" | "stopped";

export interface ExperimentVariant {
  name: string;
  configuration: string;
  /** The fraction of users it gets, between 0 and 1; an experiment's shares add up to 1. */
  share: number;
}

export interface Experiment {
  id: number;
  name: string;
  surface: ExperimentSurface;
  kind: ExperimentKind;
  status: ExperimentStatus;
  /** The first is the control. */
  variants: ExperimentVariant[];
  expected_daily_users: number | null;
  created_at: string;
  started_at: string | null;
  stopped_at: string | null;
}

export interface NewExperiment {
  name: string;
  surface: ExperimentSurface;
  kind: ExperimentKind;
  variants: ExperimentVariant[];
  expected_daily_users?: number;
}

export interface ExperimentConfiguration {
  name: string;
  description: string;
  surfaces: ExperimentSurface[];
}

/** An estimate with its 95% interval, as [low, high]. */
export type Interval = [number, number];

export interface VariantDifference {
  /** Variant minus control, in the metric's own unit (a CTR difference for "ctr"). */
  value: number;
  relative: number | null;
  ci: Interval;
  p_value: number;
  significant: boolean;
}

export interface VariantResult {
  name: string;
  configuration: string;
  users: number;
  exposures: number;
  clicks: number;
  ctr: number;
  /** CTR counting clicks on the first k items only, keyed by k. */
  ctr_at: Record<string, number>;
  rating_rate: number;
  mean_rating: number | null;
  coverage: number;
  /** null for the control. */
  difference: VariantDifference | null;
}

export interface ExperimentResults {
  experiment: Experiment;
  metric: string;
  alpha: number;
  rating_window_days: number;
  variants: VariantResult[];
  verdict: { winner: string | null; reason: string };
  /** Sample ratio mismatch: whether users split between variants as their shares say. */
  srm: { p_value: number; flagged: boolean };
  minimum_detectable_effect: {
    expected_users: number;
    baseline_ctr: number;
    /** false: the surface served no list yet, so the baseline is an assumed CTR. */
    baseline_measured?: boolean;
    absolute: number;
    relative: number | null;
  } | null;
  interleaving: {
    lists: number;
    wins: Record<string, number>;
    ties: number;
    /** The first variant's share of the wins. */
    share: { variant: string; value: number; ci: Interval; p_value: number };
  } | null;
}

export interface Prediction {
  item_type: ItemType;
  item_id: number;
  predicted_rating: number | null;
  method: string;
  neighbour_count: number;
}

export interface SyncRun {
  id: number;
  source: string;
  started_at: string;
  finished_at: string | null;
  status: string;
  options: Record<string, unknown>;
  counts: Record<string, number>;
  error_count: number;
}

/** How a film was linked to the book it adapts. */
export type AdaptationSource = "tmdb_credits" | "tmdb_keywords" | "catalogue";

/** GET /movies/{id}/source-books: the books a film adapts. */
export type SourceBook = Book & { found_by: AdaptationSource };

/** GET /books/{id}/adaptations: the films made from a book. */
export type Adaptation = Movie & { found_by: AdaptationSource };

export type ImportSource = "letterboxd" | "imdb" | "goodreads";

/** A catalogue item an imported row may be. */
export interface ImportCandidate {
  item_type: ItemType;
  id: number;
  title: string;
  year: number | null;
  authors: string[];
}

/** An imported row nothing in the catalogue matched; `row` is its line in `file` (the header is line 1). */
export interface UnmatchedImportRow {
  row: number;
  file: string;
  title: string;
  year: number | null;
  authors: string[];
}

/** An imported row several items matched about as well, awaiting the user's choice. */
export interface AmbiguousImportRow extends UnmatchedImportRow {
  /** Half stars, 0.5 to 5; null for a row that is only a want. */
  rating: number | null;
  /** A watchlist or to-read row. */
  want: boolean;
  candidates: ImportCandidate[];
}

/** POST /me/imports, GET /me/imports (each item) and POST /me/imports/{id}/resolve. */
export interface HistoryImport {
  import_id: string;
  source: ImportSource;
  rows: number;
  matched: number;
  ambiguous: AmbiguousImportRow[];
  not_found: UnmatchedImportRow[];
  ratings_added: number;
  ratings_updated: number;
  wants_added: number;
  /** When the import was made. */
  created_at?: string;
}

/** One row's choice: one of its candidates' ids, or null to leave the row out. */
export interface ImportChoice {
  row: number;
  file: string;
  item_id: number | null;
}

export function isMovie(item: Item): item is Movie {
  return "genres" in item;
}
