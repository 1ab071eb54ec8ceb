import { useState, type FormEvent } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { ApiError, apiRequest, formLevelError } from "../api/client";
import type { TokenAnswer } from "../api/types";
import { safeNext, useAuth } from "../auth/AuthContext";
import { ErrorMessage } from "../components/ErrorMessage";
import { Field } from "../components/Field";
import { useDocumentTitle } from "../hooks/useDocumentTitle";

interface AccountFormProps {
  mode: "signin" | "signup";
}

/** Signing in and creating an account: one form, with a name field when creating one. */
function AccountForm({ mode }: AccountFormProps) {
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const navigate = useNavigate();
  const { signIn } = useAuth();
  const [values, setValues] = useState({ name: "", email: "", password: "" });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const creating = mode === "signup";
  useDocumentTitle(creating ? "Create an account" : "Sign in");

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = creating ? values : { email: values.email, password: values.password };
      const answer = await apiRequest<TokenAnswer>(creating ? "/auth/register" : "/auth/login", {
        method: "POST",
        body,
      });
      signIn(answer.access_token, answer.user);
      navigate(next, { replace: true });
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };
  const set = (name: keyof typeof values) => (event: { target: { value: string } }) =>
    setValues((current) => ({ ...current, [name]: event.target.value }));
  const fields = error instanceof ApiError ? error.fieldMessages() : {};
  const otherPage = creating ? "/signin" : "/signup";

  return (
    <div className="narrow">
      <h1>{creating ? "Create an account" : "Sign in"}</h1>
      {params.get("next") && !creating && <p className="notice">Sign in to continue where you were.</p>}
      <form onSubmit={submit} className="stack" noValidate={false}>
        <ErrorMessage error={formLevelError(error, ["name", "email", "password"])} />
        {creating && (
          <Field label="Name" name="name" autoComplete="name" required maxLength={100} value={values.name} onChange={set("name")} error={fields.name} />
        )}
        <Field label="Email" name="email" type="email" autoComplete="email" required value={values.email} onChange={set("email")} error={fields.email} />
        <Field
          label="Password"
          name="password"
          type="password"
          autoComplete={creating ? "new-password" : "current-password"}
          required
          minLength={creating ? 8 : undefined}
          hint={creating ? "At least 8 characters." : undefined}
          value={values.password}
          onChange={set("password")}
          error={fields.password}
        />
        <button type="submit" className="primary" disabled={busy}>
          {creating ? "Create account" : "Sign in"}
        </button>
      </form>
      <p>
        {creating ? "Already have an account? " : "New here? "}
        <Link to={`${otherPage}${params.get("next") ? `?next=${encodeURIComponent(next)}` : ""}`}>
          {creating ? "Sign in instead" : "Create an account"}
        </Link>
      </p>
    </div>
  );
}

export function SignIn() {
  return <AccountForm mode="signin" />;
}

export function SignUp() {
  return <AccountForm mode="signup" />;
}
