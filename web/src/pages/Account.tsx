import { startTransition, useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { ApiError, apiRequest, apiResponse, formLevelError } from "../api/client";
import type { TokenAnswer } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { ErrorMessage } from "../components/ErrorMessage";
import { Field } from "../components/Field";
import { useDocumentTitle } from "../hooks/useDocumentTitle";

function ChangePassword() {
  const { replaceToken } = useAuth();
  const [values, setValues] = useState({ current_password: "", new_password: "" });
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState("");
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setDone("");
    try {
      const answer = await apiRequest<TokenAnswer>("/auth/password", { method: "POST", body: values });
      // Every older token stops working, this one included: carry on with the new one.
      replaceToken(answer.access_token);
      setValues({ current_password: "", new_password: "" });
      setDone("Password changed. Other devices have been signed out.");
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  const set = (name: keyof typeof values) => (event: { target: { value: string } }) =>
    setValues((current) => ({ ...current, [name]: event.target.value }));
  const fields = error instanceof ApiError ? error.fieldMessages() : {};

  return (
    <section aria-labelledby="password-heading" className="panel">
      <h2 id="password-heading">Change password</h2>
      <form onSubmit={submit} className="stack">
        <Field label="Current password" type="password" autoComplete="current-password" required value={values.current_password} onChange={set("current_password")} error={fields.current_password} />
        <Field label="New password" type="password" autoComplete="new-password" required minLength={8} hint="At least 8 characters." value={values.new_password} onChange={set("new_password")} error={fields.new_password} />
        <ErrorMessage error={formLevelError(error, ["current_password", "new_password"])} />
        {done && <p role="status" className="success">{done}</p>}
        <button type="submit" className="primary" disabled={busy}>
          Change password
        </button>
      </form>
    </section>
  );
}

function LogOutEverywhere() {
  const { replaceToken } = useAuth();
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState("");

  const logOutAll = async () => {
    setError(null);
    setDone("");
    try {
      const answer = await apiRequest<TokenAnswer>("/auth/logout-all", { method: "POST" });
      replaceToken(answer.access_token);
      setDone("Every other device and browser has been signed out; this one stays signed in.");
    } catch (failure) {
      setError(failure);
    }
  };

  return (
    <section aria-labelledby="sessions-heading" className="panel">
      <h2 id="sessions-heading">Devices</h2>
      <p>Signed in on a computer you no longer use? Sign out everywhere else at once.</p>
      <button type="button" onClick={logOutAll}>
        Log out everywhere
      </button>
      <ErrorMessage error={error} />
      {done && <p role="status" className="success">{done}</p>}
    </section>
  );
}

function ExportData() {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const download = async () => {
    setBusy(true);
    setError(null);
    try {
      const response = await apiResponse("/auth/me/export");
      const blob = await response.blob();
      const url = URL.createObjectURL(new Blob([blob], { type: "application/json" }));
      const link = document.createElement("a");
      link.href = url;
      link.download = `cinelibre-export-${new Date().toISOString().slice(0, 10)}.json`;
      document.body.append(link);
      link.click();
      link.remove();
      // The download has taken its copy; the browser can let go of this one.
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="export-heading" className="panel">
      <h2 id="export-heading">Your data</h2>
      <p>Everything CineLibre keeps about you (your account, ratings and history) as one JSON file.</p>
      <button type="button" onClick={download} disabled={busy}>
        Export my data
      </button>
      <ErrorMessage error={error} />
    </section>
  );
}

function DeleteAccount() {
  const { signOut } = useAuth();
  const navigate = useNavigate();
  const [password, setPassword] = useState("");
  const [confirmed, setConfirmed] = useState(false);
  const [confirmError, setConfirmError] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    if (!confirmed) {
      setConfirmError("Tick the box to confirm that the account should be deleted.");
      return;
    }
    setConfirmError("");
    setBusy(true);
    try {
      await apiRequest<void>("/auth/me", { method: "DELETE", body: { password } });
      // One transition for both, so the account page is never shown signed out (it would send
      // the visitor to /signin).
      startTransition(() => {
        navigate("/?deleted=1", { replace: true });
        signOut();
      });
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };
  const fields = error instanceof ApiError ? error.fieldMessages() : {};

  return (
    <section aria-labelledby="delete-heading" className="panel panel--danger">
      <h2 id="delete-heading">Delete my account</h2>
      <p>This deletes your account, your ratings and your history for good. It cannot be undone.</p>
      <form onSubmit={submit} className="stack">
        <Field label="Password to confirm" type="password" autoComplete="current-password" required value={password} onChange={(event) => setPassword(event.target.value)} error={fields.password} />
        <div className={`checkbox ${confirmError ? "field--invalid" : ""}`}>
          <input id="delete-confirm" type="checkbox" checked={confirmed} onChange={(event) => setConfirmed(event.target.checked)} aria-describedby={confirmError ? "delete-confirm-error" : undefined} />
          <label htmlFor="delete-confirm">I understand that this cannot be undone</label>
          {confirmError && (
            <p className="field__error" id="delete-confirm-error">
              {confirmError}
            </p>
          )}
        </div>
        <ErrorMessage error={formLevelError(error, ["password"])} />
        <button type="submit" className="danger" disabled={busy}>
          Delete my account
        </button>
      </form>
    </section>
  );
}

export default function Account() {
  const { user } = useAuth();
  useDocumentTitle("Account");
  return (
    <>
      <h1>Account</h1>
      {user && (
        <p>
          Signed in as <strong>{user.name}</strong> ({user.email}).
        </p>
      )}
      <div className="panels">
        <ChangePassword />
        <LogOutEverywhere />
        <ExportData />
        <DeleteAccount />
      </div>
    </>
  );
}
