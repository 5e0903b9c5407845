// The HTTP API, with the signed-in key as a bearer token. The key lives in sessionStorage (this tab only) and is
// sent in the Authorization header, never in a URL.

const storageKey = "auditlog.apiKey";

export function savedKey() {
  return sessionStorage.getItem(storageKey);
}

export function saveKey(key) {
  sessionStorage.setItem(storageKey, key);
}

export function forgetKey() {
  sessionStorage.removeItem(storageKey);
}

/** An API error: the HTTP status and the API's error object ({code, message, parameter, ...}). */
export class APIError extends Error {
  constructor(status, error) {
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || "";
  }
}

async function request(method, path, accept) {
  const headers = { Accept: accept };
  const key = savedKey();
  if (key) headers.Authorization = `Bearer ${key}`;
  const response = await fetch(path, { method, headers, cache: "no-store" });
  if (!response.ok) {
    let error = {};
    try {
      error = (await response.json()).error || {};
    } catch {
      // Not JSON: keep the status.
    }
    throw new APIError(response.status, error);
  }
  return response;
}

export async function getJSON(path) {
  return (await request("GET", path, "application/json")).json();
}

export async function getText(path) {
  return (await request("GET", path, "text/plain")).text();
}

export async function postJSON(path) {
  return (await request("POST", path, "application/json")).json();
}
