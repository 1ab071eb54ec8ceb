import { cleanup, fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Experiment, ExperimentResults } from "../api/types";
import { Experiments } from "../pages/AdminExperiments";
import { jsonResponse, postedBodies, routedFetch } from "./fixtures";

const CONFIGURATIONS = {
  items: [
    { name: "default", description: "What is served today.", surfaces: ["personalized", "similar", "popular", "search"] },
    { name: "popular", description: "The Bayesian-average popular order.", surfaces: ["personalized", "popular"] },
    { name: "collaborative", description: "Trained models alone.", surfaces: ["personalized", "similar"] },
    { name: "content", description: "The content profile alone.", surfaces: ["personalized", "similar"] },
    { name: "no-diversity", description: "Diversity 0.", surfaces: ["personalized"] },
    { name: "more-diversity", description: "Diversity 0.2.", surfaces: ["personalized"] },
    { name: "semantic", description: "Meaning only.", surfaces: ["search"] },
    { name: "keyword", description: "Words only.", surfaces: ["search"] },
  ],
};

function experiment(id: number, name: string, extra: Partial<Experiment> = {}): Experiment {
  return {
    id,
    name,
    surface: "personalized",
    kind: "ab",
    status: "draft",
    variants: [
      { name: "control", configuration: "default", share: 0.5 },
      { name: "treatment", configuration: "collaborative", share: 0.5 },
    ],
    expected_daily_users: 400,
    created_at: "2026-12-01T10:00:00Z",
    started_at: null,
    stopped_at: null,
    ...extra,
  };
}

const DRAFT = experiment(4, "models-alone");
const RUNNING = experiment(3, "more-variety", {
  status: "running",
  variants: [
    { name: "control", configuration: "default", share: 0.6 },
    { name: "varied", configuration: "more-diversity", share: 0.4 },
  ],
  started_at: "2026-12-02T09:00:00Z",
});
const INTERLEAVED = experiment(2, "meaning-or-words", {
  surface: "search",
  kind: "interleaving",
  status: "stopped",
  variants: [
    { name: "semantic", configuration: "semantic", share: 0.5 },
    { name: "keyword", configuration: "keyword", share: 0.5 },
  ],
  started_at: "2026-11-20T09:00:00Z",
  stopped_at: "2026-11-27T09:00:00Z",
});

function abResults(srmFlagged: boolean): ExperimentResults {
  return {
    experiment: RUNNING,
    metric: "ctr",
    alpha: 0.05,
    rating_window_days: 7,
    variants: [
      {
        name: "control",
        configuration: "default",
        users: 600,
        exposures: 4000,
        clicks: 200,
        ctr: 0.05,
        ctr_at: { "1": 0.021, "3": 0.034, "10": 0.048 },
        rating_rate: 0.12,
        mean_rating: 3.8,
        coverage: 0.31,
        difference: null,
      },
      {
        name: "varied",
        configuration: "more-diversity",
        users: 400,
        exposures: 2400,
        clicks: 150,
        ctr: 0.0625,
        ctr_at: { "1": 0.025, "3": 0.04, "10": 0.06 },
        rating_rate: 0.15,
        mean_rating: null,
        coverage: 0.42,
        difference: { value: 0.0125, relative: 0.25, ci: [0.004, 0.021], p_value: 0.0042, significant: true },
      },
    ],
    verdict: { winner: "varied", reason: "Its CTR is higher than the control's, beyond chance at the 5% level." },
    srm: { p_value: srmFlagged ? 0.0002 : 0.41, flagged: srmFlagged },
    minimum_detectable_effect: null,
    interleaving: null,
  };
}

/** A draft's results: nobody assigned yet, and what a test of it could detect. */
const DRAFT_RESULTS: ExperimentResults = {
  ...abResults(false),
  experiment: DRAFT,
  variants: abResults(false).variants.map((variant, index) => ({
    ...variant,
    name: index === 0 ? "control" : "treatment",
    configuration: index === 0 ? "default" : "collaborative",
    users: 0,
    exposures: 0,
    clicks: 0,
    ctr: 0,
    ctr_at: { "1": 0, "3": 0, "10": 0 },
    rating_rate: 0,
    mean_rating: null,
    coverage: 0,
    difference: index === 0 ? null : { value: 0, relative: null, ci: [0, 0], p_value: 1, significant: false },
  })),
  verdict: { winner: null, reason: "No lists were shown yet." },
  srm: { p_value: 1, flagged: false },
  minimum_detectable_effect: {
    expected_users: 5600,
    baseline_ctr: 0.05,
    baseline_measured: false,
    absolute: 0.0083,
    relative: 0.166,
  },
};

