import type { RecommendedItem } from "../api/types";

export function movie(id: number, title: string, extra: Partial<RecommendedItem> = {}): RecommendedItem {
  return {
    item_type: "movie",
    id,
    title,
    original_title: null,
    year: 2001,
    original_language: "hi",
    genres: ["Drama"],
    overview: null,
    directors: [],
    cast: [],
    poster_url: null,
    runtime: null,
    average_rating: null,
    rating_count: 0,
    ...extra,
  } as RecommendedItem;
}

export function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}
