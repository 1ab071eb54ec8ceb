import { cleanup, render, screen, waitFor, within } from "@testing-library/react";
import { MemoryRouter, Route, Routes } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Adaptation, Book, SourceBook } from "../api/types";
import { AuthProvider } from "../auth/AuthContext";
import { Detail } from "../pages/Detail";
import { routedFetch, servedList } from "./fixtures";

/** A film as the API's MoviePublic sends it, with how it was linked to its book. */
function adaptation(id: number, title: string, year: number, foundBy: Adaptation["found_by"]): Adaptation {
  return {
    id,
    title,
    original_title: title,
    year,
    release_date: `${year}-07-12`,
    original_language: "hi",
    genres: ["Drama", "Romance"],
    keywords: ["based on novel or book"],
    overview: null,
    directors: [],
    cast: [],
    poster_url: null,
    runtime: null,
    tmdb_id: null,
    imdb_id: null,
    movielens_id: null,
    popularity: null,
    vote_average: null,
    vote_count: null,
    spoken_languages: ["hi"],
    average_rating: null,
    rating_count: 0,
    found_by: foundBy,
  } as Adaptation;
}

/** A book as the API's BookPublic sends it. */
const DEVDAS_NOVEL: Book = {
  id: 5,
  title: "Devdas",
  subtitle: null,
  authors: ["Sarat Chandra Chattopadhyay"],
  description: null,
  categories: ["Fiction"],
  language: "bn",
  year: 1917,
  published_date: "1917",
  page_count: null,
  thumbnail_url: null,
  google_books_id: null,
  isbn13: null,
  upstream_average_rating: null,
  upstream_ratings_count: null,
  average_rating: null,
  rating_count: 0,
} as Book;

const DEVDAS_FILM = adaptation(9, "Devdas", 2002, "tmdb_credits");
const SOURCE_BOOKS: { items: SourceBook[] } = { items: [{ ...DEVDAS_NOVEL, found_by: "tmdb_credits" }] };
const ADAPTATIONS: { items: Adaptation[] } = {
  items: [adaptation(3, "Devdas", 1955, "catalogue"), DEVDAS_FILM],
};

function similarAnswers(itemType: "movie" | "book", id: number) {
  return {
    [`GET /recommendations/similar/${itemType}/${id}?limit=6&target_type=movie`]: servedList("list-1", []),
    [`GET /recommendations/similar/${itemType}/${id}?limit=6&target_type=book`]: servedList("list-2", []),
  };
}

function renderItem(path: string, itemType: "movie" | "book") {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <AuthProvider>
        <Routes>
          <Route path={itemType === "movie" ? "/movies/:id" : "/books/:id"} element={<Detail itemType={itemType} />} />
        </Routes>
      </AuthProvider>
    </MemoryRouter>,
  );
}

describe("the item page's adaptations", () => {
  let fetchMock: ReturnType<typeof vi.fn>;

  beforeEach(() => {
    localStorage.clear();
    fetchMock = vi.fn();
    vi.stubGlobal("fetch", fetchMock);
  });

  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it("a film shows the books it is based on, each linking to the book's page", async () => {
    fetchMock.mockImplementation(
      routedFetch({
        "GET /movies/9": DEVDAS_FILM,
        "GET /movies/9/source-books": SOURCE_BOOKS,
        ...similarAnswers("movie", 9),
      }),
    );
    renderItem("/movies/9", "movie");

    const heading = await screen.findByRole("heading", { level: 2, name: "Based on" });
    const list = within(heading.closest("section") as HTMLElement).getByRole("list", { name: "Based on" });
    const links = within(list).getAllByRole("link", { name: "Devdas" });
    expect(links.map((link) => link.getAttribute("href"))).toEqual(["/books/5"]);
    expect(within(list).getAllByRole("link")).toHaveLength(1);
    expect(screen.queryByRole("heading", { name: "Adapted for the screen" })).toBeNull();
  });

  it("a book shows the films adapted from it, each linking to the film's page", async () => {
    fetchMock.mockImplementation(
      routedFetch({
        "GET /books/5": DEVDAS_NOVEL,
        "GET /books/5/adaptations": ADAPTATIONS,
        ...similarAnswers("book", 5),
      }),
    );
    renderItem("/books/5", "book");

    const heading = await screen.findByRole("heading", { level: 2, name: "Adapted for the screen" });
    const links = within(heading.closest("section") as HTMLElement).getAllByRole("link", { name: "Devdas" });
    expect(links.map((link) => link.getAttribute("href"))).toEqual(["/movies/3", "/movies/9"]);
    expect(screen.queryByRole("heading", { name: "Based on" })).toBeNull();
  });

  it("a film based on no known book has no such section", async () => {
    fetchMock.mockImplementation(
      routedFetch({
        "GET /movies/9": DEVDAS_FILM,
        "GET /movies/9/source-books": { items: [] },
        ...similarAnswers("movie", 9),
      }),
    );
    renderItem("/movies/9", "movie");

    await screen.findByRole("heading", { level: 1, name: "Devdas" });
    await waitFor(() => expect(fetchMock.mock.calls.map(([path]) => path)).toContain("/movies/9/source-books"));
    // The similar lists are asked for after the source books: once they show, the books are in.
    await waitFor(() => expect(screen.getAllByText("Nothing close enough yet.")).toHaveLength(2));
    expect(screen.queryByRole("heading", { name: "Based on" })).toBeNull();
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("a book with no known film has no such section", async () => {
    fetchMock.mockImplementation(
      routedFetch({
        "GET /books/5": DEVDAS_NOVEL,
        "GET /books/5/adaptations": { items: [] },
        ...similarAnswers("book", 5),
      }),
    );
    renderItem("/books/5", "book");

    await screen.findByRole("heading", { level: 1, name: "Devdas" });
    await waitFor(() => expect(fetchMock.mock.calls.map(([path]) => path)).toContain("/books/5/adaptations"));
    await waitFor(() => expect(screen.getAllByText("Nothing close enough yet.")).toHaveLength(2));
    expect(screen.queryByRole("heading", { name: "Adapted for the screen" })).toBeNull();
  });
});