const INTERLEAVING_RESULTS: ExperimentResults = {
  ...abResults(false),
  experiment: INTERLEAVED,
  variants: abResults(false).variants.map((variant, index) => ({
    ...variant,
    name: index === 0 ? "semantic" : "keyword",
    configuration: index === 0 ? "semantic" : "keyword",
  })),
  verdict: { winner: "semantic", reason: "semantic won 58.0% of the lists decided between it and keyword (p = 0.011, below 0.05)." },
  srm: { p_value: 1, flagged: false },
  interleaving: {
    lists: 300,
    wins: { semantic: 145, keyword: 105 },
    ties: 50,
    share: { variant: "semantic", value: 0.58, ci: [0.52, 0.64], p_value: 0.011 },
  },
};

function cells(row: HTMLElement): string[] {
  return within(row)
    .getAllByRole("cell")
    .map((cell) => cell.textContent ?? "");
}

describe("Admin experiments", () => {
  let fetchMock: ReturnType<typeof vi.fn>;
  let answers: Record<string, unknown>;

  beforeEach(() => {
    answers = {
      "GET /admin/experiments": { items: [DRAFT, RUNNING, INTERLEAVED] },
      "GET /admin/experiments/configurations": CONFIGURATIONS,
      "GET /admin/experiments/3/results": abResults(false),
      "GET /admin/experiments/2/results": INTERLEAVING_RESULTS,
      "GET /admin/experiments/4/results": DRAFT_RESULTS,
      "POST /admin/experiments/4/start": { ...DRAFT, status: "running" },
      "POST /admin/experiments/3/pause": { ...RUNNING, status: "paused" },
      "POST /admin/experiments/3/stop": { ...RUNNING, status: "stopped" },
    };
    fetchMock = vi.fn((path: string, init?: RequestInit) => routedFetch(answers)(path, init));
    vi.stubGlobal("fetch", fetchMock);
  });

  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  const calls = () => fetchMock.mock.calls.map(([path, init]) => `${(init as RequestInit | undefined)?.method ?? "GET"} ${path}`);

  it("lists each experiment with its surface, kind, status and variants with their shares", async () => {
    render(<Experiments />);
    const row = (await screen.findByRole("rowheader", { name: "more-variety" })).closest("tr") as HTMLElement;
    expect(cells(row).slice(0, 4)).toEqual([
      "Personalized (For you)",
      "A/B test",
      "running",
      "control (default): 60%, varied (more-diversity): 40%",
    ]);
    const interleaved = screen.getByRole("rowheader", { name: "meaning-or-words" }).closest("tr") as HTMLElement;
    expect(cells(interleaved).slice(0, 3)).toEqual(["Search", "Interleaving", "stopped"]);
    expect(within(interleaved).queryByRole("button", { name: /^(Start|Resume|Pause|Stop)/ })).toBeNull();
  });

  it("starts a draft, pauses and stops a running one through their endpoints, then reloads the list", async () => {
    vi.spyOn(window, "confirm").mockReturnValue(true);
    render(<Experiments />);
    fireEvent.click(await screen.findByRole("button", { name: "Start models-alone" }));
    await waitFor(() => expect(calls().filter((call) => call === "GET /admin/experiments")).toHaveLength(2));
    fireEvent.click(screen.getByRole("button", { name: "Pause more-variety" }));
    await waitFor(() => expect(calls().filter((call) => call === "GET /admin/experiments")).toHaveLength(3));
    fireEvent.click(screen.getByRole("button", { name: "Stop more-variety" }));
    await waitFor(() => expect(calls().filter((call) => call === "GET /admin/experiments")).toHaveLength(4));
    expect(calls().filter((call) => call.startsWith("POST"))).toEqual([
      "POST /admin/experiments/4/start",
      "POST /admin/experiments/3/pause",
      "POST /admin/experiments/3/stop",
    ]);
  });

  it("does not stop an experiment when the confirmation is declined", async () => {
    vi.spyOn(window, "confirm").mockReturnValue(false);
    render(<Experiments />);
    fireEvent.click(await screen.findByRole("button", { name: "Stop more-variety" }));
    expect(calls().filter((call) => call.startsWith("POST"))).toEqual([]);
  });

  it("shows the API's refusal of a start in words", async () => {
    fetchMock.mockImplementation((path: string, init?: RequestInit) =>
      init?.method === "POST"
        ? Promise.resolve(
            jsonResponse(409, {
              error: { code: "conflict", message: "Experiment 3 is already running on personalized.", details: [] },
            }),
          )
        : routedFetch(answers)(path, init),
    );
    render(<Experiments />);
    fireEvent.click(await screen.findByRole("button", { name: "Start models-alone" }));
    expect((await screen.findByRole("alert")).textContent).toBe("Experiment 3 is already running on personalized.");
  });

  it("shows a variant's results, its difference to control with the interval and p-value, and the verdict", async () => {
    render(<Experiments />);
    fireEvent.click(await screen.findByRole("button", { name: "Results of more-variety" }));
    await screen.findByRole("heading", { name: "Results: more-variety" });
    const metrics = (await screen.findByRole("table", { name: /Each variant's users/ })) as HTMLElement;
    expect(within(metrics).getAllByRole("columnheader").map((header) => header.textContent)).toEqual([
      "Variant",
      "Configuration",
      "Users",
      "Exposures",
      "Clicks",
      "CTR",
      "CTR@1",
      "CTR@3",
      "CTR@10",
      "Rated within 7 days",
      "Mean rating",
      "Coverage",
    ]);
    const controlRow = within(metrics).getByRole("rowheader", { name: "control" }).closest("tr") as HTMLElement;
    expect(cells(controlRow)).toEqual(["default", "600", "4000", "200", "5.00%", "2.10%", "3.40%", "4.80%", "12.00%", "3.80 ★", "31.00%"]);
    const variedRow = within(metrics).getByRole("rowheader", { name: "varied" }).closest("tr") as HTMLElement;
    expect(cells(variedRow)).toEqual(["more-diversity", "400", "2400", "150", "6.25%", "2.50%", "4.00%", "6.00%", "15.00%", "—", "42.00%"]);

    const differences = screen.getByRole("table", { name: "Each variant against the control (control), in CTR" });
    expect(within(differences).getAllByRole("columnheader").map((header) => header.textContent)).toEqual([
      "Variant",
      "Difference",
      "Relative",
      "95% interval",
      "p-value",
      "Significant",
    ]);
    const difference = within(differences).getByRole("rowheader", { name: "varied" }).closest("tr") as HTMLElement;
    expect(cells(difference)).toEqual(["+1.25 pp", "+25.0%", "+0.40 pp to +2.10 pp", "0.004", "Yes"]);

    expect(screen.getByText("Verdict:").parentElement?.textContent).toBe(
      "Verdict: varied wins. Its CTR is higher than the control's, beyond chance at the 5% level.",
    );
    expect(screen.queryByText(/^Before the start/)).toBeNull();
    expect(screen.queryByRole("alert")).toBeNull();
    expect(screen.getByText(/sample ratio check p = 0.410/)).toBeTruthy();
  });

  it("shows a draft's smallest detectable effect before the start", async () => {
    render(<Experiments />);
    fireEvent.click(await screen.findByRole("button", { name: "Results of models-alone" }));
    const effect = await screen.findByText(/^Before the start/);
    expect(effect.textContent?.replace(/\s+/g, " ")).toBe(
      "Before the start, the smallest detectable effect: with 5600 users and a baseline CTR of 5.00% (assumed: the surface has served no list yet), a difference of 0.83 percentage points (16.6% relative) is the smallest this experiment can reliably detect.",
    );
    expect(screen.getByText("Verdict:").parentElement?.textContent).toBe("Verdict: no winner. No lists were shown yet.");
  });

  it("warns that the results cannot be trusted when the sample ratio mismatch is flagged", async () => {
    answers["GET /admin/experiments/3/results"] = abResults(true);
    render(<Experiments />);
    fireEvent.click(await screen.findByRole("button", { name: "Results of more-variety" }));
    const warning = await screen.findByRole("alert");
    expect(warning.textContent).toBe(
      "Sample ratio mismatch (p = < 0.001): users did not split between the variants as their shares say. Something in assignment or logging is off; do not trust these results until it is found.",
    );
  });

  it("shows each interleaved variant's wins and win share with its interval", async () => {
    render(<Experiments />);
    fireEvent.click(await screen.findByRole("button", { name: "Results of meaning-or-words" }));
    const table = await screen.findByRole("table", { name: /Wins in interleaved lists/ });
    expect(within(table).getByRole("caption").textContent).toBe(
      "Wins in interleaved lists: 300 lists, 50 ties; p-value of the split 0.011",
    );
    const semantic = within(table).getByRole("rowheader", { name: "semantic" }).closest("tr") as HTMLElement;
    const keyword = within(table).getByRole("rowheader", { name: "keyword" }).closest("tr") as HTMLElement;
    expect(cells(semantic)).toEqual(["145", "58.0%", "52.0% to 64.0%"]);
    expect(cells(keyword)).toEqual(["105", "42.0%", "36.0% to 48.0%"]);
    expect(screen.queryByText(/^Before the start/)).toBeNull();
    expect(screen.queryByText(/sample ratio/)).toBeNull();
  });

  it("creates an experiment from the form, with shares as fractions and configurations of its surface", async () => {
    answers["POST /admin/experiments"] = experiment(5, "popular-first");
    render(<Experiments />);
    const form = await screen.findByRole("form", { name: "New experiment" });
    fireEvent.change(within(form).getByLabelText("Name"), { target: { value: "popular-first" } });
    fireEvent.change(within(form).getByLabelText("Expected users a day"), { target: { value: "250" } });
    const treatment = within(form).getByRole("group", { name: "Variant 2" });
    const configuration = within(treatment).getByLabelText("Configuration") as HTMLSelectElement;
    expect(Array.from(configuration.options).map((option) => option.value)).toEqual([
      "default",
      "popular",
      "collaborative",
      "content",
      "no-diversity",
      "more-diversity",
    ]);
    fireEvent.change(configuration, { target: { value: "popular" } });
    fireEvent.change(within(treatment).getByLabelText("Share (%)"), { target: { value: "30" } });
    fireEvent.change(within(within(form).getByRole("group", { name: "Variant 1 (control)" })).getByLabelText("Share (%)"), {
      target: { value: "70" },
    });
    fireEvent.click(within(form).getByRole("button", { name: "Create experiment" }));
    expect(await within(form).findByRole("status")).toBeTruthy();
    expect(postedBodies(fetchMock, "/admin/experiments")).toEqual([
      {
        name: "popular-first",
        surface: "personalized",
        kind: "ab",
        variants: [
          { name: "control", configuration: "default", share: 0.7 },
          { name: "treatment", configuration: "popular", share: 0.3 },
        ],
        expected_daily_users: 250,
      },
    ]);
  });

  it("offers a search experiment only the search configurations and shows a refusal of the API", async () => {
    render(<Experiments />);
    const form = await screen.findByRole("form", { name: "New experiment" });
    fireEvent.change(within(form).getByLabelText("Surface"), { target: { value: "search" } });
    const control = within(within(form).getByRole("group", { name: "Variant 1 (control)" })).getByLabelText(
      "Configuration",
    ) as HTMLSelectElement;
    expect(Array.from(control.options).map((option) => option.value)).toEqual(["default", "semantic", "keyword"]);
    expect(control.value).toBe("default");

    fetchMock.mockImplementation((path: string, init?: RequestInit) =>
      init?.method === "POST"
        ? Promise.resolve(
            jsonResponse(422, {
              error: {
                code: "validation_error",
                message: "Invalid request: body.variants: Variant names must differ.",
                details: [{ field: "body.variants", message: "Variant names must differ." }],
              },
            }),
          )
        : routedFetch(answers)(path, init),
    );
    fireEvent.change(within(form).getByLabelText("Name"), { target: { value: "words" } });
    fireEvent.click(within(form).getByRole("button", { name: "Create experiment" }));
    expect((await within(form).findByRole("alert")).textContent).toBe(
      "Invalid request: body.variants: Variant names must differ.",
    );
  });
});
