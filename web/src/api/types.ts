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

export interface SearchAnswer {
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
  kind: "view" | "click" | "search";
  item_id: number | null;
  item_type: ItemType | null;
  title: string | null;
  query: string | null;
  created_at: string;
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

export function isMovie(item: Item): item is Movie {
  return "genres" in item;
}
