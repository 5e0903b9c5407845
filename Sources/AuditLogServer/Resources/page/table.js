// The table of events: one page at a time from /v1/events, the next page loaded when the bottom comes into
// view, rows that expand into their details on click or Enter.

import { getJSON } from "./api.js";
import { renderDetails } from "./details.js";
import { element, readableAction, readableTime, sourceClass } from "./format.js";

const pageSize = 50;

export class EventTable {
  constructor({ rows, status, statusRow, onError }) {
    this.rows = rows;
    this.status = status;
    this.statusRow = statusRow;
    this.onError = onError;
    this.generation = 0;
    this.cursor = null;
    this.loading = false;
    this.done = false;
    this.query = "";
    this.observer = new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) this.loadMore();
    });
    this.observer.observe(statusRow);
    rows.addEventListener("click", (event) => {
      const row = event.target.closest("tr.event");
      if (row) this.toggle(row);
    });
    rows.addEventListener("keydown", (event) => {
      const row = event.target.closest("tr.event");
      if (row && event.target === row && event.key === "Enter") {
        event.preventDefault();
        this.toggle(row);
      }
    });
  }

  /** Starts over with the filters of `query` (API query parameters, without limit and cursor). */
  reset(query) {
    this.generation += 1;
    this.query = query;
    this.cursor = null;
    this.done = false;
    this.loading = false;
    this.rows.replaceChildren();
    this.loadMore();
  }

  async loadMore() {
    if (this.loading || this.done) return;
    this.loading = true;
    const generation = this.generation;
    this.showStatus("Loading…", "loading");
    const parameters = new URLSearchParams(this.query);
    parameters.set("limit", String(pageSize));
    if (this.cursor) parameters.set("cursor", this.cursor);
    let page;
    try {
      page = await getJSON(`/v1/events?${parameters}`);
    } catch (error) {
      if (generation !== this.generation) return;
      this.loading = false;
      this.done = true;
      this.showStatus("", "");
      this.onError(error);
      return;
    }
    if (generation !== this.generation) return; // the filters changed meanwhile
    const first = this.rows.children.length === 0;
    const fragment = document.createDocumentFragment();
    for (const event of page.events) fragment.append(this.row(event));
    this.rows.append(fragment);
    // For the browser tests' timing: when the first page of a view is on screen.
    if (first) performance.mark("audit-log:first-page");
    this.cursor = page.nextCursor;
    this.done = page.nextCursor === null;
    this.loading = false;
    if (this.done) {
      this.showStatus(this.rows.children.length === 0 ? "No events match these filters." : "End of the log.", "end");
    } else {
      this.showStatus("", "more");
      // Still at the bottom (a tall screen, short rows): the observer will not fire again by itself.
      requestAnimationFrame(() => {
        if (generation === this.generation && this.statusRowVisible()) this.loadMore();
      });
    }
  }

  statusRowVisible() {
    const box = this.statusRow.getBoundingClientRect();
    return box.top < window.innerHeight && box.bottom > 0;
  }

  showStatus(text, state) {
    this.status.textContent = text;
    this.statusRow.dataset.state = state;
  }

  row(event) {
    const tr = element("tr", null, "event");
    tr.dataset.seq = String(event.seq);
    tr.tabIndex = 0;
    tr.setAttribute("aria-expanded", "false");

    const user = element("td", null, "user");
    user.append(element("span", event.actor.name || event.actor.id, "who"));
    if (event.source) user.append(element("span", event.source, sourceClass(event.source)));
    const resource = element("td", null, "resource");
    resource.append(
      element("span", event.resource.type, "resource-type"),
      element("span", event.resource.name || event.resource.id, "resource-name"),
    );
    tr.append(
      user,
      element("td", readableAction(event.action), "action"),
      resource,
      element("td", event.source || "", "source optional"),
      element("td", event.ip || "", "ip optional"),
      element("td", readableTime(event.timestamp), "time"),
    );
    return tr;
  }

  toggle(row) {
    const next = row.nextElementSibling;
    if (next && next.classList.contains("details")) {
      next.remove();
      row.setAttribute("aria-expanded", "false");
      return;
    }
    const details = element("tr", null, "details");
    const cell = element("td");
    cell.colSpan = 6;
    details.append(cell);
    row.after(details);
    row.setAttribute("aria-expanded", "true");
    renderDetails(cell, row.dataset.seq);
  }
}
