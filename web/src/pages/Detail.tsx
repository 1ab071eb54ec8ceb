import { useCallback, useEffect, useRef, useState } from "react";
import { Link, useLocation, useParams } from "react-router";
import { ApiError, apiRequest, isAbort, queryString } from "../api/client";
import { listIdFromState, recordInteraction } from "../api/interactions";
import type {
  Adaptation,
  Book,
  ItemList,
  ItemType,
  Movie,
  Page,
  Prediction,
  Rating,
  RecommendationList,
  SourceBook,
} from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { ErrorMessage, Loading } from "../components/ErrorMessage";
import { ItemGrid, LoadingGrid } from "../components/ItemCard";
import { Poster } from "../components/Poster";
import { StarRating, starsLabel } from "../components/StarRating";
import { useApi } from "../hooks/useApi";
import { useDocumentTitle } from "../hooks/useDocumentTitle";
import { languageName } from "../languages";
import { NotFound } from "./NotFound";

async function findMyRating(itemType: ItemType, itemId: number, signal: AbortSignal): Promise<Rating | null> {
  const answer = await apiRequest<Page<Rating>>(
    `/ratings/my${queryString({ item_type: itemType, item_id: itemId, limit: 1 })}`,
    { signal },
  );
  return answer.items[0] ?? null;
}

function MyRating({ itemType, itemId, title }: { itemType: ItemType; itemId: number; title: string }) {
  const [rating, setRating] = useState<Rating | null>(null);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [status, setStatus] = useState("");
  const [prediction, setPrediction] = useState<Prediction | null>(null);
  // Arrow keys change the choice a half star at a time: saves run one after another, so the last
  // choice is the one kept.
  const saving = useRef<Promise<unknown>>(Promise.resolve());

  const loadPrediction = useCallback(
    (signal?: AbortSignal) =>
      apiRequest<Prediction>(`/recommendations/predict/${itemType}/${itemId}`, { signal })
        .then(setPrediction)
        .catch(() => setPrediction(null)),
    [itemType, itemId],
  );

  useEffect(() => {
    const controller = new AbortController();
    setLoaded(false);
    findMyRating(itemType, itemId, controller.signal)
      .then((mine) => {
        setRating(mine);
        setLoaded(true);
      })
      .catch((failure: unknown) => {
        if (!isAbort(failure)) setError(failure);
      });
    void loadPrediction(controller.signal);
    return () => controller.abort();
  }, [itemType, itemId, loadPrediction]);

  const save = (stars: number) => {
    const previous = rating;
    setRating((current) => (current ? { ...current, rating: stars } : ({ id: -1, item_id: itemId, item_type: itemType, rating: stars } as Rating)));
    setError(null);
    saving.current = saving.current.then(() =>
      apiRequest<Rating>("/ratings", { method: "POST", body: { item_id: itemId, item_type: itemType, rating: stars } })
        .then((saved) => {
          setRating(saved);
          setStatus(`Your rating of ${title} is ${starsLabel(saved.rating)}.`);
          void loadPrediction();
        })
        .catch((failure: unknown) => {
          setRating(previous);
          setError(failure);
        }),
    );
  };

  const remove = () => {
    if (!rating) return;
    const toRemove = rating;
    setError(null);
    saving.current = saving.current.then(() =>
      apiRequest<void>(`/ratings/${toRemove.id}`, { method: "DELETE" })
        .then(() => {
          setRating(null);
          setStatus(`Your rating of ${title} was removed.`);
          void loadPrediction();
        })
        .catch((failure: unknown) => setError(failure)),
    );
  };

  return (
    <section aria-labelledby="my-rating-heading" className="panel">
      <h2 id="my-rating-heading">Your rating</h2>
      {!loaded && !error && <Loading label="Loading your rating…" />}
      {loaded && (
        <>
          <StarRating value={rating?.rating ?? null} onChange={save} legend={`Rate ${title}`} />
          <p className="muted">{rating ? `You rated it ${starsLabel(rating.rating)}.` : "You have not rated it yet."}</p>
          {rating && (
            <button type="button" onClick={remove} disabled={rating.id < 0}>
              Remove my rating
            </button>
          )}
        </>
      )}
      <p className="visually-hidden" role="status" aria-live="polite">
        {status}
      </p>
      <ErrorMessage error={error} />
      {prediction?.predicted_rating != null && (
        <p className="prediction">
          Predicted for you: <strong>{prediction.predicted_rating.toFixed(1)} ★</strong>
        </p>
      )}
    </section>
  );
}

const SIMILAR_COUNT = 6;

function Similar({ itemType, itemId, targetType }: { itemType: ItemType; itemId: number; targetType: ItemType }) {
  const path = `/recommendations/similar/${itemType}/${itemId}?limit=${SIMILAR_COUNT}&target_type=${targetType}`;
  const { data, error, loading } = useApi<RecommendationList>(path);
  const heading = targetType === "movie" ? "Similar films" : "Similar books";
  const headingId = `similar-${targetType}`;
  return (
    <section aria-labelledby={headingId} className="section">
      <h2 id={headingId}>{heading}</h2>
      <ErrorMessage error={error} />
      {loading && !data && <LoadingGrid count={SIMILAR_COUNT} />}
      {data && data.items.length === 0 && <p className="muted">Nothing close enough yet.</p>}
      {data && (
        <ItemGrid
          label={heading}
          listId={data.list_id}
          items={data.items.map((item) => ({ item, itemType: item.item_type, reason: item.reason }))}
        />
      )}
    </section>
  );
}

