import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, SIGNED_OUT_EVENT, apiRequest, authEvents, formLevelError } from "../api/client";
import { forgetClientIdInMemory } from "../api/clientId";
import { getToken, storeToken } from "../api/token";

function jsonResponse(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

const validationError = {
  error: {
    code: "validation_error",
    message: "Invalid request: body.rating: Input should be a multiple of 0.5",
    details: [{ field: "body.rating", message: "Input should be a multiple of 0.5" }],
  },
};

describe("apiRequest", () => {
  let fetchMock: ReturnType<typeof vi.fn>;

  beforeEach(() => {
    localStorage.clear();
    forgetClientIdInMemory();
    fetchMock = vi.fn();
    vi.stubGlobal("fetch", fetchMock);
  });

  afterEach(() => {
    vi.unstubAllGlobals();
  });

  it("asks for JSON and sends the client id, the stored token and a JSON body", async () => {
    storeToken("token-1");
    localStorage.setItem("cinelibre.client-id", "client_id-0001");
    fetchMock.mockResolvedValue(jsonResponse(201, { id: 7 }));
    const answer = await apiRequest<{ id: number }>("/ratings", { method: "POST", body: { rating: 4 } });
    expect(answer).toEqual({ id: 7 });
    const [path, init] = fetchMock.mock.calls[0] as [string, RequestInit];
    expect(path).toBe("/ratings");
    expect(init.method).toBe("POST");
    expect(init.body).toBe('{"rating":4}');
    expect(init.headers).toEqual({
      Accept: "application/json",
      "X-Client-Id": "client_id-0001",
      Authorization: "Bearer token-1",
      "Content-Type": "application/json",
    });
  });

  it("sends FormData as it is, leaving the multipart Content-Type to the browser", async () => {
    storeToken("token-1");
    localStorage.setItem("cinelibre.client-id", "client_id-0001");
    fetchMock.mockResolvedValue(jsonResponse(201, { import_id: "x" }));
    const form = new FormData();
    form.append("file", new File(["Const\n"], "ratings.csv"));
    await apiRequest("/me/imports?source=imdb", { method: "POST", body: form });
    const [, init] = fetchMock.mock.calls[0] as [string, RequestInit];
    expect(init.body).toBe(form);
    expect(init.headers).toEqual({ Accept: "application/json", "X-Client-Id": "client_id-0001", Authorization: "Bearer token-1" });
  });

  it("makes a client id once, keeps it in storage and sends the same one on every request", async () => {
    fetchMock.mockImplementation(() => Promise.resolve(jsonResponse(200, {})));
    await apiRequest("/movies");
    forgetClientIdInMemory(); // as a reload would: the id comes back from storage
    await apiRequest("/books");
    const sent = fetchMock.mock.calls.map(([, init]) => (init as RequestInit & { headers: Record<string, string> }).headers["X-Client-Id"]);
    const stored = localStorage.getItem("cinelibre.client-id");
    expect(stored).toMatch(/^[0-9a-f]{32}$/);
    expect(sent).toEqual([stored, stored]);
  });

  it("replaces a stored client id the API would refuse", async () => {
    localStorage.setItem("cinelibre.client-id", "short");
    fetchMock.mockResolvedValue(jsonResponse(200, {}));
    await apiRequest("/movies");
    const [, init] = fetchMock.mock.calls[0] as [string, RequestInit & { headers: Record<string, string> }];
    expect(init.headers["X-Client-Id"]).toMatch(/^[0-9a-f]{32}$/);
    expect(localStorage.getItem("cinelibre.client-id")).toBe(init.headers["X-Client-Id"]);
  });

  it("turns the error shape into an ApiError with its message, code and fields", async () => {
    fetchMock.mockResolvedValue(jsonResponse(422, validationError));
    const error = await apiRequest("/ratings").catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(ApiError);
    const apiError = error as ApiError;
    expect(apiError.status).toBe(422);
    expect(apiError.code).toBe("validation_error");
    expect(apiError.message).toBe("Invalid request: body.rating: Input should be a multiple of 0.5");
    expect(apiError.fieldMessages()).toEqual({ rating: "Input should be a multiple of 0.5" });
  });

  it("describes an answer that is not the error shape by its status", async () => {
    fetchMock.mockResolvedValue(new Response("<html>Bad gateway</html>", { status: 502 }));
    const error = (await apiRequest("/movies").catch((failure: unknown) => failure)) as ApiError;
    expect(error.status).toBe(502);
    expect(error.message).toBe("CineLibre is not answering right now. Try again in a moment.");
  });

  it("says the server could not be reached when the network fails", async () => {
    fetchMock.mockRejectedValue(new TypeError("Failed to fetch"));
    const error = (await apiRequest("/movies").catch((failure: unknown) => failure)) as ApiError;
    expect(error.code).toBe("network_error");
    expect(error.message).toBe("CineLibre could not be reached. Check your connection and try again.");
  });

  it("on a 401 to a request with a token, forgets the token and announces the sign-out", async () => {
    storeToken("expired");
    const listener = vi.fn();
    authEvents.addEventListener(SIGNED_OUT_EVENT, listener);
    fetchMock.mockResolvedValue(
      jsonResponse(401, { error: { code: "not_authenticated", message: "Token expired.", details: [] } }),
    );
    const error = (await apiRequest("/ratings/my").catch((failure: unknown) => failure)) as ApiError;
    authEvents.removeEventListener(SIGNED_OUT_EVENT, listener);
    expect(error.code).toBe("not_authenticated");
    expect(error.message).toBe("Token expired.");
    expect(listener).toHaveBeenCalledTimes(1);
    expect(getToken()).toBeNull();
  });

  it("on a 401 without a token (a wrong password), signs nobody out", async () => {
    const listener = vi.fn();
    authEvents.addEventListener(SIGNED_OUT_EVENT, listener);
    fetchMock.mockResolvedValue(
      jsonResponse(401, { error: { code: "not_authenticated", message: "Wrong email or password.", details: [] } }),
    );
    const error = (await apiRequest("/auth/login", { method: "POST", body: {} }).catch((f: unknown) => f)) as ApiError;
    authEvents.removeEventListener(SIGNED_OUT_EVENT, listener);
    expect(error.message).toBe("Wrong email or password.");
    expect(listener).not.toHaveBeenCalled();
  });
});

describe("formLevelError", () => {
  const wrongPassword = new ApiError(422, "validation_error", "Invalid request: body.current_password: The password is not correct.", [
    { field: "body.current_password", message: "The password is not correct." },
  ]);

  it("leaves to the fields an error whose every detail names one of them", () => {
    expect(formLevelError(wrongPassword, ["current_password", "new_password"])).toBeNull();
  });

  it("keeps an error naming a field the form does not show, or naming none", () => {
    expect(formLevelError(wrongPassword, ["password"])).toBe(wrongPassword);
    const refused = new ApiError(401, "not_authenticated", "Wrong email or password.");
    expect(formLevelError(refused, ["email", "password"])).toBe(refused);
  });
});
