import { useState } from "react";
import { apiRequest } from "../api/client";
import type { SyncRun } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { ErrorMessage, Loading } from "../components/ErrorMessage";
import { useApi } from "../hooks/useApi";
import { useDocumentTitle } from "../hooks/useDocumentTitle";
import { Experiments } from "./AdminExperiments";

const SOURCE_NAMES: Record<string, string> = { tmdb: "Films (TMDB)", google_books: "Books (Google Books)" };

function when(timestamp: string | null): string {
  return timestamp ? new Date(timestamp).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" }) : "—";
}

function counts(run: SyncRun): string {
  const entries = Object.entries(run.counts);
  return entries.length ? entries.map(([name, value]) => `${name.replace(/_/g, " ")}: ${value}`).join(", ") : "—";
}

/** Starts a job; the answer (started, or why not) shows next to its button. */
function JobButton({ label, path, onStarted }: { label: string; path: string; onStarted: () => void }) {
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState("");
  const [busy, setBusy] = useState(false);
  const start = async () => {
    setBusy(true);
    setError(null);
    setMessage("");
    try {
      await apiRequest(path, { method: "POST" });
      setMessage("Started. It runs in the background; refresh the list to follow it.");
      onStarted();
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="job">
      <button type="button" onClick={start} disabled={busy}>
        {label}
      </button>
      {message && <p role="status" className="success">{message}</p>}
      <ErrorMessage error={error} />
    </div>
  );
}

export default function Admin() {
  const { isAdmin } = useAuth();
  const [version, setVersion] = useState(0);
  const refresh = () => setVersion((current) => current + 1);
  const { data, error, loading } = useApi<{ items: SyncRun[] }>(isAdmin ? "/admin/sync/runs?limit=20" : null, version);
  useDocumentTitle("Admin");

  if (!isAdmin) {
    return (
      <>
        <h1>Admin</h1>
        <p>This page is for administrators of this CineLibre.</p>
      </>
    );
  }
  return (
    <>
      <h1>Admin</h1>
      <section aria-labelledby="jobs-heading" className="section">
        <h2 id="jobs-heading">Jobs</h2>
        <div className="jobs">
          <JobButton label="Sync movies now" path="/admin/sync/movies" onStarted={refresh} />
          <JobButton label="Sync books now" path="/admin/sync/books" onStarted={refresh} />
          <JobButton label="Retrain now" path="/admin/retrain" onStarted={refresh} />
        </div>
      </section>
      <section aria-labelledby="runs-heading" className="section">
        <div className="section__head">
          <h2 id="runs-heading">Sync runs</h2>
          <button type="button" onClick={refresh} disabled={loading}>
            Refresh runs
          </button>
        </div>
        <ErrorMessage error={error} />
        {loading && !data && <Loading />}
        {data && data.items.length === 0 && <p className="muted">No sync has run yet.</p>}
        {data && data.items.length > 0 && (
          <div className="table-scroll">
            <table className="table">
              <caption className="visually-hidden">The latest sync runs, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Run</th>
                  <th scope="col">Source</th>
                  <th scope="col">Status</th>
                  <th scope="col">Started</th>
                  <th scope="col">Finished</th>
                  <th scope="col">Counts</th>
                  <th scope="col">Errors</th>
                </tr>
              </thead>
              <tbody>
                {data.items.map((run) => (
                  <tr key={run.id}>
                    <td>{run.id}</td>
                    <td>{SOURCE_NAMES[run.source] ?? run.source}</td>
                    <td>{run.status}</td>
                    <td>{when(run.started_at)}</td>
                    <td>{when(run.finished_at)}</td>
                    <td>{counts(run)}</td>
                    <td>{run.error_count}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <Experiments />
    </>
  );
}
