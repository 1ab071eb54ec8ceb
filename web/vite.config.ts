/// <reference types="vitest/config" />
import type { IncomingMessage } from "node:http";
import react from "@vitejs/plugin-react";
import { defineConfig, type ProxyOptions } from "vite";

// The app's pages share paths with the API (/movies is both a page and a list), so the dev and
// preview servers send a browser navigation (it asks for HTML) to the app and everything else,
// the app's fetches with `Accept: application/json`, to the API: the same rule the API process
// follows when it serves the built app.
const apiTarget = process.env.CINELIBRE_API_URL ?? "http://127.0.0.1:8000";
const apiPrefixes = [
  "/auth",
  "/movies",
  "/books",
  "/ratings",
  "/interactions",
  "/me",
  "/search",
  "/recommendations",
  "/admin",
  "/health",
];

function wantsHtml(request: IncomingMessage): boolean {
  return (request.headers.accept ?? "").includes("text/html");
}

const apiProxy: Record<string, ProxyOptions> = Object.fromEntries(
  apiPrefixes.map((prefix) => [
    prefix,
    {
      target: apiTarget,
      changeOrigin: true,
      bypass: (request: IncomingMessage) => (wantsHtml(request) ? "/index.html" : undefined),
    },
  ]),
);
apiProxy["/ws"] = { target: apiTarget.replace(/^http/, "ws"), ws: true, changeOrigin: true };

export default defineConfig({
  base: "/",
  plugins: [react()],
  server: { proxy: apiProxy },
  preview: { proxy: apiProxy },
  build: { outDir: "dist", sourcemap: false },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    restoreMocks: true,
    setupFiles: ["src/test/setup.ts"],
  },
});
