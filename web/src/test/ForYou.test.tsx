import { act, cleanup, render, screen } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { SIGNED_OUT_EVENT, authEvents } from "../api/client";
import { ForYou } from "../live/ForYou";
import { jsonResponse, movie } from "./fixtures";

/** A stand-in for the browser's WebSocket that the test drives from the server's side. */
class ServerDrivenSocket extends EventTarget {
  static opened: ServerDrivenSocket[] = [];
  readonly url: string;
  sent: string[] = [];
  closedByClient = false;
  readyState = 0; // CONNECTING until the server opens it

  constructor(url: string) {
    super();
    this.url = url;
    ServerDrivenSocket.opened.push(this);
  }

  send(data: string) {
    this.sent.push(data);
  }

  close() {
    this.closedByClient = true;
  }

  serverOpens() {
    this.readyState = 1;
    this.dispatchEvent(new Event("open"));
  }

  serverSends(message: unknown) {
    this.dispatchEvent(new MessageEvent("message", { data: JSON.stringify(message) }));
  }

  serverCloses(code: number) {
    this.dispatchEvent(new CloseEvent("close", { code }));
  }
}

function titles(): string[] {
  return screen.getAllByRole("heading", { level: 3 }).map((heading) => heading.textContent ?? "");
}

describe("ForYou", () => {
  beforeEach(() => {
    ServerDrivenSocket.opened = [];
    vi.stubGlobal("WebSocket", ServerDrivenSocket);
    vi.stubGlobal(
      "fetch",
      vi.fn().mockResolvedValue(
        jsonResponse(200, { items: [movie(1, "Sholay", { reason: "popular in Hindi films", predicted_rating: 4.2 })] }),
      ),
    );
  });

  afterEach(() => {
    cleanup();
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  async function renderForYou() {
    render(
      <MemoryRouter>
        <ForYou token="token-1" />
      </MemoryRouter>,
    );
    await screen.findByRole("heading", { name: "Sholay" });
    const socket = ServerDrivenSocket.opened[0];
    if (!socket) throw new Error("no socket opened");
    return socket;
  }

  it("shows the personalized list with each item's reason and predicted stars", async () => {
    await renderForYou();
    expect(screen.getByText("popular in Hindi films")).toBeTruthy();
    expect(screen.getByText("For you: 4.2 ★")).toBeTruthy();
  });

  it("sends the token first, then replaces the list with the one a message brings and announces it", async () => {
    const socket = await renderForYou();
    expect(socket.url).toBe(`ws://${window.location.host}/ws`);
    act(() => socket.serverOpens());
    expect(socket.sent).toEqual(['{"type":"auth","token":"token-1"}']);

    act(() => {
      socket.serverSends({ type: "ready" });
      socket.serverSends({
        type: "recommendations",
        items: [movie(7, "Drishyam", { reason: "because you rated Sholay 5★" }), movie(8, "Lagaan")],
      });
    });
    expect(titles()).toEqual(["Drishyam", "Lagaan"]);
    expect(screen.getByText("because you rated Sholay 5★")).toBeTruthy();
    expect(screen.getByText("For you updated: 2 recommendations")).toBeTruthy();
  });

  it("leaving the page closes the socket, once it has opened if it was still connecting", async () => {
    const { unmount } = render(
      <MemoryRouter>
        <ForYou token="token-1" />
      </MemoryRouter>,
    );
    const socket = ServerDrivenSocket.opened[0];
    unmount();
    expect(socket?.closedByClient).toBe(false);
    act(() => socket?.serverOpens());
    expect(socket?.closedByClient).toBe(true);
    expect(socket?.sent).toEqual([]);
  });

  it("treats a 1008 close as signed out and does not reconnect", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const listener = vi.fn();
    authEvents.addEventListener(SIGNED_OUT_EVENT, listener);
    const socket = await renderForYou();
    act(() => socket.serverCloses(1008));
    await act(async () => {
      await vi.advanceTimersByTimeAsync(60_000);
    });
    authEvents.removeEventListener(SIGNED_OUT_EVENT, listener);
    expect(listener).toHaveBeenCalledTimes(1);
    expect(ServerDrivenSocket.opened).toHaveLength(1);
  });

  it("reconnects after a dropped connection, waiting longer after each failure", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    vi.spyOn(Math, "random").mockReturnValue(1); // no jitter: the whole wait
    const first = await renderForYou();
    act(() => first.serverCloses(1006));
    await act(async () => {
      await vi.advanceTimersByTimeAsync(999);
    });
    expect(ServerDrivenSocket.opened).toHaveLength(1);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1);
    });
    expect(ServerDrivenSocket.opened).toHaveLength(2);

    act(() => ServerDrivenSocket.opened[1]?.serverCloses(1006));
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1_999);
    });
    expect(ServerDrivenSocket.opened).toHaveLength(2);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1);
    });
    expect(ServerDrivenSocket.opened).toHaveLength(3);
  });
});
