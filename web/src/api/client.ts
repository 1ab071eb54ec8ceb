import { getClientId } from "./clientId";
import { clearToken, getToken } from "./token";

export interface ErrorDetail {
  field: string;
  message: string;
}

/** A failed request, in the words the API's one error shape gives (or ours when it gave none). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetail[];

  constructor(status: number, code: string, message: string, details: ErrorDetail[] = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** Messages keyed by the request field they name: `body.password` → `password`. */
  fieldMessages(): Record<string, string> {
    const messages: Record<string, string> = {};
    for (const detail of this.details) {
      const field = detail.field.replace(/^(body|query|path)\./, "");
      messages[field] ??= detail.message;
    }
    return messages;
  }
}

/** Fired when the API refuses the stored token: the app then asks the user to sign in again. */
export const SIGNED_OUT_EVENT = "cinelibre:signed-out";
export const authEvents = new EventTarget();

export function announceSignedOut(): void {
  clearToken();
  authEvents.dispatchEvent(new Event(SIGNED_OUT_EVENT));
}

export interface RequestOptions {
  method?: "GET" | "POST" | "PUT" | "DELETE";
  /** Sent as JSON, except FormData, which is sent as multipart/form-data (a file upload). */
  body?: unknown;
  signal?: AbortSignal;
}

const STATUS_WORDS: Record<number, string> = {
  0: "CineLibre could not be reached. Check your connection and try again.",
  413: "That request is too large.",
  429: "Too many requests for now. Wait a moment and try again.",
  500: "Something went wrong on the server. Try again in a moment.",
  502: "CineLibre is not answering right now. Try again in a moment.",
  503: "CineLibre is busy or restarting. Try again in a moment.",
  504: "CineLibre took too long to answer. Try again in a moment.",
};

function wordsForStatus(status: number): string {
  return STATUS_WORDS[status] ?? `The request failed (HTTP ${status}).`;
}

function parseErrorBody(status: number, body: unknown): ApiError {
  if (typeof body === "object" && body !== null && "error" in body) {
    const error = (body as { error: unknown }).error;
    if (typeof error === "object" && error !== null) {
      const { code, message, details } = error as {
        code?: unknown;
        message?: unknown;
        details?: unknown;
      };
      const detailList = Array.isArray(details)
        ? details.filter(
            (d): d is ErrorDetail =>
              typeof d === "object" && d !== null && typeof d.field === "string" && typeof d.message === "string",
          )
        : [];
      return new ApiError(
        status,
        typeof code === "string" ? code : "error",
        typeof message === "string" && message ? message : wordsForStatus(status),
        detailList,
      );
    }
  }
  return new ApiError(status, "error", wordsForStatus(status));
}

/**
 * Calls the API on the page's own origin. Sends the stored token when there is one; a 401 to a
 * request that carried a token means the token was refused (expired, or revoked by a password
 * change or "log out everywhere"), so the user is signed out and asked to sign in again.
 */
export async function apiRequest<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await apiResponse(path, options);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** Like apiRequest, for answers read as something other than JSON (a download). */
export async function apiResponse(path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json", "X-Client-Id": getClientId() };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  // FormData gets no Content-Type from us: the browser writes the multipart one with its boundary.
  const isForm = options.body instanceof FormData;
  if (options.body !== undefined && !isForm) headers["Content-Type"] = "application/json";

  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? "GET",
      headers,
      body: options.body === undefined ? undefined : isForm ? (options.body as FormData) : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") throw error;
    throw new ApiError(0, "network_error", wordsForStatus(0));
  }
  if (response.ok) return response;

  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's error page, say): the status alone says what happened.
  }
  const error = parseErrorBody(response.status, body);
  if (response.status === 401 && token) announceSignedOut();
  throw error;
}

/**
 * The error a form should show above its fields: none when every detail names one of the form's
 * fields, since each of those shows next to its field already.
 */
export function formLevelError(error: unknown, fieldNames: string[]): unknown {
  if (!(error instanceof ApiError) || error.details.length === 0) return error;
  const named = Object.keys(error.fieldMessages());
  return named.every((name) => fieldNames.includes(name)) ? null : error;
}

export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === "AbortError";
}

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}

export function queryString(params: Record<string, string | number | boolean | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
