// Prints the gzipped size of the JavaScript a first visit loads (the entry script named in
// dist/index.html and the chunks it preloads; lazy pages are left out) and fails over budget.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const BUDGET_BYTES = 250 * 1024;
const dist = new URL("../dist/", import.meta.url).pathname;

let html;
try {
  html = readFileSync(join(dist, "index.html"), "utf8");
} catch {
  console.error("dist/index.html not found: run `npm run build` first.");
  process.exit(2);
}

const initial = new Set();
for (const match of html.matchAll(/<(?:script[^>]*\bsrc|link[^>]*rel="modulepreload"[^>]*\bhref)="\/([^"]+\.js)"/g)) {
  initial.add(match[1]);
}
if (initial.size === 0) {
  console.error("No script found in dist/index.html.");
  process.exit(2);
}

let total = 0;
for (const file of initial) {
  const gzipped = gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
  total += gzipped;
  console.log(`${(gzipped / 1024).toFixed(1).padStart(8)} KB  ${file}`);
}
const verdict = total <= BUDGET_BYTES ? "within" : "OVER";
console.log(`${(total / 1024).toFixed(1).padStart(8)} KB  first-load JavaScript, gzipped (${verdict} the ${BUDGET_BYTES / 1024} KB budget)`);
process.exit(total <= BUDGET_BYTES ? 0 : 1);
