import { useId, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { queryString } from "../api/client";
import type { Movie, Page, RecommendationList } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { ErrorMessage } from "../components/ErrorMessage";
import { ItemGrid, LoadingGrid } from "../components/ItemCard";
import { useApi } from "../hooks/useApi";
import { useDocumentTitle } from "../hooks/useDocumentTitle";
import { INDIAN_LANGUAGES, languageName } from "../languages";
import { ForYou } from "../live/ForYou";

const WINDOWS = [
  { days: "", label: "All time" },
  { days: "7", label: "This week" },
  { days: "30", label: "This month" },
  { days: "90", label: "Last 3 months" },
  { days: "365", label: "This year" },
];

const POPULAR_COUNT = 12;
const LANGUAGE_ROW_COUNT = 6;

function Popular() {
  const [windowDays, setWindowDays] = useState("");
  const selectId = useId();
  const path = `/recommendations/popular${queryString({ limit: POPULAR_COUNT, window_days: windowDays })}`;
  const { data, error, loading } = useApi<RecommendationList>(path);
  return (
    <section aria-labelledby="popular-heading" className="section">
      <div className="section__head">
        <h2 id="popular-heading">Popular</h2>
        <div className="inline-field">
          <label htmlFor={selectId}>Period</label>
          <select id={selectId} value={windowDays} onChange={(event) => setWindowDays(event.target.value)}>
            {WINDOWS.map((window) => (
              <option key={window.days} value={window.days}>
                {window.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <ErrorMessage error={error} />
      {loading && !data && <LoadingGrid count={POPULAR_COUNT} />}
      {data && data.items.length === 0 && <p className="muted">Nothing was rated or viewed in this period.</p>}
      {data && (
        <ItemGrid
          label="Popular films and books"
          listId={data.list_id}
          items={data.items.map((item) => ({ item, itemType: item.item_type, reason: item.reason }))}
        />
      )}
    </section>
  );
}

function LanguageRow({ code }: { code: string }) {
  const { data, error, loading } = useApi<Page<Movie>>(
    `/movies?language=${code}&sort=popularity&limit=${LANGUAGE_ROW_COUNT}`,
  );
  const name = languageName(code);
  const headingId = `trending-${code}`;
  if (data && data.total === 0) return null;
  return (
    <section aria-labelledby={headingId} className="subsection">
      <div className="section__head">
        <h3 id={headingId}>{name}</h3>
        <Link to={`/movies?language=${code}&sort=popularity`}>
          All {data ? data.total : ""} {name} films
        </Link>
      </div>
      <ErrorMessage error={error} />
      {loading && !data && <LoadingGrid count={LANGUAGE_ROW_COUNT} label={`Loading ${name} films…`} />}
      {data && <ItemGrid label={`${name} films`} headingLevel={4} items={data.items.map((item) => ({ item, itemType: "movie" }))} />}
    </section>
  );
}

export function Home() {
  const { token } = useAuth();
  const [params] = useSearchParams();
  useDocumentTitle("");
  return (
    <>
      <h1>Films and books worth your evening</h1>
      {params.get("deleted") && (
        <p className="notice" role="status">
          Your account and everything kept about it have been deleted.
        </p>
      )}
      {token ? (
        <ForYou token={token} />
      ) : (
        <p className="callout">
          <Link to="/signin">Sign in</Link> or <Link to="/signup">create an account</Link> to rate what you have
          seen and read, and get recommendations made for you.
        </p>
      )}
      <Popular />
      <section aria-labelledby="languages-heading" className="section">
        <h2 id="languages-heading">Trending in Indian languages</h2>
        {INDIAN_LANGUAGES.map((code) => (
          <LanguageRow key={code} code={code} />
        ))}
      </section>
    </>
  );
}
