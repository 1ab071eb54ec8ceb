import { useId, useState, type FormEvent } from "react";
import { ApiError, apiRequest, formLevelError } from "../api/client";
import type {
  Experiment,
  ExperimentConfiguration,
  ExperimentKind,
  ExperimentResults,
  ExperimentSurface,
  Interval,
  NewExperiment,
  VariantResult,
} from "../api/types";
import { ErrorMessage, Loading } from "../components/ErrorMessage";
import { Field } from "../components/Field";
import { useApi } from "../hooks/useApi";

const SURFACES: { value: ExperimentSurface; label: string }[] = [
  { value: "personalized", label: "Personalized (For you)" },
  { value: "similar", label: "Similar items" },
  { value: "popular", label: "Popular" },
  { value: "search", label: "Search" },
];
const SURFACE_NAMES = Object.fromEntries(SURFACES.map(({ value, label }) => [value, label])) as Record<string, string>;
const KIND_NAMES: Record<ExperimentKind, string> = { ab: "A/B test", interleaving: "Interleaving" };
const MINUS = "\u2212";

function signed(text: string, value: number): string {
  if (value > 0) return `+${text}`;
  if (value < 0) return `${MINUS}${text.replace(/^-/, "")}`;
  return text;
}

/** A proportion as a percentage: 0.0423 → "4.23%". */
export function percent(value: number, digits = 2): string {
  return `${(value * 100).toFixed(digits)}%`;
}

/** A difference of two proportions in percentage points, signed: 0.012 → "+1.20 pp". */
export function points(value: number): string {
  return signed(`${(value * 100).toFixed(2)} pp`, value);
}

export function pValue(value: number): string {
  return value < 0.001 ? "< 0.001" : value.toFixed(3);
}

function relativeChange(value: number | null): string {
  return value === null ? "—" : signed(percent(value, 1), value);
}

function intervalOf(ci: Interval, format: (value: number) => string): string {
  return `${format(ci[0])} to ${format(ci[1])}`;
}

function shares(experiment: Experiment): string {
  return experiment.variants
    .map((variant) => `${variant.name} (${variant.configuration}): ${percent(variant.share, 0)}`)
    .join(", ");
}

/** Start, pause, resume or stop: what the experiment's status allows. */
function ExperimentActions({
  experiment,
  onDone,
  onError,
}: {
  experiment: Experiment;
  onDone: () => void;
  onError: (error: unknown) => void;
}) {
  const [busy, setBusy] = useState(false);
  const move = async (action: "start" | "pause" | "stop") => {
    // Stopping is for good: a stopped experiment cannot start again.
    if (action === "stop" && !window.confirm(`Stop “${experiment.name}”? A stopped experiment cannot start again.`)) return;
    setBusy(true);
    onError(null);
    try {
      await apiRequest<Experiment>(`/admin/experiments/${experiment.id}/${action}`, { method: "POST" });
      onDone();
    } catch (failure) {
      onError(failure);
    } finally {
      setBusy(false);
    }
  };
  const button = (action: "start" | "pause" | "stop", label: string) => (
    <button type="button" onClick={() => void move(action)} disabled={busy}>
      {label}{" "}
      <span className="visually-hidden">{experiment.name}</span>
    </button>
  );
  const { status } = experiment;
  return (
    <>
      {status === "draft" && button("start", "Start")}
      {status === "paused" && button("start", "Resume")}
      {status === "running" && button("pause", "Pause")}
      {(status === "running" || status === "paused") && button("stop", "Stop")}
    </>
  );
}

interface VariantDraft {
  name: string;
  configuration: string;
  /** A percentage as typed. */
  share: string;
}

function configurationsFor(configurations: ExperimentConfiguration[], surface: ExperimentSurface) {
  return configurations.filter((configuration) => configuration.surfaces.includes(surface));
}

