import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { HistoryImport } from "../api/types";
import ImportRatings, { lineAdvice } from "../pages/ImportRatings";
import { jsonResponse, postedBodies } from "./fixtures";

const IMPORT_ID = "5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f";
const EARLIER_ID = "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d";

/** POST /me/imports as the contract shows it: one row awaiting a choice between two films, one not found. */
const ANSWER: HistoryImport = {
  import_id: IMPORT_ID,
  source: "letterboxd",
  rows: 120,
  matched: 110,
  ambiguous: [
    {
      row: 14,
      file: "ratings.csv",
      title: "Devdas",
      year: null,
      authors: [],
      rating: 4.5,
      want: false,
      candidates: [
        { item_type: "movie", id: 3, title: "Devdas", year: 1955, authors: [] },
        { item_type: "movie", id: 9, title: "Devdas", year: 2002, authors: [] },
      ],
    },
    {
      row: 14,
      file: "watchlist.csv",
      title: "Don",
      year: null,
      authors: [],
      rating: null,
      want: true,
      candidates: [
        { item_type: "movie", id: 21, title: "Don", year: 1978, authors: [] },
        { item_type: "movie", id: 22, title: "Don", year: 2006, authors: [] },
      ],
    },
  ],
  not_found: [{ row: 20, file: "ratings.csv", title: "Kaagaz Ke Phool", year: 1959, authors: [] }],
  ratings_added: 90,
  ratings_updated: 3,
  wants_added: 17,
};

/** The same import after Devdas was resolved to the 2002 film and Don skipped (it joins the rows not found). */
const RESOLVED: HistoryImport = {
  ...ANSWER,
  matched: 111,
  ambiguous: [],
  not_found: [...ANSWER.not_found, { row: 14, file: "watchlist.csv", title: "Don", year: null, authors: [] }],
  ratings_added: 91,
};

const GOODREADS_EARLIER: HistoryImport = {
  import_id: EARLIER_ID,
  source: "goodreads",
  rows: 40,
  matched: 38,
  ambiguous: [],
  not_found: [
    { row: 7, file: "goodreads_library_export.csv", title: "Raag Darbari", year: 1968, authors: ["Shrilal Shukla"] },
    { row: 31, file: "goodreads_library_export.csv", title: "Tamas", year: null, authors: ["Bhisham Sahni"] },
  ],
  ratings_added: 30,
  ratings_updated: 0,
  wants_added: 8,
  created_at: "2026-11-02T18:30:00Z",
};

type Answer = { status: number; body: unknown };

/** Answers by method and path, each with its status; anything else a 404 in the API's error shape. */
function fetchAnswering(answers: Record<string, Answer>) {
  return vi.fn((path: string, init: RequestInit = {}) => {
    const key = `${init.method ?? "GET"} ${path}`;
    const answer = answers[key];
    if (answer) return Promise.resolve(jsonResponse(answer.status, answer.body));
    return Promise.resolve(jsonResponse(404, { error: { code: "not_found", message: `No answer for ${key}`, details: [] } }));
  });
}

function calls(fetchMock: ReturnType<typeof fetchAnswering>, method: string, path: string): RequestInit[] {
  return fetchMock.mock.calls
    .filter(([calledPath, init]) => calledPath === path && (init?.method ?? "GET") === method)
    .map(([, init]) => init ?? {});
}

function renderPage() {
  return render(
    <MemoryRouter initialEntries={["/me/import"]}>
      <ImportRatings />
    </MemoryRouter>,
  );
}

function csv(name: string, text = "Const,Your Rating,Title\ntt0347304,9,Devdas\n"): File {
  return new File([text], name, { type: "text/csv" });
}