/** For a film, the books it adapts; for a book, the films made from it. */
function Adaptations({ itemType, itemId }: { itemType: ItemType; itemId: number }) {
  const path = itemType === "movie" ? `/movies/${itemId}/source-books` : `/books/${itemId}/adaptations`;
  const { data } = useApi<ItemList<SourceBook | Adaptation>>(path);
  // Most items have none: the section appears only with something in it, and a failure leaves it
  // out rather than putting an error on a page that has its item to show.
  if (!data || data.items.length === 0) return null;
  const heading = itemType === "movie" ? "Based on" : "Adapted for the screen";
  const linkedType: ItemType = itemType === "movie" ? "book" : "movie";
  return (
    <section aria-labelledby="adaptations-heading" className="section">
      <h2 id="adaptations-heading">{heading}</h2>
      <ItemGrid label={heading} items={data.items.map((item) => ({ item, itemType: linkedType }))} />
    </section>
  );
}

function Facts({ item, itemType }: { item: Movie | Book; itemType: ItemType }) {
  const rows: [string, string][] = [];
  if (itemType === "movie") {
    const movie = item as Movie;
    if (movie.original_title && movie.original_title !== movie.title) rows.push(["Original title", movie.original_title]);
    if (movie.year) rows.push(["Year", String(movie.year)]);
    if (movie.original_language) rows.push(["Language", languageName(movie.original_language)]);
    if (movie.genres.length) rows.push(["Genres", movie.genres.join(", ")]);
    if (movie.directors.length) rows.push([movie.directors.length > 1 ? "Directors" : "Director", movie.directors.join(", ")]);
    if (movie.cast.length) rows.push(["Cast", movie.cast.slice(0, 8).join(", ")]);
    if (movie.runtime) rows.push(["Runtime", `${movie.runtime} minutes`]);
  } else {
    const book = item as Book;
    if (book.authors.length) rows.push([book.authors.length > 1 ? "Authors" : "Author", book.authors.join(", ")]);
    if (book.year) rows.push(["Year", String(book.year)]);
    if (book.language) rows.push(["Language", languageName(book.language)]);
    if (book.categories.length) rows.push(["Categories", book.categories.join(", ")]);
    if (book.page_count) rows.push(["Pages", String(book.page_count)]);
  }
  if (item.average_rating !== null && item.rating_count > 0) {
    rows.push(["Our users", `${item.average_rating.toFixed(1)} ★ from ${item.rating_count} ratings`]);
  }
  return (
    <dl className="facts">
      {rows.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

export function Detail({ itemType }: { itemType: ItemType }) {
  const { id } = useParams();
  const itemId = Number(id);
  const valid = Number.isInteger(itemId) && itemId > 0;
  const { token } = useAuth();
  // Set when a card of a served list opened this page: the view is credited to that list too.
  const fromListId = listIdFromState(useLocation().state);
  const plural = itemType === "movie" ? "movies" : "books";
  const { data: item, error, loading } = useApi<Movie | Book>(valid ? `/${plural}/${itemId}` : null);
  useDocumentTitle(item?.title ?? "");

  // A signed-in visit is a view, which the recommendations learn from.
  useEffect(() => {
    if (token && item) recordInteraction("view", itemType, item.id, fromListId);
  }, [token, item, itemType, fromListId]);

  if (!valid) return <NotFound />;
  if (error instanceof ApiError && error.status === 404) return <NotFound what={itemType === "movie" ? "film" : "book"} />;
  if (loading && !item) return <Loading />;
  if (!item) return <ErrorMessage error={error} />;

  const text = itemType === "movie" ? (item as Movie).overview : (item as Book).description;
  const image = itemType === "movie" ? (item as Movie).poster_url : (item as Book).thumbnail_url;
  return (
    <>
      <article className="detail">
        <Poster src={image} title={item.title} kind={itemType === "movie" ? "poster" : "cover"} large />
        <div className="detail__body">
          <p className="eyebrow">
            <Link to={`/${plural}`}>{itemType === "movie" ? "Movies" : "Books"}</Link>
          </p>
          <h1>
            {item.title}
            {itemType === "book" && (item as Book).subtitle ? <span className="subtitle">{(item as Book).subtitle}</span> : null}
          </h1>
          <Facts item={item} itemType={itemType} />
          {text && <p className="overview">{text}</p>}
          {token ? (
            <MyRating itemType={itemType} itemId={item.id} title={item.title} />
          ) : (
            <p className="callout">
              <Link to={`/signin?next=${encodeURIComponent(`/${plural}/${item.id}`)}`}>Sign in</Link> to rate it and
              see your predicted stars.
            </p>
          )}
        </div>
      </article>
      <Adaptations itemType={itemType} itemId={item.id} />
      <Similar itemType={itemType} itemId={item.id} targetType="movie" />
      <Similar itemType={itemType} itemId={item.id} targetType="book" />
    </>
  );
}