function startingVariants(available: ExperimentConfiguration[]): VariantDraft[] {
  const control = available.find((configuration) => configuration.name === "default") ?? available[0];
  const other = available.find((configuration) => configuration !== control) ?? control;
  return [
    { name: "control", configuration: control?.name ?? "", share: "50" },
    { name: "treatment", configuration: other?.name ?? "", share: "50" },
  ];
}

function VariantFields({
  index,
  variant,
  available,
  onChange,
  onRemove,
}: {
  index: number;
  variant: VariantDraft;
  available: ExperimentConfiguration[];
  onChange: (variant: VariantDraft) => void;
  onRemove: (() => void) | null;
}) {
  const id = useId();
  const description = available.find((configuration) => configuration.name === variant.configuration)?.description;
  const legend = index === 0 ? "Variant 1 (control)" : `Variant ${index + 1}`;
  return (
    <fieldset className="variant">
      <legend>{legend}</legend>
      <Field label="Variant name" required maxLength={40} value={variant.name} onChange={(event) => onChange({ ...variant, name: event.target.value })} />
      <div className="field">
        <label htmlFor={`${id}-configuration`}>Configuration</label>
        <select
          id={`${id}-configuration`}
          value={variant.configuration}
          aria-describedby={description ? `${id}-description` : undefined}
          onChange={(event) => onChange({ ...variant, configuration: event.target.value })}
        >
          {available.map((configuration) => (
            <option key={configuration.name} value={configuration.name}>
              {configuration.name}
            </option>
          ))}
        </select>
        {description && (
          <p className="field__hint" id={`${id}-description`}>
            {description}
          </p>
        )}
      </div>
      <Field
        label="Share (%)"
        type="number"
        inputMode="decimal"
        required
        min={0}
        max={100}
        step="any"
        value={variant.share}
        onChange={(event) => onChange({ ...variant, share: event.target.value })}
      />
      {onRemove && (
        <button type="button" onClick={onRemove}>
          Remove{" "}
          <span className="visually-hidden">variant {index + 1}</span>
        </button>
      )}
    </fieldset>
  );
}

