import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link } from "react-router";
import { ApiError, apiRequest, formLevelError, queryString } from "../api/client";
import type {
  AmbiguousImportRow,
  HistoryImport,
  ImportCandidate,
  ImportChoice,
  ImportSource,
  ItemList,
  UnmatchedImportRow,
} from "../api/types";
import { ErrorMessage, Loading } from "../components/ErrorMessage";
import { Field } from "../components/Field";
import { starsLabel } from "../components/StarRating";
import { useApi } from "../hooks/useApi";
import { useDocumentTitle } from "../hooks/useDocumentTitle";

/** The API refuses larger files (413); checked here first so a large file is not sent in vain. */
export const MAX_IMPORT_BYTES = 20 * 1024 * 1024;

interface SourceDescription {
  name: string;
  /** File name endings the source's export comes as. */
  accept: string[];
  /** Where the service offers its export. */
  hint: string;
}

export const IMPORT_SOURCES: Record<ImportSource, SourceDescription> = {
  letterboxd: {
    name: "Letterboxd",
    accept: [".zip", ".csv"],
    hint: "Settings → Data → Export your data gives a .zip: upload it as it is, or its ratings.csv or watchlist.csv.",
  },
  imdb: {
    name: "IMDb",
    accept: [".csv"],
    hint: "Your ratings → the ⋮ menu → Export; the .csv is then ready under Your exports.",
  },
  goodreads: {
    name: "Goodreads",
    accept: [".csv"],
    hint: "My Books → Import and export (under Tools) → Export Library, then download the .csv.",
  },
};

const SOURCE_ORDER: ImportSource[] = ["letterboxd", "imdb", "goodreads"];

function plural(count: number, one: string, many: string): string {
  return `${count} ${count === 1 ? one : many}`;
}

function rowKey(row: { file: string; row: number }): string {
  return `${row.file}\n${row.row}`;
}

function where(row: { file: string; row: number }): string {
  return `${row.file}, line ${row.row}`;
}

