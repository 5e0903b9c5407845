// The expanded view of one event: every field, the side-by-side diff of before and after, when and why it was
// redacted, and the Verify button.

import { getJSON } from "./api.js";
import { element, jsonText, readableAction, readableTime } from "./format.js";
import { verifyEvent } from "./verify.js";

function field(list, label, value) {
  if (value === undefined || value === null || value === "") return;
  list.append(element("dt", label), element("dd", value));
}

function describeActor(actor) {
  return actor.name ? `${actor.name} (${actor.type} ${actor.id})` : `${actor.type} ${actor.id}`;
}

function describeReference(reference) {
  if (!reference) return null;
  return reference.name ? `${reference.name} (${reference.id})` : reference.id;
}

/** A change's value as text: JSON, with strings unquoted when they are the whole value. */
function changeValue(value, kind, side) {
  if ((kind === "added" && side === "old") || (kind === "removed" && side === "new")) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

function diffTable(changes) {
  const table = element("table", null, "diff");
  const caption = element("caption", "Changes from before to after");
  const head = element("thead");
  const headRow = element("tr");
  for (const title of ["Path", "Before", "After"]) {
    const th = element("th", title);
    th.scope = "col";
    headRow.append(th);
  }
  head.append(headRow);
  const body = element("tbody");
  for (const change of changes) {
    const row = element("tr", null, `change ${change.kind}`);
    row.dataset.path = change.path;
    row.append(
      element("th", change.path || "(whole value)", "path"),
      element("td", changeValue(change.old, change.kind, "old"), "old"),
      element("td", changeValue(change.new, change.kind, "new"), "new"),
    );
    body.append(row);
  }
  table.append(caption, head, body);
  return table;
}

function verifyBlock(event) {
  const block = element("div", null, "verify");
  const button = element("button", "Verify");
  button.type = "button";
  const result = element("p", "", "verify-result");
  result.setAttribute("role", "status");
  const trust = element("p", "", "verify-trust");
  button.addEventListener("click", async () => {
    button.disabled = true;
    result.className = "verify-result";
    result.textContent = "Checking the signed checkpoint and the inclusion proof…";
    trust.textContent = "";
    const outcome = await verifyEvent(event);
    result.textContent = outcome.message;
    result.classList.add(outcome.verified ? "verified" : "failed");
    trust.textContent = outcome.trust;
    button.disabled = false;
  });
  block.append(button, result, trust);
  return block;
}

/** Fills `cell` with the details of event `seq`. */
export async function renderDetails(cell, seq) {
  cell.replaceChildren(element("p", "Loading…", "loading"));
  let details;
  try {
    details = await getJSON(`/v1/events/${seq}`);
  } catch (error) {
    cell.replaceChildren(element("p", `Could not load event ${seq}: ${error.message}`, "error"));
    return;
  }
  const event = details.event;
  const list = element("dl", null, "fields");
  field(list, "Event", `${readableAction(event.action)} (${event.action})`);
  field(list, "Time", readableTime(event.timestamp));
  field(list, "Actor", describeActor(event.actor));
  field(list, "Roles", event.actor.roles ? event.actor.roles.join(", ") || "(none)" : null);
  field(list, "Auth method", event.actor.authMethod);
  field(list, "Resource", describeReference({ id: `${event.resource.type} ${event.resource.id}`, name: event.resource.name }));
  field(list, "Organization", describeReference(event.org));
  field(list, "Project", describeReference(event.project));
  field(list, "Source", event.source);
  field(list, "IP", event.ip);
  field(list, "User agent", event.userAgent);
  field(list, "Event ID", event.id);
  field(list, "Sequence number", event.seq);
  field(list, "Leaf hash", event.leafHash);

  const parts = [list];
  if (details.redacted) {
    const r = details.redacted;
    parts.push(
      element(
        "p",
        `Redacted ${readableTime(r.at)} by event ${r.by}: ${r.reason}. Removed: ${r.fields.join(", ")}.`,
        "redacted",
      ),
    );
  }
  if (details.changes.length > 0) {
    parts.push(diffTable(details.changes));
  } else if (event.before !== undefined || event.after !== undefined) {
    parts.push(element("p", "No differences between before and after.", "no-changes"));
  }
  if (event.metadata !== undefined) {
    parts.push(element("h3", "Metadata"), element("pre", jsonText(event.metadata), "metadata"));
  }
  parts.push(verifyBlock(event));
  cell.replaceChildren(...parts);
}
