import { act, cleanup, fireEvent, render, screen } from "@testing-library/react";
import { MemoryRouter, Route, Routes, useLocation } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SEARCH_DELAY_MS, Search } from "../pages/Search";
import { jsonResponse, movie } from "./fixtures";

let lastLocation = "";
function LocationProbe() {
  const location = useLocation();
  lastLocation = `${location.pathname}${location.search}`;
  return null;
}

function renderSearch(url = "/search") {
  render(
    <MemoryRouter initialEntries={[url]}>
      <Routes>
        <Route path="/search" element={<Search />} />
      </Routes>
      <LocationProbe />
    </MemoryRouter>,
  );
  return screen.getByRole("searchbox", { name: "Search" });
}

async function wait(ms: number) {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

describe("Search", () => {
  let fetchMock: ReturnType<typeof vi.fn>;

  beforeEach(() => {
    vi.useFakeTimers();
    fetchMock = vi.fn();
    vi.stubGlobal("fetch", fetchMock);
  });

  afterEach(() => {
    cleanup();
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it("searches once typing pauses for the debounce delay, with the last text only", async () => {
    fetchMock.mockResolvedValue(jsonResponse(200, { items: [movie(1, "Sholay"), movie(2, "Lagaan")], hint: null, partial: false, embedded_share: 1 }));
    const box = renderSearch();
    for (const text of ["s", "sh", "sho", "shol"]) {
      fireEvent.change(box, { target: { value: text } });
      await wait(SEARCH_DELAY_MS - 50);
    }
    expect(fetchMock).not.toHaveBeenCalled();
    await wait(50);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(fetchMock.mock.calls[0]?.[0]).toBe("/search/semantic?q=shol&limit=24");
    expect(screen.getByRole("status", { name: "" }).textContent).toBe("2 results");
    expect(screen.getByRole("heading", { name: "Sholay" })).toBeTruthy();
    expect(lastLocation).toBe("/search?q=shol");
  });

  it("cancels the request of a query that was replaced before it answered", async () => {
    const signals: AbortSignal[] = [];
    fetchMock.mockImplementation((_path: string, init: RequestInit) => {
      signals.push(init.signal as AbortSignal);
      if (signals.length === 1) return new Promise(() => {}); // the first search never answers
      return Promise.resolve(jsonResponse(200, { items: [movie(3, "Drishyam")], hint: null, partial: false, embedded_share: 1 }));
    });
    const box = renderSearch();
    fireEvent.change(box, { target: { value: "thriller" } });
    await wait(SEARCH_DELAY_MS);
    fireEvent.change(box, { target: { value: "family thriller" } });
    await wait(SEARCH_DELAY_MS);
    expect(fetchMock.mock.calls.map(([path]) => path)).toEqual([
      "/search/semantic?q=thriller&limit=24",
      "/search/semantic?q=family+thriller&limit=24",
    ]);
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[1]?.aborted).toBe(false);
    expect(screen.getByRole("heading", { name: "Drishyam" })).toBeTruthy();
  });

  it("starts from the query in the URL, with its filters, and shows the hint when nothing is found", async () => {
    fetchMock.mockResolvedValue(
      jsonResponse(200, { items: [], hint: "Nothing close enough to 'zzz'; try other words.", partial: true, embedded_share: 0.625 }),
    );
    const box = renderSearch("/search?q=zzz&type=book&language=ta");
    expect((box as HTMLInputElement).value).toBe("zzz");
    await wait(SEARCH_DELAY_MS);
    expect(fetchMock.mock.calls[0]?.[0]).toBe("/search/semantic?q=zzz&limit=24&type=book&language=ta");
    expect(screen.getByText("Nothing close enough to 'zzz'; try other words.")).toBeTruthy();
    expect(screen.getByText(/still being indexed \(62% done\)/)).toBeTruthy();
    expect(screen.getByRole("status", { name: "" }).textContent).toBe("0 results");
  });
});
