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

/** A list as a recommendation surface serves it: its items, its list_id and, in an experiment, the variant. */
export function servedList(
  listId: string,
  items: RecommendedItem[],
  experiment: { id: number; variant: string } | null = null,
): { items: RecommendedItem[]; list_id: string; experiment?: { id: number; variant: string } } {
  return experiment ? { items, list_id: listId, experiment } : { items, list_id: listId };
}

/** A fetch stand-in that answers by method and path ("GET /movies/1"), and 404 for anything else. */
export function routedFetch(answers: Record<string, unknown>) {
  return (path: string, init: RequestInit = {}) => {
    const key = `${init.method ?? "GET"} ${path}`;
    if (key in answers) return Promise.resolve(jsonResponse(200, answers[key]));
    return Promise.resolve(jsonResponse(404, { error: { code: "not_found", message: `No answer for ${key}`, details: [] } }));
  };
}

/** The bodies POSTed to `path`, parsed. */
export function postedBodies(fetchMock: { mock: { calls: unknown[][] } }, path: string): unknown[] {
  return fetchMock.mock.calls
    .filter(([calledPath, init]) => calledPath === path && (init as RequestInit | undefined)?.method === "POST")
    .map(([, init]) => JSON.parse(String((init as RequestInit).body)) as unknown);
}