/** A new experiment, created as a draft: nothing changes for users until it is started. */
function NewExperimentForm({
  configurations,
  onCreated,
}: {
  configurations: ExperimentConfiguration[];
  onCreated: (experiment: Experiment) => void;
}) {
  const [name, setName] = useState("");
  const [surface, setSurface] = useState<ExperimentSurface>("personalized");
  const [kind, setKind] = useState<ExperimentKind>("ab");
  const [expectedDailyUsers, setExpectedDailyUsers] = useState("");
  const [variants, setVariants] = useState<VariantDraft[]>(() =>
    startingVariants(configurationsFor(configurations, "personalized")),
  );
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState("");
  const [busy, setBusy] = useState(false);
  const surfaceId = useId();
  const kindId = useId();
  const available = configurationsFor(configurations, surface);
  const shareTotal = variants.reduce((sum, variant) => sum + (Number(variant.share) || 0), 0);

  const changeSurface = (next: ExperimentSurface) => {
    setSurface(next);
    // A configuration another surface does not have cannot stay chosen.
    const nextAvailable = configurationsFor(configurations, next);
    setVariants((current) =>
      current.map((variant) =>
        nextAvailable.some((configuration) => configuration.name === variant.configuration)
          ? variant
          : { ...variant, configuration: nextAvailable[0]?.name ?? "" },
      ),
    );
  };
  const changeKind = (next: ExperimentKind) => {
    setKind(next);
    // Interleaving mixes exactly two lists into one.
    if (next === "interleaving") setVariants((current) => current.slice(0, 2));
  };
  const changeVariant = (index: number) => (variant: VariantDraft) =>
    setVariants((current) => current.map((existing, position) => (position === index ? variant : existing)));
  const removeVariant = (index: number) => () =>
    setVariants((current) => current.filter((_, position) => position !== index));
  const addVariant = () =>
    setVariants((current) => [
      ...current,
      { name: `variant-${current.length + 1}`, configuration: available[0]?.name ?? "", share: "0" },
    ]);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setDone("");
    const body: NewExperiment = {
      name: name.trim(),
      surface,
      kind,
      // Percentages to fractions, rounded so that 33.33 + 33.33 + 33.34 still adds up to 1.
      variants: variants.map((variant) => ({
        name: variant.name.trim(),
        configuration: variant.configuration,
        share: Math.round(Number(variant.share) * 100) / 10_000,
      })),
      ...(expectedDailyUsers ? { expected_daily_users: Number(expectedDailyUsers) } : {}),
    };
    try {
      const created = await apiRequest<Experiment>("/admin/experiments", { method: "POST", body });
      setDone(`Created “${created.name}” as a draft. Start it from the list when it is ready.`);
      setName("");
      setExpectedDailyUsers("");
      setVariants(startingVariants(available));
      onCreated(created);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const fields = error instanceof ApiError ? error.fieldMessages() : {};

  return (
    <form onSubmit={submit} className="stack experiment-form" aria-labelledby="new-experiment-heading">
      <h3 id="new-experiment-heading">New experiment</h3>
      <div className="filters">
        <Field label="Name" required maxLength={100} value={name} onChange={(event) => setName(event.target.value)} error={fields.name} />
        <div className="field">
          <label htmlFor={surfaceId}>Surface</label>
          <select id={surfaceId} value={surface} onChange={(event) => changeSurface(event.target.value as ExperimentSurface)}>
            {SURFACES.map(({ value, label }) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={kindId}>Kind</label>
          <select id={kindId} value={kind} onChange={(event) => changeKind(event.target.value as ExperimentKind)}>
            <option value="ab">{KIND_NAMES.ab}</option>
            <option value="interleaving">{KIND_NAMES.interleaving}</option>
          </select>
        </div>
        <Field
          label="Expected users a day"
          type="number"
          inputMode="numeric"
          min={1}
          step={1}
          hint="Optional: sizes the smallest detectable effect a draft's results show (recent traffic does otherwise)."
          value={expectedDailyUsers}
          onChange={(event) => setExpectedDailyUsers(event.target.value)}
          error={fields.expected_daily_users}
        />
      </div>
      <div className="variants">
        {variants.map((variant, index) => (
          <VariantFields
            key={index}
            index={index}
            variant={variant}
            available={available}
            onChange={changeVariant(index)}
            onRemove={variants.length > 2 ? removeVariant(index) : null}
          />
        ))}
      </div>
      <p className={Math.abs(shareTotal - 100) < 1e-9 ? "muted" : "field__error"} aria-live="polite">
        Shares add up to {Number(shareTotal.toFixed(4))}%{Math.abs(shareTotal - 100) < 1e-9 ? "." : "; they must add up to 100%."}
      </p>
      {kind === "ab" ? (
        <button type="button" onClick={addVariant}>
          Add variant
        </button>
      ) : (
        <p className="muted">Interleaving compares exactly two variants, mixed into one list for each user.</p>
      )}
      <ErrorMessage error={formLevelError(error, ["name", "expected_daily_users"])} />
      {done && (
        <p role="status" className="success">
          {done}
        </p>
      )}
      <button type="submit" className="primary" disabled={busy}>
        Create experiment
      </button>
    </form>
  );
}

function VariantTable({ results }: { results: ExperimentResults }) {
  const ks = Object.keys(results.variants[0]?.ctr_at ?? {}).sort((a, b) => Number(a) - Number(b));
  return (
    <div className="table-scroll">
      <table className="table">
        <caption>Each variant's users and what they did; the first is the control.</caption>
        <thead>
          <tr>
            <th scope="col">Variant</th>
            <th scope="col">Configuration</th>
            <th scope="col">Users</th>
            <th scope="col">Exposures</th>
            <th scope="col">Clicks</th>
            <th scope="col">CTR</th>
            {ks.map((k) => (
              <th scope="col" key={k}>
                CTR@{k}
              </th>
            ))}
            <th scope="col">Rated within {results.rating_window_days} days</th>
            <th scope="col">Mean rating</th>
            <th scope="col">Coverage</th>
          </tr>
        </thead>
        <tbody>
          {results.variants.map((variant) => (
            <tr key={variant.name}>
              <th scope="row">{variant.name}</th>
              <td>{variant.configuration}</td>
              <td>{variant.users}</td>
              <td>{variant.exposures}</td>
              <td>{variant.clicks}</td>
              <td>{percent(variant.ctr)}</td>
              {ks.map((k) => (
                <td key={k}>{variant.ctr_at[k] === undefined ? "—" : percent(variant.ctr_at[k])}</td>
              ))}
              <td>{percent(variant.rating_rate)}</td>
              <td>{variant.mean_rating === null ? "—" : `${variant.mean_rating.toFixed(2)} ★`}</td>
              <td>{percent(variant.coverage)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function DifferenceTable({ results }: { results: ExperimentResults }) {
  const control = results.variants[0]?.name ?? "control";
  const compared = results.variants.filter(
    (variant): variant is VariantResult & { difference: NonNullable<VariantResult["difference"]> } =>
      variant.difference !== null,
  );
  if (compared.length === 0) return null;
  const confidence = `${Math.round((1 - results.alpha) * 100)}%`;
  return (
    <div className="table-scroll">
      <table className="table">
        <caption>
          Each variant against the control ({control}), in {results.metric.toUpperCase()}
        </caption>
        <thead>
          <tr>
            <th scope="col">Variant</th>
            <th scope="col">Difference</th>
            <th scope="col">Relative</th>
            <th scope="col">{confidence} interval</th>
            <th scope="col">p-value</th>
            <th scope="col">Significant</th>
          </tr>
        </thead>
        <tbody>
          {compared.map(({ name, difference }) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              <td>{points(difference.value)}</td>
              <td>{relativeChange(difference.relative)}</td>
              <td>{intervalOf(difference.ci, points)}</td>
              <td>{pValue(difference.p_value)}</td>
              <td>{difference.significant ? "Yes" : "No"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function InterleavingTable({ results }: { results: ExperimentResults }) {
  const interleaving = results.interleaving;
  if (!interleaving) return null;
  const { share } = interleaving;
  // The two variants' shares of the wins make one whole, so the second's is the rest of the first's.
  const rows = results.variants.map((variant) =>
    variant.name === share.variant
      ? { name: variant.name, value: share.value, ci: share.ci }
      : { name: variant.name, value: 1 - share.value, ci: [1 - share.ci[1], 1 - share.ci[0]] as Interval },
  );
  return (
    <div className="table-scroll">
      <table className="table">
        <caption>
          Wins in interleaved lists: {interleaving.lists} lists, {interleaving.ties} ties; p-value of the split{" "}
          {pValue(share.p_value)}
        </caption>
        <thead>
          <tr>
            <th scope="col">Variant</th>
            <th scope="col">Wins</th>
            <th scope="col">Win share</th>
            <th scope="col">95% interval</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={row.name}>
              <th scope="row">{row.name}</th>
              <td>{interleaving.wins[row.name] ?? 0}</td>
              <td>{percent(row.value, 1)}</td>
              <td>{intervalOf(row.ci, (value) => percent(value, 1))}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function ExperimentResultsView({ id, version }: { id: number; version: number }) {
  const { data: results, error, loading } = useApi<ExperimentResults>(`/admin/experiments/${id}/results`, version);
  if (loading && !results) return <Loading label="Loading the results…" />;
  if (!results) return <ErrorMessage error={error} />;
  const { verdict, srm, minimum_detectable_effect: mde } = results;
  return (
    <div className="experiment-results">
      <ErrorMessage error={error} />
      {srm.flagged ? (
        <div className="warning" role="alert">
          <strong>Sample ratio mismatch</strong> (p = {pValue(srm.p_value)}): users did not split between the variants
          as their shares say. Something in assignment or logging is off; do not trust these results until it is found.
        </div>
      ) : (
        // Interleaving shows every user both variants: there is no split to check.
        results.experiment.kind === "ab" && (
          <p className="muted">
            Users split between the variants as their shares say (sample ratio check p = {pValue(srm.p_value)}).
          </p>
        )
      )}
      <p className="verdict">
        <strong>Verdict:</strong> {verdict.winner ? `${verdict.winner} wins.` : "no winner."} {verdict.reason}
      </p>
      {mde && (
        <p>
          Before the start, the smallest detectable effect: with {mde.expected_users} users and a baseline CTR of {percent(mde.baseline_ctr)}
          {mde.baseline_measured === false ? " (assumed: the surface has served no list yet)" : ""}, a
          difference of {(mde.absolute * 100).toFixed(2)} percentage points
          {mde.relative === null ? "" : ` (${percent(mde.relative, 1)} relative)`} is the smallest this experiment can
          reliably detect.
        </p>
      )}
      <VariantTable results={results} />
      <DifferenceTable results={results} />
      <InterleavingTable results={results} />
    </div>
  );
}

/** The Admin page's experiments: the list with its actions, the results of one, and a new one. */
export function Experiments() {
  const [version, setVersion] = useState(0);
  const refresh = () => setVersion((current) => current + 1);
  const [shownId, setShownId] = useState<number | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const list = useApi<{ items: Experiment[] }>("/admin/experiments", version);
  const configurations = useApi<{ items: ExperimentConfiguration[] }>("/admin/experiments/configurations");
  const shown = list.data?.items.find((experiment) => experiment.id === shownId) ?? null;

  return (
    <section aria-labelledby="experiments-heading" className="section">
      <div className="section__head">
        <h2 id="experiments-heading">Experiments</h2>
        <button type="button" onClick={refresh} disabled={list.loading}>
          Refresh experiments
        </button>
      </div>
      <ErrorMessage error={list.error} />
      <ErrorMessage error={actionError} />
      {list.loading && !list.data && <Loading label="Loading experiments…" />}
      {list.data && list.data.items.length === 0 && <p className="muted">No experiment yet.</p>}
      {list.data && list.data.items.length > 0 && (
        <div className="table-scroll">
          <table className="table">
            <caption className="visually-hidden">Experiments, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Surface</th>
                <th scope="col">Kind</th>
                <th scope="col">Status</th>
                <th scope="col">Variants and shares</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((experiment) => (
                <tr key={experiment.id}>
                  <th scope="row">{experiment.name}</th>
                  <td>{SURFACE_NAMES[experiment.surface] ?? experiment.surface}</td>
                  <td>{KIND_NAMES[experiment.kind] ?? experiment.kind}</td>
                  <td>
                    <span className={`status status--${experiment.status}`}>{experiment.status}</span>
                  </td>
                  <td>{shares(experiment)}</td>
                  <td>
                    <div className="actions">
                      <ExperimentActions experiment={experiment} onDone={refresh} onError={setActionError} />
                      <button type="button" aria-pressed={shownId === experiment.id} onClick={() => setShownId(experiment.id)}>
                        Results{" "}
                        <span className="visually-hidden">of {experiment.name}</span>
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {shown && (
        <section aria-labelledby="experiment-results-heading" className="subsection">
          <div className="section__head">
            <h3 id="experiment-results-heading">Results: {shown.name}</h3>
            <button type="button" onClick={refresh}>
              Refresh results
            </button>
          </div>
          <ExperimentResultsView id={shown.id} version={version} />
        </section>
      )}
      <ErrorMessage error={configurations.error} />
      {configurations.data && <NewExperimentForm configurations={configurations.data.items} onCreated={refresh} />}
    </section>
  );
}
