// The filters above the table. Their state is the page's URL query string, with the API's parameter names
// (actor, action, since, from, to, project, org, resourceType, source), so a link reproduces a view and the back
// button works; the table asks /v1/events with exactly these parameters.

import { getJSON } from "./api.js";

/** The multi-selects: parameter name and the /v1/facets field that lists their values. */
const lists = [
  ["actor", "actor"],
  ["action", "action"],
  ["project", "project"],
  ["org", "org"],
  ["resourceType", "resourceType"],
  ["source", "source"],
];

const ranges = ["24h", "7d", "30d"];

/** The API parameters of the page's URL: only the ones the filters know, in a stable order. */
export function parametersFromURL() {
  const url = new URLSearchParams(location.search);
  const out = new URLSearchParams();
  for (const name of ["since", "from", "to"]) {
    const value = url.get(name);
    if (value) out.set(name, value);
  }
  for (const [name] of lists) {
    for (const value of url.getAll(name)) if (value) out.append(name, value);
  }
  return out;
}

export class Filters {
  constructor(form, onChange) {
    this.form = form;
    this.onChange = onChange;
    this.range = form.querySelector("#range");
    this.from = form.querySelector("#from");
    this.to = form.querySelector("#to");
    this.customFields = form.querySelectorAll(".custom-range");
    this.selects = new Map(lists.map(([name]) => [name, form.querySelector(`#${name}`)]));
    this.loadedFacets = false;

    this.range.addEventListener("change", () => {
      this.showCustom(this.range.value === "custom");
      if (this.range.value !== "custom" || (this.from.value && this.to.value)) this.commit();
    });
    for (const input of [this.from, this.to]) input.addEventListener("change", () => this.commit());
    for (const select of this.selects.values()) select.addEventListener("change", () => this.commit());
    form.querySelector("#clear-filters").addEventListener("click", () => {
      history.pushState(null, "", location.pathname);
      this.show(parametersFromURL());
      this.onChange(parametersFromURL());
    });
    form.addEventListener("submit", (event) => event.preventDefault());
  }

  showCustom(visible) {
    for (const field of this.customFields) field.hidden = !visible;
  }

  /** Lists the values of each multi-select, with counts, from the facet summaries (once per sign-in). */
  async loadFacets() {
    if (this.loadedFacets) return;
    this.loadedFacets = true;
    this.form.setAttribute("aria-busy", "true");
    await Promise.all(
      lists.map(async ([name, field]) => {
        try {
          const result = await getJSON(`/v1/facets?field=${field}&limit=1000`);
          this.fill(this.selects.get(name), result.values, name);
        } catch {
          // Facets help choose; without them the filters from the URL still work.
        }
      }),
    );
    this.show(parametersFromURL());
    this.form.removeAttribute("aria-busy");
  }

  /** The next sign-in lists the values its key may see. */
  forgetFacets() {
    this.loadedFacets = false;
  }

  fill(select, values, name) {
    const chosen = new Set(Array.from(select.selectedOptions, (option) => option.value));
    select.replaceChildren();
    for (const value of values) {
      let label = value.name ? `${value.name} (${value.value})` : value.value;
      if (name === "actor" && value.kind === "api_key") label = `API key: ${label}`;
      const option = document.createElement("option");
      option.value = value.value;
      option.textContent = `${label} · ${value.count}`;
      option.selected = chosen.has(value.value);
      select.append(option);
    }
  }

  /** Sets the controls from API parameters (values not listed yet get an option of their own). */
  show(parameters) {
    const since = parameters.get("since");
    const from = parameters.get("from") || "";
    const to = parameters.get("to") || "";
    if (from || to) {
      this.range.value = "custom";
    } else {
      this.range.value = ranges.includes(since) ? since : "";
    }
    this.from.value = /^\d{4}-\d{2}-\d{2}$/.test(from) ? from : "";
    this.to.value = /^\d{4}-\d{2}-\d{2}$/.test(to) ? to : "";
    this.showCustom(this.range.value === "custom");
    for (const [name, select] of this.selects) {
      const wanted = new Set(parameters.getAll(name));
      for (const value of wanted) {
        if (!Array.from(select.options).some((option) => option.value === value)) {
          const option = document.createElement("option");
          option.value = value;
          option.textContent = value;
          select.append(option);
        }
      }
      for (const option of select.options) option.selected = wanted.has(option.value);
    }
  }

  /** The API parameters the controls describe. */
  parameters() {
    const out = new URLSearchParams();
    if (this.range.value === "custom") {
      if (this.from.value) out.set("from", this.from.value);
      if (this.to.value) out.set("to", this.to.value);
    } else if (this.range.value) {
      out.set("since", this.range.value);
    }
    for (const [name, select] of this.selects) {
      for (const option of select.selectedOptions) out.append(name, option.value);
    }
    return out;
  }

  /** Puts the controls' state in the URL (a new history entry) and reloads the table. */
  commit() {
    const parameters = this.parameters();
    const search = parameters.toString();
    history.pushState(null, "", search ? `?${search}` : location.pathname);
    this.onChange(parameters);
  }
}
