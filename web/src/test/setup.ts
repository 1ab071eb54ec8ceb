// jsdom has no CSS.escape, which user-event uses to find the other radios of a group when an
// arrow key moves through it. This covers the names React's useId gives.
if (typeof globalThis.CSS === "undefined" || typeof globalThis.CSS.escape !== "function") {
  const escape = (value: string) =>
    value.replace(/^\d/, (digit) => `\\3${digit} `).replace(/[^\w-]/g, (char) => `\\${char}`);
  Object.defineProperty(globalThis, "CSS", { value: { escape }, configurable: true });
}
