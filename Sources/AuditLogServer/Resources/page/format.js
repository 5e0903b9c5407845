// How values are shown. Everything here returns text: the page sets it with textContent, never as HTML.

/** `pipeline.run.triggered` → "Pipeline run triggered", `setLabel` → "Set label", `api_key.create` → "Api key create". */
export function readableAction(action) {
  const words = action
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .split(/[._\-\s]+/)
    .filter((word) => word.length > 0)
    .map((word) => word.toLowerCase());
  if (words.length === 0) return action;
  words[0] = words[0].charAt(0).toUpperCase() + words[0].slice(1);
  return words.join(" ");
}

/** `2026-11-22T03:13:33.123Z` → "2026-11-22 03:13:33.123 UTC" (the API sends UTC with milliseconds). */
export function readableTime(timestamp) {
  return timestamp.replace("T", " ").replace(/Z$/, " UTC");
}

/** The CSS class of a source badge: web, api and mcp have their own colours, everything else is grey. */
export function sourceClass(source) {
  return ["web", "api", "mcp"].includes(source) ? `badge source-${source}` : "badge source-other";
}

/** A JSON value as indented text. */
export function jsonText(value) {
  return JSON.stringify(value, null, 2);
}

/** An element with text content and optional class: the one way the page puts data on screen. */
export function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}
