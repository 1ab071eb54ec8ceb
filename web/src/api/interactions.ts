import { apiRequest } from "./client";
import { getToken } from "./token";
import type { ItemType } from "./types";

/** What a link from a served list hands the item page it opens (as router state). */
export interface FromList {
  listId: string;
}

export function fromListState(listId: string | undefined): FromList | undefined {
  return listId ? { listId } : undefined;
}

/** The list an item page was opened from, when a link of a served list opened it. */
export function listIdFromState(state: unknown): string | undefined {
  if (typeof state !== "object" || state === null) return undefined;
  const listId = (state as Partial<FromList>).listId;
  return typeof listId === "string" && listId ? listId : undefined;
}

/**
 * Records that the visitor clicked or viewed an item, crediting the list it came from when there
 * is one (that is how an experiment learns which variant's lists lead somewhere). A signed-in
 * user's goes to their interactions; a visitor who is not signed in has none, so only a click or
 * view from a list is sent, to that list (the API knows them by the client id every request
 * carries). Fire and forget: a refusal (over a quota or rate limit) changes nothing the reader sees.
 */
export function recordInteraction(kind: "click" | "view", itemType: ItemType, itemId: number, listId?: string): void {
  if (!getToken()) {
    if (!listId) return;
    const body = { kind, item_id: itemId, item_type: itemType };
    apiRequest(`/lists/${encodeURIComponent(listId)}/interactions`, { method: "POST", body }).catch(() => undefined);
    return;
  }
  const body = { kind, item_id: itemId, item_type: itemType, ...(listId ? { list_id: listId } : {}) };
  apiRequest("/interactions", { method: "POST", body }).catch(() => undefined);
}
