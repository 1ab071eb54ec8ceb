// A random id for this browser, sent with every request as X-Client-Id, so that the API assigns a
// visitor who is not signed in to the same experiment variant on every visit. It names no person
// and is never shown; clearing the site's storage makes a new one.
const CLIENT_ID_KEY = "cinelibre.client-id";
const VALID_CLIENT_ID = /^[A-Za-z0-9_-]{8,64}$/;

let current: string | null = null;

function randomClientId(): string {
  // getRandomValues works on plain http too, where crypto.randomUUID is missing.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

export function getClientId(): string {
  if (current) return current;
  let stored: string | null = null;
  try {
    stored = localStorage.getItem(CLIENT_ID_KEY);
  } catch {
    // Storage unavailable (private mode): the id lasts as long as the page.
  }
  if (stored && VALID_CLIENT_ID.test(stored)) {
    current = stored;
    return current;
  }
  current = randomClientId();
  try {
    localStorage.setItem(CLIENT_ID_KEY, current);
  } catch {
    // As above: kept in memory only.
  }
  return current;
}

/** For tests: forget the id held in memory, so the next call reads storage again. */
export function forgetClientIdInMemory(): void {
  current = null;
}
