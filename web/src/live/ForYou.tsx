import { useEffect, useState } from "react";
import { announceSignedOut, apiRequest, isAbort } from "../api/client";
import type { RecommendationList } from "../api/types";
import { ErrorMessage } from "../components/ErrorMessage";
import { ItemGrid, LoadingGrid } from "../components/ItemCard";
import { connectRecommendations } from "./recommendationSocket";

// What /ws sends: GET /recommendations/personalized with its defaults, so both lists match.
const FOR_YOU_LIMIT = 20;

/** The signed-in user's recommendations, replaced in place whenever the server sends new ones. */
export function ForYou({ token }: { token: string }) {
  // The items and the list_id they were served under always change together.
  const [list, setList] = useState<RecommendationList | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [announcement, setAnnouncement] = useState("");

  useEffect(() => {
    const controller = new AbortController();
    apiRequest<RecommendationList>(`/recommendations/personalized?limit=${FOR_YOU_LIMIT}`, {
      signal: controller.signal,
    })
      // A list the socket already delivered is newer than this answer: keep it.
      .then((answer) => setList((current) => current ?? answer))
      .catch((failure: unknown) => {
        if (!isAbort(failure)) setError(failure);
      });
    const close = connectRecommendations({
      token,
      onList: (fresh) => {
        setList({ ...fresh, items: fresh.items.slice(0, FOR_YOU_LIMIT) });
        setError(null);
        setAnnouncement(`For you updated: ${Math.min(fresh.items.length, FOR_YOU_LIMIT)} recommendations`);
      },
      onSignedOut: announceSignedOut,
    });
    return () => {
      controller.abort();
      close();
    };
  }, [token]);

  return (
    <section aria-labelledby="for-you-heading" className="section">
      <h2 id="for-you-heading">For you</h2>
      <p className="visually-hidden" aria-live="polite" role="status">
        {announcement}
      </p>
      <ErrorMessage error={error} />
      {list === null && !error && <LoadingGrid count={FOR_YOU_LIMIT} label="Finding films and books for you…" />}
      {list !== null && list.items.length === 0 && (
        <p className="muted">Rate a few films or books and your recommendations will appear here.</p>
      )}
      {list !== null && list.items.length > 0 && (
        <ItemGrid
          label="Recommended for you"
          listId={list.list_id}
          items={list.items.map((item) => ({
            item,
            itemType: item.item_type,
            reason: item.reason,
            predicted: item.predicted_rating,
          }))}
        />
      )}
    </section>
  );
}