describe("Import your ratings", () => {
  beforeEach(() => {
    localStorage.clear();
  });

  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it("posts the chosen file as multipart form data to /me/imports with the chosen source", async () => {
    const fetchMock = fetchAnswering({
      "GET /me/imports": { status: 200, body: { items: [] } },
      "POST /me/imports?source=imdb": { status: 201, body: { ...ANSWER, source: "imdb" } },
    });
    vi.stubGlobal("fetch", fetchMock);
    const user = userEvent.setup();
    renderPage();

    await user.click(screen.getByRole("radio", { name: "IMDb" }));
    const file = csv("ratings.csv");
    await user.upload(screen.getByLabelText("File"), file);
    await user.click(screen.getByRole("button", { name: "Import" }));

    await screen.findByRole("heading", { name: "Imported from IMDb" });
    const posts = calls(fetchMock, "POST", "/me/imports?source=imdb");
    expect(posts).toHaveLength(1);
    const body = posts[0]?.body;
    expect(body).toBeInstanceOf(FormData);
    const sent = (body as FormData).get("file");
    expect(sent).toBeInstanceOf(File);
    expect((sent as File).name).toBe("ratings.csv");
    expect(await (sent as File).text()).toBe("Const,Your Rating,Title\ntt0347304,9,Devdas\n");
    // The browser writes the multipart Content-Type with its boundary; a JSON one would break the upload.
    expect(Object.keys(posts[0]?.headers as Record<string, string>)).not.toContain("Content-Type");
  });

  it("shows the answer's counts, the rows awaiting a choice with their candidates, and the rows not found", async () => {
    vi.stubGlobal(
      "fetch",
      fetchAnswering({
        "GET /me/imports": { status: 200, body: { items: [] } },
        "POST /me/imports?source=letterboxd": { status: 201, body: ANSWER },
      }),
    );
    const user = userEvent.setup();
    renderPage();
    await user.upload(screen.getByLabelText("File"), new File(["zip"], "letterboxd-export.zip", { type: "application/zip" }));
    await user.click(screen.getByRole("button", { name: "Import" }));

    const answer = (await screen.findByRole("heading", { name: "Imported from Letterboxd" })).closest("section") as HTMLElement;
    const counts = Object.fromEntries(
      Array.from(answer.querySelectorAll(".import-counts > div")).map((pair) => [
        pair.querySelector("dt")?.textContent,
        pair.querySelector("dd")?.textContent,
      ]),
    );
    expect(counts).toEqual({
      "Rows read": "120",
      Matched: "110",
      "Ratings added": "90",
      "Ratings updated": "3",
      "Wants added (watchlist, to-read)": "17",
      "Awaiting your choice": "2",
      "Not found": "1",
    });
    expect(screen.getByRole("status")).toHaveProperty(
      "textContent",
      "Import done: 110 rows of 120 matched, 2 rows await your choice.",
    );

    const devdas = screen.getByRole("group", { name: "“Devdas” ratings.csv, line 14; you rated it 4.5 stars" });
    expect(within(devdas).getAllByRole("radio").map((radio) => (radio as HTMLInputElement).labels?.[0]?.textContent)).toEqual([
      "Devdas (1955)",
      "Devdas (2002)",
      "None of these",
    ]);
    const don = screen.getByRole("group", { name: "“Don” watchlist.csv, line 14; on your watchlist or to-read shelf" });
    expect(within(don).getAllByRole("radio")).toHaveLength(3);

    const notFound = screen.getByRole("table", { name: "Rows not found in the catalogue" });
    expect(within(notFound).getAllByRole("columnheader").map((cell) => cell.textContent)).toEqual(["Title", "Year", "File and line"]);
    expect(within(notFound).getAllByRole("cell").map((cell) => cell.textContent)).toEqual(["Kaagaz Ke Phool", "1959", "ratings.csv, line 20"]);
  });

  it("resolving posts each answered row's chosen item id (null for none of these) and shows the updated import", async () => {
    const fetchMock = fetchAnswering({
      "GET /me/imports": { status: 200, body: { items: [] } },
      "POST /me/imports?source=letterboxd": { status: 201, body: ANSWER },
      [`POST /me/imports/${IMPORT_ID}/resolve`]: { status: 200, body: RESOLVED },
    });
    vi.stubGlobal("fetch", fetchMock);
    const user = userEvent.setup();
    renderPage();
    await user.upload(screen.getByLabelText("File"), csv("ratings.csv"));
    await user.click(screen.getByRole("button", { name: "Import" }));

    const devdas = await screen.findByRole("group", { name: /Devdas/ });
    await user.click(within(devdas).getByRole("radio", { name: "Devdas (2002)" }));
    const don = screen.getByRole("group", { name: /Don/ });
    await user.click(within(don).getByRole("radio", { name: "None of these" }));
    await user.click(screen.getByRole("button", { name: "Save my choices" }));

    await waitFor(() => expect(screen.queryByRole("group", { name: /Devdas/ })).toBeNull());
    expect(postedBodies(fetchMock, `/me/imports/${IMPORT_ID}/resolve`)).toEqual([
      {
        choices: [
          { row: 14, file: "ratings.csv", item_id: 9 },
          { row: 14, file: "watchlist.csv", item_id: null },
        ],
      },
    ]);
    const answer = screen.getByRole("heading", { name: "Imported from Letterboxd" }).closest("section") as HTMLElement;
    expect(within(answer).getByText("Matched", { selector: "dt" }).nextElementSibling?.textContent).toBe("111");
    expect(within(answer).getByText("Ratings added", { selector: "dt" }).nextElementSibling?.textContent).toBe("91");
    expect(within(answer).getByText("Awaiting your choice", { selector: "dt" }).nextElementSibling?.textContent).toBe("0");
    expect(within(answer).getByText("Not found", { selector: "dt" }).nextElementSibling?.textContent).toBe("2");
    const notFound = within(answer).getByRole("table", { name: "Rows not found in the catalogue" });
    expect(within(notFound).getAllByRole("row").slice(1).map((row) => row.firstElementChild?.textContent)).toEqual([
      "Kaagaz Ke Phool",
      "Don",
    ]);
    expect(screen.getByRole("status").textContent).toBe("Choices saved; 0 rows await your choice.");
    // The list of earlier imports is read again, to show the new counts.
    expect(calls(fetchMock, "GET", "/me/imports")).toHaveLength(3);
  });

  it("resolving with no row answered posts nothing and says what to do", async () => {
    const fetchMock = fetchAnswering({
      "GET /me/imports": { status: 200, body: { items: [] } },
      "POST /me/imports?source=letterboxd": { status: 201, body: ANSWER },
    });
    vi.stubGlobal("fetch", fetchMock);
    const user = userEvent.setup();
    renderPage();
    await user.upload(screen.getByLabelText("File"), csv("ratings.csv"));
    await user.click(screen.getByRole("button", { name: "Import" }));
    await user.click(await screen.findByRole("button", { name: "Save my choices" }));

    expect(screen.getByRole("alert").textContent).toBe("Choose an item, or “None of these”, for at least one row.");
    expect(calls(fetchMock, "POST", `/me/imports/${IMPORT_ID}/resolve`)).toEqual([]);
  });

  it("a refused file shows the API's message under the file field, with where to look when it names a line", async () => {
    const message = "ratings.csv line 14, column Name: a cell may not start with '=' (it would run as a formula in a spreadsheet)";
    vi.stubGlobal(
      "fetch",
      fetchAnswering({
        "GET /me/imports": { status: 200, body: { items: [] } },
        "POST /me/imports?source=letterboxd": {
          status: 422,
          body: { error: { code: "validation_error", message, details: [{ field: "file", message }] } },
        },
      }),
    );
    const user = userEvent.setup();
    renderPage();
    const input = screen.getByLabelText("File");
    await user.upload(input, csv("ratings.csv"));
    await user.click(screen.getByRole("button", { name: "Import" }));

    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toBe(
      `${message} Look at line 14 of ratings.csv, correct or delete it, and import the file again.`,
    );
    expect(input.getAttribute("aria-describedby")?.split(" ")).toContain(alert.id);
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(screen.queryByRole("heading", { name: /Imported from/ })).toBeNull();
  });

  it("a 413 shows the API's message under the file field, with the limit in megabytes", async () => {
    vi.stubGlobal(
      "fetch",
      fetchAnswering({
        "GET /me/imports": { status: 200, body: { items: [] } },
        "POST /me/imports?source=goodreads": {
          status: 413,
          body: { error: { code: "payload_too_large", message: "The request body is larger than 20972544 bytes.", details: [] } },
        },
      }),
    );
    const user = userEvent.setup();
    renderPage();
    await user.click(screen.getByRole("radio", { name: "Goodreads" }));
    await user.upload(screen.getByLabelText("File"), csv("goodreads_library_export.csv"));
    await user.click(screen.getByRole("button", { name: "Import" }));

    const alert = await screen.findByRole("alert");
    expect(alert.textContent).toBe("The request body is larger than 20972544 bytes. An import takes files up to 20 MB.");
    expect(screen.getByLabelText("File").getAttribute("aria-describedby")?.split(" ")).toContain(alert.id);
  });

  it("a file the source does not export is refused before anything is sent", async () => {
    const fetchMock = fetchAnswering({ "GET /me/imports": { status: 200, body: { items: [] } } });
    vi.stubGlobal("fetch", fetchMock);
    const user = userEvent.setup();
    renderPage();
    await user.click(screen.getByRole("radio", { name: "IMDb" }));
    fireEvent.change(screen.getByLabelText("File"), { target: { files: [new File(["zip"], "export.zip")] } });
    await user.click(screen.getByRole("button", { name: "Import" }));

    expect(screen.getByRole("alert").textContent).toBe("IMDb's export is a .csv file; export.zip is not.");
    expect(fetchMock.mock.calls.filter(([, init]) => init?.method === "POST")).toEqual([]);
  });

  it("each source's radio is described by where that service offers its export", () => {
    vi.stubGlobal("fetch", fetchAnswering({ "GET /me/imports": { status: 200, body: { items: [] } } }));
    renderPage();
    const hint = (name: string) => {
      const radio = screen.getByRole("radio", { name });
      return document.getElementById(radio.getAttribute("aria-describedby") ?? "")?.textContent;
    };
    expect(hint("Letterboxd")).toMatch(/^Settings → Data → Export your data/);
    expect(hint("IMDb")).toMatch(/^Your ratings → /);
    expect(hint("Goodreads")).toMatch(/^My Books → Import and export/);
    expect(screen.getByRole("group", { name: "Import from" })).toBeTruthy();
  });

  it("lists earlier imports, and shows one's rows not found when asked", async () => {
    const latest = { ...ANSWER, created_at: "2026-12-07T09:15:00Z" };
    vi.stubGlobal("fetch", fetchAnswering({ "GET /me/imports": { status: 200, body: { items: [latest, GOODREADS_EARLIER] } } }));
    const user = userEvent.setup();
    renderPage();

    const table = await screen.findByRole("table", { name: "Earlier imports, newest first" });
    expect(within(table).getAllByRole("columnheader").map((cell) => cell.textContent)).toEqual([
      "Imported",
      "From",
      "Rows",
      "Matched",
      "Ratings added",
      "Ratings updated",
      "Wants added",
      "Awaiting a choice",
      "Not found",
      "Details",
    ]);
    // The first cell is the date in the browser's own format and time zone: left out here.
    const rows = within(table).getAllByRole("row").slice(1).map((row) =>
      within(row).getAllByRole("cell").slice(1, -1).map((cell) => cell.textContent),
    );
    expect(rows).toEqual([
      ["Letterboxd", "120", "110", "90", "3", "17", "2", "1"],
      ["Goodreads", "40", "38", "30", "0", "8", "0", "2"],
    ]);

    await user.click(screen.getByRole("button", { name: "Show import 1 (Goodreads)" }));
    expect(screen.getByRole("heading", { name: "Imported from Goodreads" })).toBe(document.activeElement);
    const notFound = screen.getByRole("table", { name: "Rows not found in the catalogue" });
    expect(within(notFound).getAllByRole("row").slice(1).map((row) => within(row).getAllByRole("cell").map((cell) => cell.textContent))).toEqual([
      ["Raag Darbari", "1968", "Shrilal Shukla", "goodreads_library_export.csv, line 7"],
      ["Tamas", "—", "Bhisham Sahni", "goodreads_library_export.csv, line 31"],
    ]);
  });
});

describe("lineAdvice", () => {
  it("names the line and the file a message names", () => {
    expect(lineAdvice("watched.csv line 3: not UTF-8")).toBe(
      "Look at line 3 of watched.csv, correct or delete it, and import the file again.",
    );
  });

  it("falls back to 'the file' when no file is named, and gives nothing without a line", () => {
    expect(lineAdvice("Line 9 is not UTF-8")).toBe("Look at line 9 of the file, correct or delete it, and import the file again.");
    expect(lineAdvice("The file has no column Title.")).toBeNull();
  });
});
