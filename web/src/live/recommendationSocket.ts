import type { RecommendationList, RecommendedItem } from "../api/types";

/** The close code the API uses for a refused token (policy violation). */
export const POLICY_VIOLATION = 1008;
const FIRST_RETRY_MS = 1_000;
const CONNECTING = 0; // WebSocket.CONNECTING
const LONGEST_RETRY_MS = 30_000;

export type LiveStatus = "connecting" | "live" | "retrying";

interface LiveOptions {
  token: string;
  onList: (list: RecommendationList) => void;
  onSignedOut: () => void;
  onStatus?: (status: LiveStatus) => void;
}

export function socketUrl(location: Location = window.location): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws`;
}

type ServerMessage = { type: "ready" } | { type: "recommendations"; list: RecommendationList };

function parseMessage(data: unknown): ServerMessage | null {
  if (typeof data !== "string") return null;
  try {
    const message = JSON.parse(data) as { type?: unknown } & RecommendationList;
    if (message.type === "ready") return { type: "ready" };
    if (message.type === "recommendations" && Array.isArray(message.items)) {
      const { items, list_id, experiment } = message;
      return { type: "recommendations", list: { items: items as RecommendedItem[], list_id, experiment } };
    }
  } catch {
    // A message this app does not understand is left alone.
  }
  return null;
}

/**
 * Keeps a WebSocket to /ws open for the signed-in user: it sends the token first, hands every
 * "recommendations" message on (its items with their list id), and reconnects after a drop, waiting twice as long each time
 * (up to 30 s, with jitter so many tabs do not return at once). A 1008 close means the token
 * was refused: no reconnect, the user is signed out. Returns the function that closes it.
 */
export function connectRecommendations({ token, onList, onSignedOut, onStatus }: LiveOptions): () => void {
  let socket: WebSocket | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;
  let stopped = false;

  const open = () => {
    onStatus?.("connecting");
    socket = new WebSocket(socketUrl());
    socket.addEventListener("open", () => {
      if (!stopped) socket?.send(JSON.stringify({ type: "auth", token }));
    });
    socket.addEventListener("message", (event: MessageEvent) => {
      const message = parseMessage(event.data);
      if (!message) return;
      // The server took the token ("ready") or sent a list: the connection works again.
      failures = 0;
      onStatus?.("live");
      if (message.type === "recommendations") onList(message.list);
    });
    socket.addEventListener("close", (event: CloseEvent) => {
      socket = null;
      if (stopped) return;
      if (event.code === POLICY_VIOLATION) {
        stopped = true;
        onSignedOut();
        return;
      }
      const delay = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** failures);
      failures += 1;
      onStatus?.("retrying");
      retryTimer = setTimeout(open, delay / 2 + Math.random() * (delay / 2));
    });
  };

  open();
  return () => {
    stopped = true;
    clearTimeout(retryTimer);
    const current = socket;
    if (!current) return;
    // Closing a socket still connecting makes the browser warn; let it open, then close it.
    if (current.readyState === CONNECTING) {
      current.addEventListener("open", () => current.close(1000, "page closed"));
    } else {
      current.close(1000, "page closed");
    }
  };
}
