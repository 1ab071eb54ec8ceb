// The access token lives in localStorage so that a reload, a new tab or a deep link opened later
// stays signed in. The API takes bearer tokens, not cookies, so no other site can make the
// browser send it (nothing to forge across sites). A script injected into the page could read
// it; the app never renders HTML from data (React escapes text), the API process serves it
// under a Content-Security-Policy, tokens expire, and "Log out everywhere" or a password change
// revokes every token issued before.
const TOKEN_KEY = "cinelibre.token";

export function getToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function storeToken(token: string): void {
  localStorage.setItem(TOKEN_KEY, token);
}

export function clearToken(): void {
  try {
    localStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage unavailable (private mode): nothing was kept, so nothing to remove.
  }
}
