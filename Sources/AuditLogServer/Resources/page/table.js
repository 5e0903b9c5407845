// The table of events: one page at a time from /v1/events, the next page loaded when the bottom comes into
// view, rows that expand into their details on click or Enter.
//
// Each page is a <tbody> of its own that the browser skips rendering while it is off screen (style.css,
// "content-visibility"), so that the thousandth page costs a frame what the first did.

import { getJSON } from "./api.js";
import { renderDetails } from "./details.js";
import { element, readableAction, readableTime, sourceClass } from "./format.js";

const pageSize = 50;
const rowsPerFrame = 10;

export class EventTable {
  constructor({ table, status, statusRow, onFirstPage, onError }) {
    this.table = table;
    this.count = 0;
    this.status = status;
    this.statusRow = statusRow;
    this.onFirstPage = onFirstPage;
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
    table.addEventListener("click", (event) => {
      const row = event.target.closest("tr.event");
      if (row) this.toggle(row);
    });
    table.addEventListener("keydown", (event) => {
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
    this.clear();
    this.loadMore();
  }

  /** Empties the table and drops any page still on its way (signing out). */
  stop() {
    this.generation += 1;
    this.done = true;
    this.loading = false;
    this.clear();
    this.showStatus("", "");
  }

  clear() {
    for (const page of Array.from(this.table.tBodies)) page.remove();
    this.count = 0;
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
    const first = this.count === 0;
    const body = element("tbody", null, "page");
    body.setAttribute("role", "rowgroup");
    this.table.tFoot.before(body);
    // The first page at once (it is what the reader waits for); later pages a few rows per frame, since laying out
    // a whole page in the frame it arrives can hold a slow machine for more than 50 ms while the reader scrolls.
    const rows = page.events.map((event) => this.row(event));
    const step = first ? rows.length : rowsPerFrame;
    for (let i = 0; i < rows.length; i += step) {
      if (i > 0) {
        await new Promise((resolve) => requestAnimationFrame(resolve));
        if (generation !== this.generation) return;
      }
      body.append(...rows.slice(i, i + step));
    }
    this.count += page.events.length;
    if (first) {
      this.onFirstPage();
      // For the browser tests' timing: when the first page of a view is on screen.
      performance.mark("audit-log:first-page");
    }
    this.cursor = page.nextCursor;
    this.done = page.nextCursor === null;
    this.loading = false;
    if (this.done) {
      this.showStatus(this.count === 0 ? "No events match these filters." : "End of the log.", "end");
    } else {
      this.showStatus("", "more");
      // Still at the bottom (a tall screen, short rows), the observer would not fire again by itself; observing
      // anew makes it report where the status row is now, measured with the next frame (no forced layout here).
      this.observer.unobserve(this.statusRow);
      this.observer.observe(this.statusRow);
    }
  }

  showStatus(text, state) {
    this.status.textContent = text;
    this.statusRow.dataset.state = state;
  }

  row(event) {
    const tr = element("tr", null, "event");
    tr.setAttribute("role", "row");
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
    for (const cell of tr.children) cell.setAttribute("role", "cell");
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
    details.setAttribute("role", "row");
    const cell = element("td");
    cell.setAttribute("role", "cell");
    cell.colSpan = 6;
    details.append(cell);
    row.after(details);
    row.setAttribute("aria-expanded", "true");
    renderDetails(cell, row.dataset.seq);
  }
}
