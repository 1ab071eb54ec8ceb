import { useEffect, useState, type FormEvent } from "react";
import { useSearchParams } from "react-router";
import { ApiError } from "../api/client";
import type { Book, ItemType, Movie, Page } from "../api/types";
import { ErrorMessage, Loading } from "../components/ErrorMessage";
import { ItemGrid } from "../components/ItemCard";
import { Pager } from "../components/Pager";
import { useApi } from "../hooks/useApi";
import { useDocumentTitle } from "../hooks/useDocumentTitle";
import { FILTER_LANGUAGES, MOVIE_GENRES, languageName } from "../languages";

const PAGE_SIZE = 24;

// What each list takes: books have no year filter or sort order (the most rated come first).
const FILTERS: Record<ItemType, string[]> = {
  movie: ["q", "language", "genre", "year_from", "year_to", "sort"],
  book: ["q", "language", "category"],
};

const SORTS = [
  { value: "", label: "Best match, then most popular" },
  { value: "popularity", label: "Most popular" },
  { value: "rating", label: "Highest rated" },
  { value: "year", label: "Newest" },
  { value: "title", label: "Title" },
];

export function Browse({ itemType }: { itemType: ItemType }) {
  const [params, setParams] = useSearchParams();
  const plural = itemType === "movie" ? "movies" : "books";
  const names = FILTERS[itemType];
  const skip = Math.max(0, Number(params.get("skip")) || 0);
  useDocumentTitle(itemType === "movie" ? "Movies" : "Books");

  // The form edits a draft; the URL (and so the list) changes when it is applied.
  const [draft, setDraft] = useState<Record<string, string>>({});
  useEffect(() => {
    setDraft(Object.fromEntries(names.map((name) => [name, params.get(name) ?? ""])));
    // `names` follows itemType, so these two say when the draft must be read again.
  }, [params, itemType]);

  const query = new URLSearchParams();
  for (const name of names) {
    const value = params.get(name);
    if (value) query.set(name, value);
  }
  query.set("skip", String(skip));
  query.set("limit", String(PAGE_SIZE));
  const { data, error, loading } = useApi<Page<Movie | Book>>(`/${plural}?${query.toString()}`);

  const apply = (event: FormEvent) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const name of names) {
      const value = (draft[name] ?? "").trim();
      if (value) next.set(name, value);
    }
    setParams(next);
  };
  const clear = () => setParams(new URLSearchParams());
  const goTo = (newSkip: number) => {
    const next = new URLSearchParams(params);
    if (newSkip) next.set("skip", String(newSkip));
    else next.delete("skip");
    setParams(next);
    window.scrollTo({ top: 0 });
  };
  const set = (name: string) => (event: { target: { value: string } }) =>
    setDraft((current) => ({ ...current, [name]: event.target.value }));
  const fieldErrors = error instanceof ApiError ? error.fieldMessages() : {};

  return (
    <>
      <h1>{itemType === "movie" ? "Movies" : "Books"}</h1>
      <form className="filters" onSubmit={apply} aria-label={`Filter ${plural}`}>
        <div className="field">
          <label htmlFor="filter-q">{itemType === "movie" ? "Title" : "Title or author"}</label>
          <input id="filter-q" type="text" value={draft.q ?? ""} onChange={set("q")} maxLength={200} />
          {fieldErrors.q && <p className="field__error">{fieldErrors.q}</p>}
        </div>
        <div className="field">
          <label htmlFor="filter-language">Language</label>
          <select id="filter-language" value={draft.language ?? ""} onChange={set("language")}>
            <option value="">Any language</option>
            {FILTER_LANGUAGES.map((code) => (
              <option key={code} value={code}>
                {languageName(code)}
              </option>
            ))}
          </select>
        </div>
        {itemType === "movie" ? (
          <>
            <div className="field">
              <label htmlFor="filter-genre">Genre</label>
              <select id="filter-genre" value={draft.genre ?? ""} onChange={set("genre")}>
                <option value="">Any genre</option>
                {MOVIE_GENRES.map((genre) => (
                  <option key={genre} value={genre}>
                    {genre}
                  </option>
                ))}
              </select>
            </div>
            <div className="field field--narrow">
              <label htmlFor="filter-year-from">Year from</label>
              <input id="filter-year-from" type="number" inputMode="numeric" min={1870} max={2100} value={draft.year_from ?? ""} onChange={set("year_from")} />
              {fieldErrors.year_from && <p className="field__error">{fieldErrors.year_from}</p>}
            </div>
            <div className="field field--narrow">
              <label htmlFor="filter-year-to">Year to</label>
              <input id="filter-year-to" type="number" inputMode="numeric" min={1870} max={2100} value={draft.year_to ?? ""} onChange={set("year_to")} />
              {fieldErrors.year_to && <p className="field__error">{fieldErrors.year_to}</p>}
            </div>
            <div className="field">
              <label htmlFor="filter-sort">Sort by</label>
              <select id="filter-sort" value={draft.sort ?? ""} onChange={set("sort")}>
                {SORTS.map((sort) => (
                  <option key={sort.value} value={sort.value}>
                    {sort.label}
                  </option>
                ))}
              </select>
            </div>
          </>
        ) : (
          <div className="field">
            <label htmlFor="filter-category">Category</label>
            <input id="filter-category" type="text" value={draft.category ?? ""} onChange={set("category")} placeholder="Fiction, History…" />
          </div>
        )}
        <div className="filters__actions">
          <button type="submit" className="primary">
            Apply filters
          </button>
          <button type="button" onClick={clear}>
            Clear filters
          </button>
        </div>
      </form>
      <ErrorMessage error={error} />
      <p className="visually-hidden" role="status" aria-live="polite">
        {data ? `${data.total} ${plural} found` : ""}
      </p>
      {loading && !data && <Loading />}
      {data && data.total === 0 && <p className="muted">No {plural} match these filters.</p>}
      {data && (
        <div aria-busy={loading}>
          <h2 className="visually-hidden">Results</h2>
          <ItemGrid label={itemType === "movie" ? "Movies" : "Books"} items={data.items.map((item) => ({ item, itemType }))} />
          <Pager skip={data.skip} limit={data.limit} total={data.total} onSkip={goTo} />
        </div>
      )}
    </>
  );
}
