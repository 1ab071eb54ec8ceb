import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter, Route, Routes, useLocation, useParams } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { storeToken } from "../api/token";
import { AuthProvider } from "../auth/AuthContext";
import { ForYou } from "../live/ForYou";
import { Detail } from "../pages/Detail";
import { SEARCH_DELAY_MS, Search } from "../pages/Search";
import { movie, postedBodies, routedFetch, servedList } from "./fixtures";

const REST_LIST = "7d1f0c4e-2b7a-4c53-9a55-0f3f5d0e8a11";
const LIVE_LIST = "b3e0a2d9-51c4-4f6e-8d27-9a4c1e6f7b20";
const SIMILAR_LIST = "0c9e8f71-3d2a-4b65-a1f4-6e7d8c9b0a32";
const SEARCH_LIST = "e41a6b2c-8f93-4d07-b5e1-2c3d4e5f6a43";

let lastState: unknown = undefined;
function StateProbe() {
  lastState = useLocation().state;
  return null;
}

/** Like the app's own route: one Detail per item, so a new item starts a new page. */
function ItemPage() {
  const { id } = useParams();
  return <Detail key={id} itemType="movie" />;
}

class QuietSocket extends EventTarget {
  static opened: QuietSocket[] = [];
  readyState = 0;
  constructor() {
    super();
    QuietSocket.opened.push(this);
  }
  send() {}
  close() {}
  serverSends(message: unknown) {
    this.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(message) }));
  }
}

describe("lists of recommendations credit clicks and views to their list_id", () => {
  let fetchMock: ReturnType<typeof vi.fn>;

  beforeEach(() => {
    localStorage.clear();
    lastState = undefined;
    QuietSocket.opened = [];
    vi.stubGlobal("WebSocket", QuietSocket);
    fetchMock = vi.fn();
    vi.stubGlobal("fetch", fetchMock);
  });

  afterEach(() => {
    cleanup();
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("a click in For you posts the list_id of the list shown, the fetched one and then the live one", async () => {
    storeToken("token-1");
    fetchMock.mockImplementation(
      routedFetch({
        "GET /recommendations/personalized?limit=20": servedList(REST_LIST, [movie(1, "Sholay")], { id: 3, variant: "treatment" }),
        "POST /interactions": {},
      }),
    );
    render(
      <MemoryRouter>
        <ForYou token="token-1" />
        <StateProbe />
      </MemoryRouter>,
    );
    fireEvent.click(await screen.findByRole("link", { name: "Sholay" }));
    expect(postedBodies(fetchMock, "/interactions")).toEqual([
      { kind: "click", item_id: 1, item_type: "movie", list_id: REST_LIST },
    ]);
    expect(lastState).toEqual({ listId: REST_LIST });

    act(() =>
      QuietSocket.opened[0]?.serverSends({
        type: "recommendations",
        items: [movie(7, "Drishyam")],
        list_id: LIVE_LIST,
        experiment: { id: 3, variant: "treatment" },
      }),
    );
    fireEvent.click(screen.getByRole("link", { name: "Drishyam" }));
    expect(postedBodies(fetchMock, "/interactions")).toEqual([
      { kind: "click", item_id: 1, item_type: "movie", list_id: REST_LIST },
      { kind: "click", item_id: 7, item_type: "movie", list_id: LIVE_LIST },
    ]);
    expect(lastState).toEqual({ listId: LIVE_LIST });
  });

  it("the item page's view carries the list it was opened from, and a similar item's click and view carry the similar list", async () => {
    storeToken("token-1");
    const similar = servedList(SIMILAR_LIST, [movie(2, "Lagaan", { reason: "close in meaning" })]);
    fetchMock.mockImplementation(
      routedFetch({
        "GET /auth/me": { id: 5, email: "a@example.org", name: "A", created_at: "2026-01-01T00:00:00Z" },
        "GET /movies/1": movie(1, "Sholay"),
        "GET /movies/2": movie(2, "Lagaan"),
        "GET /recommendations/similar/movie/1?limit=6&target_type=movie": similar,
        "GET /recommendations/similar/movie/1?limit=6&target_type=book": servedList(SIMILAR_LIST, []),
        "GET /recommendations/similar/movie/2?limit=6&target_type=movie": servedList(SIMILAR_LIST, []),
        "GET /recommendations/similar/movie/2?limit=6&target_type=book": servedList(SIMILAR_LIST, []),
        "POST /interactions": {},
      }),
    );
    render(
      <MemoryRouter initialEntries={[{ pathname: "/movies/1", state: { listId: REST_LIST } }]}>
        <AuthProvider>
          <Routes>
            <Route path="/movies/:id" element={<ItemPage />} />
          </Routes>
        </AuthProvider>
      </MemoryRouter>,
    );
    await screen.findByRole("heading", { level: 1, name: "Sholay" });
    await waitFor(() =>
      expect(postedBodies(fetchMock, "/interactions")).toEqual([
        { kind: "view", item_id: 1, item_type: "movie", list_id: REST_LIST },
      ]),
    );

    fireEvent.click(await screen.findByRole("link", { name: "Lagaan" }));
    await screen.findByRole("heading", { level: 1, name: "Lagaan" });
    await waitFor(() =>
      expect(postedBodies(fetchMock, "/interactions")).toEqual([
        { kind: "view", item_id: 1, item_type: "movie", list_id: REST_LIST },
        { kind: "click", item_id: 2, item_type: "movie", list_id: SIMILAR_LIST },
        { kind: "view", item_id: 2, item_type: "movie", list_id: SIMILAR_LIST },
      ]),
    );
  });

  it("an item page opened any other way views without a list_id", async () => {
    storeToken("token-1");
    fetchMock.mockImplementation(
      routedFetch({ "GET /movies/1": movie(1, "Sholay"), "POST /interactions": {} }),
    );
    render(
      <MemoryRouter initialEntries={["/movies/1"]}>
        <AuthProvider>
          <Routes>
            <Route path="/movies/:id" element={<ItemPage />} />
          </Routes>
        </AuthProvider>
      </MemoryRouter>,
    );
    await screen.findByRole("heading", { level: 1, name: "Sholay" });
    await waitFor(() =>
      expect(postedBodies(fetchMock, "/interactions")).toEqual([{ kind: "view", item_id: 1, item_type: "movie" }]),
    );
  });

  it("a search result clicked by a visitor who is not signed in is sent to its list, not to /interactions", async () => {
    vi.useFakeTimers();
    fetchMock.mockImplementation(
      routedFetch({
        "GET /search/semantic?q=dacoits&limit=24": {
          ...servedList(SEARCH_LIST, [movie(1, "Sholay")]),
          hint: null,
          partial: false,
          embedded_share: 1,
        },
      }),
    );
    render(
      <MemoryRouter initialEntries={["/search"]}>
        <Routes>
          <Route path="/search" element={<Search />} />
          <Route path="*" element={null} />
        </Routes>
        <StateProbe />
      </MemoryRouter>,
    );
    fireEvent.change(screen.getByRole("searchbox", { name: "Search" }), { target: { value: "dacoits" } });
    await act(async () => {
      await vi.advanceTimersByTimeAsync(SEARCH_DELAY_MS);
    });
    fireEvent.click(screen.getByRole("link", { name: "Sholay" }));
    expect(postedBodies(fetchMock, "/interactions")).toEqual([]);
    expect(postedBodies(fetchMock, `/lists/${SEARCH_LIST}/interactions`)).toEqual([
      { kind: "click", item_id: 1, item_type: "movie" },
    ]);
    expect(lastState).toEqual({ listId: SEARCH_LIST });
  });
});
