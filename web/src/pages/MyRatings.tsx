import { Link, useSearchParams } from "react-router";
import { queryString } from "../api/client";
import type { Interaction, Page, Rating } from "../api/types";
import { ErrorMessage, Loading } from "../components/ErrorMessage";
import { itemPath } from "../components/ItemCard";
import { Pager } from "../components/Pager";
import { starsLabel } from "../components/StarRating";
import { useApi } from "../hooks/useApi";
import { useDocumentTitle } from "../hooks/useDocumentTitle";

const PAGE_SIZE = 50;

function usePaging(): [number, (skip: number) => void] {
  const [params, setParams] = useSearchParams();
  const skip = Math.max(0, Number(params.get("skip")) || 0);
  const goTo = (next: number) => setParams(next ? { skip: String(next) } : {});
  return [skip, goTo];
}

function when(timestamp: string): string {
  return new Date(timestamp).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function MyRatings() {
  useDocumentTitle("My ratings");
  const [skip, goTo] = usePaging();
  const { data, error, loading } = useApi<Page<Rating>>(`/ratings/my${queryString({ skip, limit: PAGE_SIZE })}`);
  return (
    <>
      <h1>My ratings</h1>
      <p>
        Rated films and books elsewhere? <Link to="/me/import">Import your ratings</Link> from Letterboxd, IMDb or
        Goodreads.
      </p>
      <ErrorMessage error={error} />
      {loading && !data && <Loading />}
      {data && data.total === 0 && (
        <p className="muted">
          You have not rated anything yet. <Link to="/movies">Browse films</Link> or <Link to="/books">books</Link>{" "}
          and rate what you know.
        </p>
      )}
      {data && data.items.length > 0 && (
        <table className="table">
          <caption className="visually-hidden">My ratings, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Title</th>
              <th scope="col">Type</th>
              <th scope="col">Rating</th>
              <th scope="col">Rated</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((rating) => (
              <tr key={rating.id}>
                <td>
                  <Link to={itemPath(rating.item_type, rating.item_id)}>{rating.title ?? `#${rating.item_id}`}</Link>
                </td>
                <td>{rating.item_type === "movie" ? "Film" : "Book"}</td>
                <td>
                  <span aria-hidden="true">{"★".repeat(Math.floor(rating.rating))}{rating.rating % 1 ? "½" : ""} </span>
                  <span className="visually-hidden">{starsLabel(rating.rating)}</span>
                </td>
                <td>{when(rating.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data && <Pager skip={data.skip} limit={data.limit} total={data.total} onSkip={goTo} />}
    </>
  );
}

const KIND_WORDS: Record<Interaction["kind"], string> = {
  view: "Viewed",
  click: "Opened",
  search: "Searched for",
  want: "Want to watch",
};

function kindWords(entry: Interaction): string {
  return entry.kind === "want" && entry.item_type === "book" ? "Want to read" : KIND_WORDS[entry.kind];
}

export function MyHistory() {
  useDocumentTitle("My history");
  const [skip, goTo] = usePaging();
  const { data, error, loading } = useApi<Page<Interaction>>(`/interactions/my${queryString({ skip, limit: PAGE_SIZE })}`);
  return (
    <>
      <h1>My history</h1>
      <ErrorMessage error={error} />
      {loading && !data && <Loading />}
      {data && data.total === 0 && <p className="muted">Nothing yet: the films and books you open and your searches appear here.</p>}
      {data && data.items.length > 0 && (
        <ol className="history">
          {data.items.map((entry) => (
            <li key={entry.id}>
              <span className="history__what">
                {kindWords(entry)}{" "}
                {entry.kind === "search" ? (
                  <Link to={`/search?q=${encodeURIComponent(entry.query ?? "")}`}>“{entry.query}”</Link>
                ) : entry.item_type && entry.item_id ? (
                  <Link to={itemPath(entry.item_type, entry.item_id)}>{entry.title ?? `#${entry.item_id}`}</Link>
                ) : null}
              </span>
              <time dateTime={entry.created_at} className="muted">
                {when(entry.created_at)}
              </time>
            </li>
          ))}
        </ol>
      )}
      {data && <Pager skip={data.skip} limit={data.limit} total={data.total} onSkip={goTo} />}
    </>
  );
}
