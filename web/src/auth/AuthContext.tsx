import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { useLocation, useNavigate } from "react-router";
import { SIGNED_OUT_EVENT, apiRequest, authEvents } from "../api/client";
import { clearToken, getToken, storeToken } from "../api/token";
import type { User } from "../api/types";

interface AuthState {
  token: string | null;
  user: User | null;
  isAdmin: boolean;
  signIn: (token: string, user?: User) => void;
  /** Keeps the account signed in with a new token (after a password change or "log out everywhere"). */
  replaceToken: (token: string) => void;
  signOut: () => void;
}

const AuthContext = createContext<AuthState | null>(null);

export function useAuth(): AuthState {
  const state = useContext(AuthContext);
  if (!state) throw new Error("useAuth is used outside AuthProvider");
  return state;
}

/** Where to come back to after signing in: a path of this app, never another site. */
export function safeNext(next: string | null): string {
  if (next && next.startsWith("/") && !next.startsWith("//")) return next;
  return "/";
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const [token, setTokenState] = useState<string | null>(() => getToken());
  const [user, setUser] = useState<User | null>(null);
  const [isAdmin, setIsAdmin] = useState(false);
  const navigate = useNavigate();
  const location = useLocation();

  const signIn = useCallback((newToken: string, newUser?: User) => {
    storeToken(newToken);
    setTokenState(newToken);
    if (newUser) setUser(newUser);
  }, []);

  const replaceToken = useCallback((newToken: string) => {
    storeToken(newToken);
    setTokenState(newToken);
  }, []);

  const signOut = useCallback(() => {
    clearToken();
    setTokenState(null);
    setUser(null);
    setIsAdmin(false);
  }, []);

  // A refused token: back to the sign-in page, remembering where the user was.
  useEffect(() => {
    const onSignedOut = () => {
      signOut();
      const here = `${location.pathname}${location.search}`;
      if (location.pathname !== "/signin") {
        navigate(`/signin?next=${encodeURIComponent(here)}`, { replace: true });
      }
    };
    authEvents.addEventListener(SIGNED_OUT_EVENT, onSignedOut);
    return () => authEvents.removeEventListener(SIGNED_OUT_EVENT, onSignedOut);
  }, [location.pathname, location.search, navigate, signOut]);

  // Signing in or out in another tab applies here too.
  useEffect(() => {
    const onStorage = () => {
      const stored = getToken();
      setTokenState(stored);
      if (!stored) setUser(null);
    };
    window.addEventListener("storage", onStorage);
    return () => window.removeEventListener("storage", onStorage);
  }, []);

  useEffect(() => {
    if (!token) return;
    const controller = new AbortController();
    apiRequest<User>("/auth/me", { signal: controller.signal })
      .then((me) => {
        setUser(me);
        setIsAdmin(me.is_admin === true);
      })
      .catch(() => {
        // A refused token signs out through the event; other failures leave the token as it is.
      });
    return () => controller.abort();
  }, [token]);

  const value = useMemo(
    () => ({ token, user, isAdmin, signIn, replaceToken, signOut }),
    [token, user, isAdmin, signIn, replaceToken, signOut],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}