function when(timestamp: string): string {
  return new Date(timestamp).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/**
 * Advice for a refused file whose message names a line ("... ratings.csv line 14 ..."), so the
 * user knows where to look; null when it names none.
 */
export function lineAdvice(message: string): string | null {
  const line = /\bline (\d+)/i.exec(message);
  if (!line) return null;
  const file = /[\w.-]+\.csv\b/i.exec(message);
  return `Look at line ${line[1]} of ${file ? file[0] : "the file"}, correct or delete it, and import the file again.`;
}

/** Why a chosen file cannot be sent, before sending it; null when it can. */
function fileProblem(file: File | null, source: ImportSource): string | null {
  const { name, accept } = IMPORT_SOURCES[source];
  if (!file) return "Choose the file to import.";
  if (!accept.some((ending) => file.name.toLowerCase().endsWith(ending))) {
    return `${name}'s export is a ${accept.join(" or ")} file; ${file.name} is not.`;
  }
  if (file.size > MAX_IMPORT_BYTES) return `${file.name} is larger than 20 MB, the most an import takes.`;
  return null;
}

function candidateLabel(candidate: ImportCandidate): string {
  const parts = [candidate.year ? `${candidate.title} (${candidate.year})` : candidate.title];
  if (candidate.authors.length) parts.push(candidate.authors.join(", "));
  return parts.join(", ");
}

function rowWhat(row: AmbiguousImportRow): string {
  if (row.rating !== null) return `you rated it ${starsLabel(row.rating)}`;
  return row.want ? "on your watchlist or to-read shelf" : "";
}

function UploadForm({ onImported }: { onImported: (answer: HistoryImport) => void }) {
  const [source, setSource] = useState<ImportSource>("letterboxd");
  const [file, setFile] = useState<File | null>(null);
  const [problem, setProblem] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const refused = fileProblem(file, source);
    setProblem(refused ?? "");
    if (refused || !file) return;
    const form = new FormData();
    form.append("file", file, file.name);
    setBusy(true);
    try {
      onImported(await apiRequest<HistoryImport>(`/me/imports${queryString({ source })}`, { method: "POST", body: form }));
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  // The API names the field "file" when the file itself is at fault (a missing column, a bad line):
  // that message goes under the file input, with advice when it names a line. A 413 comes from the
  // body size limit in front of the routes and counts in bytes, so the limit is repeated in MB.
  const tooLarge = error instanceof ApiError && error.status === 413;
  const apiMessage = error instanceof ApiError ? (tooLarge ? error.message : error.fieldMessages().file) : undefined;
  const advice = tooLarge ? "An import takes files up to 20 MB." : apiMessage ? lineAdvice(apiMessage) : null;
  const fileError = problem || (apiMessage ? [apiMessage, advice].filter(Boolean).join(" ") : undefined);

  return (
    <form onSubmit={submit} className="panel stack" aria-labelledby="upload-heading">
      <h2 id="upload-heading">Upload an export</h2>
      <fieldset className="source-choices">
        <legend>Import from</legend>
        {SOURCE_ORDER.map((key) => (
          <div className="source-choice" key={key}>
            <input
              type="radio"
              id={`import-source-${key}`}
              name="import-source"
              value={key}
              checked={source === key}
              onChange={() => setSource(key)}
              aria-describedby={`import-source-${key}-hint`}
            />
            <label htmlFor={`import-source-${key}`}>{IMPORT_SOURCES[key].name}</label>
            <p className="field__hint" id={`import-source-${key}-hint`}>
              {IMPORT_SOURCES[key].hint}
            </p>
          </div>
        ))}
      </fieldset>
      <Field
        label="File"
        type="file"
        accept={IMPORT_SOURCES[source].accept.join(",")}
        hint={`A ${IMPORT_SOURCES[source].accept.join(" or ")} file, up to 20 MB.`}
        error={fileError}
        onChange={(event) => {
          setFile(event.target.files?.[0] ?? null);
          setProblem("");
        }}
      />
      <ErrorMessage error={tooLarge ? null : formLevelError(error, ["file"])} />
      <button type="submit" className="primary" disabled={busy}>
        {busy ? "Importing…" : "Import"}
      </button>
    </form>
  );
}

function Counts({ answer }: { answer: HistoryImport }) {
  const rows: [string, number][] = [
    ["Rows read", answer.rows],
    ["Matched", answer.matched],
    ["Ratings added", answer.ratings_added],
    ["Ratings updated", answer.ratings_updated],
    ["Wants added (watchlist, to-read)", answer.wants_added],
    ["Awaiting your choice", answer.ambiguous.length],
    ["Not found", answer.not_found.length],
  ];
  return (
    <dl className="facts import-counts">
      {rows.map(([term, value]) => (
        <div key={term}>
          <dt>{term}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function ResolveForm({ answer, onResolved }: { answer: HistoryImport; onResolved: (next: HistoryImport) => void }) {
  // Keyed by file and line: a Letterboxd ZIP holds several CSVs, whose lines can share numbers.
  const [choices, setChoices] = useState<Record<string, number | null>>({});
  const [problem, setProblem] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    const chosen: ImportChoice[] = answer.ambiguous
      .filter((row) => rowKey(row) in choices)
      .map((row) => ({ row: row.row, file: row.file, item_id: choices[rowKey(row)] ?? null }));
    if (chosen.length === 0) {
      setProblem("Choose an item, or “None of these”, for at least one row.");
      return;
    }
    setProblem("");
    setBusy(true);
    try {
      const next = await apiRequest<HistoryImport>(`/me/imports/${encodeURIComponent(answer.import_id)}/resolve`, {
        method: "POST",
        body: { choices: chosen },
      });
      setChoices({});
      onResolved(next);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="ambiguous-heading" className="section">
      <h3 id="ambiguous-heading">Which one did you mean?</h3>
      <p className="muted">
        These rows match more than one item. Choose the right one for each, or “None of these” to leave the row out;
        rows you leave unanswered wait here for later.
      </p>
      <form onSubmit={submit} className="stack">
        {answer.ambiguous.map((row) => {
          const key = rowKey(row);
          const name = `choice-${key.replace(/\W+/g, "-")}`;
          const what = rowWhat(row);
          const options: { id: number | null; label: string }[] = [
            ...row.candidates.map((candidate) => ({ id: candidate.id, label: candidateLabel(candidate) })),
            { id: null, label: "None of these" },
          ];
          return (
            <fieldset className="import-choice" key={key}>
              <legend>
                “{row.title}”{row.year ? ` (${row.year})` : ""}
                {row.authors.length ? `, ${row.authors.join(", ")}` : ""}{" "}
                <span className="import-choice__where">
                  {where(row)}
                  {what ? `; ${what}` : ""}
                </span>
              </legend>
              {options.map((option) => {
                const id = `${name}-${option.id ?? "none"}`;
                return (
                  <div className="inline-field" key={id}>
                    <input
                      type="radio"
                      id={id}
                      name={name}
                      checked={key in choices && choices[key] === option.id}
                      onChange={() => setChoices((current) => ({ ...current, [key]: option.id }))}
                    />
                    <label htmlFor={id}>{option.label}</label>
                  </div>
                );
              })}
            </fieldset>
          );
        })}
        {problem && (
          <p className="error" role="alert">
            {problem}
          </p>
        )}
        <ErrorMessage error={error} />
        <button type="submit" className="primary" disabled={busy}>
          Save my choices
        </button>
      </form>
    </section>
  );
}

function NotFoundRows({ rows }: { rows: UnmatchedImportRow[] }) {
  const withAuthors = rows.some((row) => row.authors.length > 0);
  return (
    <section aria-labelledby="not-found-heading" className="section">
      <h3 id="not-found-heading">Not found</h3>
      <p className="muted">
        These rows were left out: nothing in CineLibre's catalogue matched them, or you chose “None of these”.
      </p>
      <div className="table-scroll">
        <table className="table">
          <caption className="visually-hidden">Rows not found in the catalogue</caption>
          <thead>
            <tr>
              <th scope="col">Title</th>
              <th scope="col">Year</th>
              {withAuthors && <th scope="col">Authors</th>}
              <th scope="col">File and line</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={rowKey(row)}>
                <td>{row.title}</td>
                <td>{row.year ?? "—"}</td>
                {withAuthors && <td>{row.authors.join(", ") || "—"}</td>}
                <td>{where(row)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function ImportAnswer({ answer, onResolved }: { answer: HistoryImport; onResolved: (next: HistoryImport) => void }) {
  const heading = useRef<HTMLHeadingElement>(null);
  // A new answer replaces the form's surroundings: focus goes to it, as after a navigation.
  useEffect(() => heading.current?.focus(), [answer]);
  return (
    <section aria-labelledby="answer-heading" className="panel">
      <h2 id="answer-heading" ref={heading} tabIndex={-1}>
        Imported from {IMPORT_SOURCES[answer.source].name}
      </h2>
      {answer.created_at && (
        <p className="muted">
          <time dateTime={answer.created_at}>{when(answer.created_at)}</time>
        </p>
      )}
      <Counts answer={answer} />
      {answer.ambiguous.length > 0 && <ResolveForm key={answer.import_id} answer={answer} onResolved={onResolved} />}
      {answer.not_found.length > 0 && <NotFoundRows rows={answer.not_found} />}
      <p>
        <Link to="/me/ratings">See my ratings</Link>
      </p>
    </section>
  );
}

function EarlierImports({ version, onShow }: { version: number; onShow: (entry: HistoryImport) => void }) {
  const { data, error, loading } = useApi<ItemList<HistoryImport>>("/me/imports", version);
  const dated = data?.items.some((entry) => entry.created_at) ?? false;
  return (
    <section aria-labelledby="earlier-heading" className="section">
      <h2 id="earlier-heading">Earlier imports</h2>
      <ErrorMessage error={error} />
      {loading && !data && <Loading label="Loading your imports…" />}
      {data && data.items.length === 0 && <p className="muted">You have not imported anything yet.</p>}
      {data && data.items.length > 0 && (
        <div className="table-scroll">
          <table className="table">
            <caption className="visually-hidden">Earlier imports, newest first</caption>
            <thead>
              <tr>
                {dated && <th scope="col">Imported</th>}
                <th scope="col">From</th>
                <th scope="col">Rows</th>
                <th scope="col">Matched</th>
                <th scope="col">Ratings added</th>
                <th scope="col">Ratings updated</th>
                <th scope="col">Wants added</th>
                <th scope="col">Awaiting a choice</th>
                <th scope="col">Not found</th>
                <th scope="col">
                  <span className="visually-hidden">Details</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {data.items.map((entry, index) => (
                <tr key={entry.import_id}>
                  {dated && <td>{entry.created_at ? when(entry.created_at) : "—"}</td>}
                  <td>{IMPORT_SOURCES[entry.source].name}</td>
                  <td>{entry.rows}</td>
                  <td>{entry.matched}</td>
                  <td>{entry.ratings_added}</td>
                  <td>{entry.ratings_updated}</td>
                  <td>{entry.wants_added}</td>
                  <td>{entry.ambiguous.length}</td>
                  <td>{entry.not_found.length}</td>
                  <td>
                    <button
                      type="button"
                      className="compact"
                      onClick={() => onShow(entry)}
                      aria-label={`Show import ${data.items.length - index} (${IMPORT_SOURCES[entry.source].name})`}
                    >
                      Show
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export default function ImportRatings() {
  useDocumentTitle("Import your ratings");
  const [answer, setAnswer] = useState<HistoryImport | null>(null);
  const [status, setStatus] = useState("");
  // Bumped after an import or a resolve, so the list of earlier imports is read again.
  const [version, setVersion] = useState(0);

  const show = (next: HistoryImport, message: string) => {
    setAnswer(next);
    setStatus(message);
    setVersion((current) => current + 1);
  };

  return (
    <>
      <h1>Import your ratings</h1>
      <p>
        Bring your ratings, watchlist and to-read shelf from Letterboxd, IMDb or Goodreads. Importing the same file
        again changes nothing, and a rating you gave here after the one in the file is kept.
      </p>
      <UploadForm
        onImported={(next) =>
          show(
            next,
            `Import done: ${plural(next.matched, "row", "rows")} of ${next.rows} matched, ` +
              `${plural(next.ambiguous.length, "row awaits", "rows await")} your choice.`,
          )
        }
      />
      <p className="visually-hidden" role="status" aria-live="polite">
        {status}
      </p>
      {answer && (
        <ImportAnswer
          answer={answer}
          onResolved={(next) =>
            show(next, `Choices saved; ${plural(next.ambiguous.length, "row awaits", "rows await")} your choice.`)
          }
        />
      )}
      <EarlierImports
        version={version}
        onShow={(entry) => {
          setAnswer(entry);
          setStatus("");
        }}
      />
    </>
  );
}
