import { useEffect, useState } from "react";
import { useSearchParams } from "react-router";
import { ApiError, apiRequest, isAbort, queryString } from "../api/client";
import type { SearchAnswer } from "../api/types";
import { ErrorMessage } from "../components/ErrorMessage";
import { ItemGrid } from "../components/ItemCard";
import { useDebouncedValue } from "../hooks/useDebouncedValue";
import { useDocumentTitle } from "../hooks/useDocumentTitle";
import { FILTER_LANGUAGES, MOVIE_GENRES, languageName } from "../languages";

export const SEARCH_DELAY_MS = 250;
const RESULTS = 24;
const FILTER_NAMES = ["type", "language", "genre", "year_from", "year_to"] as const;

type Filters = Record<(typeof FILTER_NAMES)[number], string>;

export function Search() {
  const [params, setParams] = useSearchParams();
  const [text, setText] = useState(params.get("q") ?? "");
  const filters = Object.fromEntries(FILTER_NAMES.map((name) => [name, params.get(name) ?? ""])) as Filters;
  const [answer, setAnswer] = useState<SearchAnswer | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [searching, setSearching] = useState(false);
  useDocumentTitle(text ? `Search: ${text}` : "Search");

  const settledText = useDebouncedValue(text.trim(), SEARCH_DELAY_MS);
  const filterKey = FILTER_NAMES.map((name) => filters[name]).join("|");

  // The URL follows what was typed, without a history entry per keystroke.
  useEffect(() => {
    const next = new URLSearchParams(params);
    if (settledText) next.set("q", settledText);
    else next.delete("q");
    if (next.toString() !== params.toString()) setParams(next, { replace: true });
    // Only a newly settled text moves the URL; a change of filters already wrote its own.
  }, [settledText]);

  // Back and forward bring their query back into the box.
  useEffect(() => {
    const fromUrl = params.get("q") ?? "";
    setText((current) => (current.trim() === fromUrl ? current : fromUrl));
  }, [params]);

  useEffect(() => {
    if (!settledText) {
      setAnswer(null);
      setError(null);
      setSearching(false);
      return;
    }
    // A newer query cancels the request of the one before it.
    const controller = new AbortController();
    setSearching(true);
    apiRequest<SearchAnswer>(`/search/semantic${queryString({ q: settledText, limit: RESULTS, ...filters })}`, {
      signal: controller.signal,
    })
      .then((found) => {
        setAnswer(found);
        setError(null);
        setSearching(false);
      })
      .catch((failure: unknown) => {
        if (isAbort(failure)) return;
        setError(failure);
        setSearching(false);
      });
    return () => controller.abort();
    // filterKey stands for the filters, which are a new object on every render.
  }, [settledText, filterKey]);

  const setFilter = (name: keyof Filters) => (event: { target: { value: string } }) => {
    const next = new URLSearchParams(params);
    if (event.target.value) next.set(name, event.target.value);
    else next.delete(name);
    setParams(next, { replace: true });
  };
  const fieldErrors = error instanceof ApiError ? error.fieldMessages() : {};

  let count = "";
  if (answer && settledText) {
    count = answer.items.length === 1 ? "1 result" : `${answer.items.length} results`;
  }

  return (
    <>
      <h1>Search</h1>
      <form className="search-form" role="search" onSubmit={(event) => event.preventDefault()}>
        <div className="field field--wide">
          <label htmlFor="search-q">Search</label>
          <input
            id="search-q"
            type="search"
            value={text}
            onChange={(event) => setText(event.target.value)}
            placeholder="A title, a person, or a story: “astronauts looking for a new home”"
            autoComplete="off"
            maxLength={500}
            aria-describedby="search-count"
          />
        </div>
        <div className="filters">
          <div className="field">
            <label htmlFor="search-type">Type</label>
            <select id="search-type" value={filters.type} onChange={setFilter("type")}>
              <option value="">Films and books</option>
              <option value="movie">Films</option>
              <option value="book">Books</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor="search-language">Language</label>
            <select id="search-language" value={filters.language} onChange={setFilter("language")}>
              <option value="">Any language</option>
              {FILTER_LANGUAGES.map((code) => (
                <option key={code} value={code}>
                  {languageName(code)}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="search-genre">Genre</label>
            <select id="search-genre" value={filters.genre} onChange={setFilter("genre")}>
              <option value="">Any genre</option>
              {MOVIE_GENRES.map((genre) => (
                <option key={genre} value={genre}>
                  {genre}
                </option>
              ))}
            </select>
          </div>
          <div className="field field--narrow">
            <label htmlFor="search-year-from">Year from</label>
            <input id="search-year-from" type="number" inputMode="numeric" value={filters.year_from} onChange={setFilter("year_from")} />
            {fieldErrors.year_from && <p className="field__error">{fieldErrors.year_from}</p>}
          </div>
          <div className="field field--narrow">
            <label htmlFor="search-year-to">Year to</label>
            <input id="search-year-to" type="number" inputMode="numeric" value={filters.year_to} onChange={setFilter("year_to")} />
            {fieldErrors.year_to && <p className="field__error">{fieldErrors.year_to}</p>}
          </div>
        </div>
      </form>
      <p id="search-count" className="search-count" role="status" aria-live="polite">
        {searching ? "Searching…" : count}
      </p>
      {!settledText && !text.trim() && (
        <p className="muted">Type a title, a name, or what happens in the story; results appear as you type.</p>
      )}
      <ErrorMessage error={error} />
      {answer?.partial && (
        <p className="notice">
          The catalogue is still being indexed ({Math.floor(answer.embedded_share * 100)}% done): some items are found
          only by their words for now.
        </p>
      )}
      {answer && answer.items.length === 0 && answer.hint && <p className="notice">{answer.hint}</p>}
      {answer && answer.items.length > 0 && <h2 className="visually-hidden">Results</h2>}
      {answer && answer.items.length > 0 && (
        <ItemGrid
          label="Search results"
          listId={answer.list_id}
          items={answer.items.map((item) => ({ item, itemType: item.item_type }))}
        />
      )}
    </>
  );
}
