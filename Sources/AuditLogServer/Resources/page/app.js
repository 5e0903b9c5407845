// The audit-log page: sign-in, filters, the table, export. See README, "The audit-log page".

import { APIError, forgetKey, getJSON, postJSON, saveKey, savedKey } from "./api.js";
import { Filters, parametersFromURL } from "./filters.js";
import { EventTable } from "./table.js";
import { parseVerifierKey, pinKey, pinnedKey, unpinKey } from "./verify.js";

const $ = (id) => document.getElementById(id);

function showMessage(text) {
  $("message").textContent = text;
  $("message").hidden = !text;
}

function explain(error) {
  if (error instanceof APIError) {
    if (error.status === 401) return "This API key is not valid (unknown or revoked). Sign in with another key.";
    if (error.status === 403) return `This key may not do that: ${error.message}`;
    return `The server answered ${error.status}: ${error.message}`;
  }
  return `Could not reach the server: ${error.message}`;
}

function showSignIn(text) {
  $("viewer").hidden = true;
  $("session").hidden = true;
  $("sign-in").hidden = false;
  showMessage(text || "");
  $("api-key").focus();
}

let table;
let filters;

/** Starts the table on the filters of the URL; the viewer appears with its first page (see showViewer). */
function start() {
  if (!savedKey()) {
    showSignIn();
    return;
  }
  showMessage("");
  filters.show(parametersFromURL());
  table.reset(parametersFromURL().toString());
}

/** The first page arrived: the key may read. Facets are fetched now, not before, so they do not slow it down. */
function showViewer() {
  if (!$("viewer").hidden) return;
  $("sign-in").hidden = true;
  $("viewer").hidden = false;
  $("session").hidden = false;
  $("session-label").textContent = "Signed in with an API key";
  filters.loadFacets();
}

/** A page failed. Before the viewer is shown, a 403 means either no auditLogs:read or filters outside the key's
 * scope: an unfiltered request tells which. */
async function pageFailed(error) {
  const signedIn = !$("viewer").hidden;
  if (error instanceof APIError && error.status === 401) {
    forgetKey();
    showSignIn(explain(error));
    return;
  }
  if (signedIn) {
    showMessage(explain(error));
    return;
  }
  if (error instanceof APIError && error.status === 403) {
    try {
      await getJSON("/v1/events?limit=1");
    } catch (probe) {
      forgetKey();
      showSignIn(
        probe instanceof APIError && probe.status === 403
          ? "This key lacks the auditLogs:read permission, so it cannot show the audit log. Sign in with another key."
          : explain(probe),
      );
      return;
    }
    showViewer();
    showMessage(explain(error));
    return;
  }
  showSignIn(explain(error));
}

function summarize(parameters) {
  const count = Array.from(parameters.keys()).length;
  $("summary").textContent = count === 0 ? "All events, newest first" : "Filtered events, newest first";
}

async function exportAs(format) {
  $("export-menu").hidden = true;
  $("export").setAttribute("aria-expanded", "false");
  const parameters = parametersFromURL();
  parameters.set("format", format);
  try {
    // A single-use link for these filters, so that the browser streams the file without the key in a URL.
    const link = await postJSON(`/v1/export/links?${parameters}`);
    const anchor = document.createElement("a");
    anchor.href = link.url;
    anchor.download = "";
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
  } catch (error) {
    showMessage(
      error instanceof APIError && error.status === 403
        ? "This key lacks the auditLogs:export permission: ask for a key that may export."
        : explain(error),
    );
  }
}

function setUpVerificationKey() {
  const status = $("pin-status");
  const describe = async () => {
    const pinned = pinnedKey();
    if (!pinned) {
      status.textContent = "No key pinned: Verify uses the key this server serves.";
      return;
    }
    try {
      status.textContent = `Pinned: ${(await parseVerifierKey(pinned)).text}`;
    } catch (error) {
      status.textContent = `The pinned key is not valid: ${error.message}`;
    }
  };
  $("pin-key").addEventListener("click", async () => {
    const text = $("pinned-key").value.trim();
    try {
      await parseVerifierKey(text);
      pinKey(text);
      $("pinned-key").value = "";
    } catch (error) {
      status.textContent = `Not pinned: ${error.message}`;
      return;
    }
    describe();
  });
  $("unpin-key").addEventListener("click", () => {
    unpinKey();
    describe();
  });
  describe();
}

document.addEventListener("DOMContentLoaded", () => {
  table = new EventTable({
    table: $("events"),
    status: $("status"),
    statusRow: $("status-row"),
    onFirstPage: showViewer,
    onError: pageFailed,
  });
  filters = new Filters($("filters"), (parameters) => {
    showMessage("");
    summarize(parameters);
    table.reset(parameters.toString());
  });
  window.addEventListener("popstate", () => {
    const parameters = parametersFromURL();
    filters.show(parameters);
    summarize(parameters);
    table.reset(parameters.toString());
  });

  $("sign-in").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("api-key").value.trim();
    if (!key) return;
    saveKey(key);
    $("api-key").value = "";
    start();
  });
  $("sign-out").addEventListener("click", () => {
    forgetKey();
    table.stop();
    filters.forgetFacets();
    showSignIn("Signed out.");
  });
  $("export").addEventListener("click", () => {
    const menu = $("export-menu");
    menu.hidden = !menu.hidden;
    $("export").setAttribute("aria-expanded", String(!menu.hidden));
  });
  for (const button of $("export-menu").querySelectorAll("button")) {
    button.addEventListener("click", () => exportAs(button.dataset.format));
  }
  setUpVerificationKey();
  summarize(parametersFromURL());
  start();
});
