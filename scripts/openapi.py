#!/usr/bin/env python3
"""Writes the OpenAPI 3.1 document of the HTTP API (Sources/AuditLogServer/Resources/openapi.json, served at
/v1/openapi.json) to stdout. The document is generated from this file: edit it here, then run `make openapi`.
scripts/check-api.sh fails when the committed document differs from this output."""
import json
def ref(n): return {"$ref": f"#/components/schemas/{n}"}
def err(desc): return {"description": desc, "content": {"application/json": {"schema": ref("Error")}}}
E = {
 "400": err("A malformed or unknown parameter, or an invalid event (named by line and field); nothing was appended."),
 "401": {"description": "No API key, or an unknown or revoked one.", "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer realm=\"auditlog\""}}, "content": {"application/json": {"schema": ref("Error")}}},
 "403": err("The key lacks the permission, or the org."),
 "404": err("Not in this log, or not visible to this key (another org's event)."),
}
def errs(*codes): return {c: E[c] for c in codes}
def qp(name, desc, schema, required=False, explode=None):
    p = {"name": name, "in": "query", "required": required, "description": desc, "schema": schema}
    return p
ts = {"type": "string", "description": "RFC 3339 (2026-11-22T03:13:33.123Z) or a date (2026-11-22: its first millisecond for from, its last for to)",
      "anyOf": [{"format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
                {"format": "date-time", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-5][0-9](\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"}]}
listp = lambda n, d: qp(n, d + " Repeatable: any of the values.", {"type": "array", "items": {"type": "string", "minLength": 1}})
filters = [
 qp("from", "Events at or after this instant.", ts),
 qp("to", "Events at or before this instant.", ts),
 qp("since", "Events of the last 30m, 24h, 7d … (with from too: the later bound).", {"type": "string", "pattern": "^[0-9]{1,9}(ms|s|m|h|d|w|y)$"}),
 listp("actor", "actor.id."), listp("action", "action."), listp("resourceType", "resource.type."),
 listp("resourceId", "resource.id."), listp("org", "org.id (a key limited to an org may name only its own)."),
 listp("project", "project.id."), listp("source", "source."),
 qp("afterSeq", "Only events with a greater seq (incremental pulls).", {"type": "integer", "minimum": 0, "maximum": 18446744073709551615}),
]
order = qp("order", "newest first (default for pages) or oldest first (default for exports).", {"type": "string", "enum": ["newest", "oldest"]})
def nullable(schema):
    """null for an optional field means absent (EventDecoder)."""
    if "type" in schema and isinstance(schema["type"], str):
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}
text = lambda lo=0: {"type": "string", **({"minLength": lo} if lo else {}), "maxLength": 4096}
ref_obj = {"type": "object", "required": ["id"], "additionalProperties": False, "properties": {"id": text(1), "name": nullable(text())}}
actor = {"type": "object", "required": ["type", "id"], "additionalProperties": False, "properties": {
  "type": {"type": "string", "enum": ["user", "api_key", "service", "system"]},
  "id": text(1), "name": nullable(text()),
  "roles": nullable({"type": "array", "maxItems": 256, "items": text()}),
  "authMethod": nullable(text())}}
resource = {"type": "object", "required": ["type", "id"], "additionalProperties": False, "properties": {
  "type": text(1), "id": text(1), "name": nullable(text())}}
event_props = {
  "id": nullable({"type": "string", "minLength": 1, "maxLength": 128, "description": "Unique id (at most 128 bytes of UTF-8); a UUIDv7 when absent."}),
  "timestamp": {"description": "RFC 3339 UTC with milliseconds, or integer ms since the epoch; ingest time when absent. Years 1970 to 9999.", "anyOf": [{"type": "string", "format": "date-time", "pattern": "^(19[7-9][0-9]|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-5][0-9](\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"}, {"type": "integer", "minimum": 0, "maximum": 253402300799999}, {"type": "null"}]},
  "actor": ref("Actor"), "action": text(1),
  "resource": ref("Resource"), "org": nullable(ref("Reference")), "project": nullable(ref("Reference")),
  "source": nullable(text()), "ip": {"description": "IPv4 or IPv6 address", "anyOf": [{"type": "string", "format": "ipv4"}, {"type": "string", "format": "ipv6"}, {"type": "null"}]},
  "userAgent": nullable(text()),
  "before": {"description": "Any JSON value: the state before the change."},
  "after": {"description": "Any JSON value: the state after the change."},
  "metadata": nullable({"type": "object", "description": "Anything else: endpoint, method, parameters."}),
  "seq": {"description": "Ignored: exports carry it, the log assigns its own."},
  "leafHash": {"description": "Ignored: exports carry it, the log computes its own."},
}
event = {"type": "object", "required": ["actor", "action", "resource"], "additionalProperties": False, "properties": event_props,
  "description": "The event contract (README, \"The event\"). Unknown fields are refused."}
stored_props = dict(event_props)
stored_props.update({"id": {"type": "string"}, "timestamp": {"type": "string", "description": "RFC 3339 UTC with milliseconds"},
  "seq": {"type": "integer", "minimum": 0, "description": "Sequence number: the event's Merkle leaf index."},
  "leafHash": ref("Hash"),
  "ip": {"type": "string"},
  "redacted": {"type": "object", "required": ["by", "fields"], "properties": {"by": {"type": "integer"}, "fields": {"type": "array", "items": {"type": "string"}}}}})
stored = {"type": "object", "required": ["id", "seq", "leafHash", "timestamp", "actor", "action", "resource"], "properties": stored_props,
  "description": "A stored event in the export JSON shape (FORMAT.md, \"Exports\")."}
hashs = {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "SHA-256 as 64 lowercase hex digits"}
schemas = {
 "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
    "code": {"type": "string", "description": "Stable: invalid_event, invalid_parameter, unauthorized, forbidden, not_found, payload_too_large, unsupported_media_type, idempotency_in_progress, idempotency_key_reused, no_checkpoint, no_verifier_key, server_error, …"},
    "message": {"type": "string"}, "line": {"type": "integer", "description": "1-based line of the request body"},
    "field": {"type": "string", "description": "Dotted field of the event"}, "parameter": {"type": "string", "description": "The query parameter at fault"}}}}},
 "Hash": hashs,
 "Actor": actor, "Resource": resource, "Reference": ref_obj,
 "Event": event, "StoredEvent": stored,
 "AppendResult": {"type": "object", "required": ["firstSeq", "count", "treeSize"], "properties": {"firstSeq": {"type": "integer"}, "count": {"type": "integer"}, "treeSize": {"type": "integer"}}},
 "EventPage": {"type": "object", "required": ["events", "nextCursor"], "properties": {"events": {"type": "array", "items": ref("StoredEvent")}, "nextCursor": {"type": ["string", "null"], "description": "Pass as cursor for the next page; null on the last page."}}},
 "EventDetails": {"type": "object", "required": ["event", "changes", "redacted"], "properties": {
    "event": ref("StoredEvent"),
    "changes": {"type": "array", "items": {"type": "object", "required": ["path", "kind", "old", "new"], "properties": {"path": {"type": "string"}, "kind": {"type": "string", "enum": ["added", "removed", "changed"]}, "old": {}, "new": {}}}},
    "redacted": {"oneOf": [{"type": "null"}, {"type": "object", "required": ["by", "at", "reason", "fields"], "properties": {"by": {"type": "integer"}, "at": {"type": "string"}, "reason": {"type": "string"}, "fields": {"type": "array", "items": {"type": "string"}}}}]}}},
 "FacetResult": {"type": "object", "required": ["field", "values", "truncated"], "properties": {"field": {"type": "string"}, "truncated": {"type": "boolean"},
    "values": {"type": "array", "items": {"type": "object", "required": ["value", "count"], "properties": {"value": {"type": "string"}, "count": {"type": "integer"}, "name": {"type": "string"}, "kind": {"type": "string"}}}}}},
 "InclusionProof": {"type": "object", "required": ["leafIndex", "treeSize", "leafHash", "proof", "root", "entry"], "properties": {
    "leafIndex": {"type": "integer"}, "treeSize": {"type": "integer"}, "leafHash": ref("Hash"), "proof": {"type": "array", "items": ref("Hash")}, "root": ref("Hash"),
    "entry": {"type": "string", "description": "base64 of the canonical record (empty for a redacted event)"}}},
 "ConsistencyProof": {"type": "object", "required": ["size1", "size2", "root1", "root2", "proof"], "properties": {
    "size1": {"type": "integer"}, "size2": {"type": "integer"}, "root1": ref("Hash"), "root2": ref("Hash"), "proof": {"type": "array", "items": ref("Hash")}}},
 "APIKey": {"type": "object", "required": ["id", "name", "permissions", "createdAt", "createdBy"], "properties": {
    "id": {"type": "string"}, "name": {"type": "string"}, "permissions": {"type": "array", "items": ref("Permission")}, "org": {"type": "string"},
    "createdAt": {"type": "string"}, "createdBy": {"type": "string"}, "revokedAt": {"type": "string"}}},
 "Permission": {"type": "string", "enum": ["auditLogs:write", "auditLogs:read", "auditLogs:export", "auditLogs:admin"]},
 "KeyChange": {"type": "object", "additionalProperties": False, "properties": {"name": nullable({"type": "string", "minLength": 1, "maxLength": 128}), "permissions": nullable({"type": "array", "minItems": 1, "items": ref("Permission")})},
    "anyOf": [{"required": ["name"], "properties": {"name": {"type": "string"}}}, {"required": ["permissions"], "properties": {"permissions": {"type": "array"}}}],
    "description": "A new name, new permissions (replacing all), or both; null means unchanged."},
 "RedactableField": {"type": "string", "enum": ["actor.name", "actor.roles", "actor.authMethod", "resource.name", "org.name", "project.name", "source", "ip", "userAgent", "before", "after", "metadata"]},
 "RedactionRequest": {"type": "object", "required": ["reason"], "additionalProperties": False, "properties": {
    "actor": nullable({"type": "string", "minLength": 1, "description": "Every event of this actor so far (not with seqs)."}),
    "seqs": nullable({"type": "array", "minItems": 1, "maxItems": 10000, "items": {"type": "integer", "minimum": 0}, "description": "These events (not with actor)."}),
    "fields": nullable({"type": "array", "minItems": 1, "items": ref("RedactableField"), "description": "Default: every field that can hold personal data (all but source)."}),
    "reason": {"type": "string", "minLength": 1, "maxLength": 4096, "description": "Why: a ticket or request id, recorded in the log."}},
    "oneOf": [{"required": ["actor"], "properties": {"actor": {"type": "string"}, "seqs": {"type": "null"}}},
              {"required": ["seqs"], "properties": {"seqs": {"type": "array"}, "actor": {"type": "null"}}}]},
 "RedactionResult": {"type": "object", "required": ["eventSeq", "recordsRedacted", "segmentsRewritten", "fields"], "properties": {
    "eventSeq": {"type": "integer"}, "recordsRedacted": {"type": "integer"}, "segmentsRewritten": {"type": "integer"}, "fields": {"type": "array", "items": ref("RedactableField")}}},
 "RetentionRequest": {"type": "object", "additionalProperties": False, "properties": {
    "maxAge": nullable({"type": "string", "pattern": "^[0-9]{1,8}(ms|s|m|h|d|w|y)$", "description": "Remove sealed segments whose newest event is older: 90d, 400d, 12h."}),
    "maxBytes": nullable({"type": "integer", "minimum": 0, "maximum": 9223372036854775807, "description": "Remove the oldest sealed segments while the log is larger."}),
    "dryRun": nullable({"type": "boolean", "description": "Only say what would be removed (default false)."})},
    "anyOf": [{"required": ["maxAge"], "properties": {"maxAge": {"type": "string"}}}, {"required": ["maxBytes"], "properties": {"maxBytes": {"type": "integer"}}}]},
 "RetentionResult": {"type": "object", "required": ["segmentsRemoved", "bytesRemoved", "prunedBelow", "dryRun", "eventsKept", "bytesKept"], "properties": {
    "segmentsRemoved": {"type": "array", "items": {"type": "string"}}, "bytesRemoved": {"type": "integer"}, "prunedBelow": {"type": "integer"},
    "eventSeq": {"type": "integer"}, "dryRun": {"type": "boolean"}, "eventsKept": {"type": "integer"}, "bytesKept": {"type": "integer"}}},
 "NewKey": {"type": "object", "required": ["name", "permissions"], "additionalProperties": False, "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 128}, "permissions": {"type": "array", "minItems": 1, "items": ref("Permission")}, "org": {"type": ["string", "null"], "minLength": 1, "maxLength": 4096, "description": "Limit the key to this org; null or absent for all orgs."}}},
}
json_ok = lambda s: {"content": {"application/json": {"schema": s}}}
paths = {
 "/healthz": {"get": {"operationId": "health", "summary": "Whether the log is writable (no key).", "security": [],
    "responses": {"200": {"description": "Writable", **json_ok({"type": "object", "required": ["status", "treeSize"], "properties": {"status": {"type": "string"}, "treeSize": {"type": "integer"}}})},
                  "503": {"description": "The log stopped accepting appends", **json_ok({"type": "object"})}}}},
 "/metrics": {"get": {"operationId": "metrics", "summary": "Prometheus metrics (no key).", "security": [],
    "responses": {"200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
 "/v1/openapi.json": {"get": {"operationId": "openapi", "summary": "This document (no key).", "security": [],
    "responses": {"200": {"description": "OpenAPI 3.1", **json_ok({"type": "object"})}}}},
 "/v1/events": {
   "post": {"operationId": "appendEvents", "summary": "Append events, all or nothing (auditLogs:write).",
     "description": "One event, a JSON array, or JSON Lines. 201 once durable. A key limited to an org appends only that org's events (an event without org gets it). With Idempotency-Key, a retry of a committed request returns the original answer and appends nothing (remembered 24 hours, across restarts).",
     "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False, "schema": {"type": "string", "minLength": 1, "maxLength": 255}}],
     "requestBody": {"required": True, "content": {"application/json": {"schema": {"oneOf": [ref("Event"), {"type": "array", "items": ref("Event"), "minItems": 1}]}},
                                                   "application/x-ndjson": {"schema": {"type": "string", "description": "One event object per line"}}}},
     "responses": {"201": {"description": "Appended and acknowledged", **json_ok(ref("AppendResult"))}, **errs("400", "401", "403"),
        "409": err("The same Idempotency-Key is being served."), "413": err("The body is over the limit (16 MiB unless --max-body)."),
        "415": err("Not JSON or JSON Lines."), "422": err("The Idempotency-Key was used with another body."), "503": err("The log stopped accepting appends.")}},
   "get": {"operationId": "listEvents", "summary": "One page of events, newest first by default (auditLogs:read).",
     "parameters": filters + [order, qp("limit", "Events per page (default 50).", {"type": "integer", "minimum": 1, "maximum": 1000}), qp("cursor", "nextCursor of the previous page.", {"type": "string"})],
     "responses": {"200": {"description": "A page", **json_ok(ref("EventPage"))}, **errs("400", "401", "403")}}},
 "/v1/events/{seq}": {"get": {"operationId": "getEvent", "summary": "One event with its before/after changes (auditLogs:read).",
     "parameters": [{"name": "seq", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0, "maximum": 18446744073709551615}}],
     "responses": {"200": {"description": "The event", **json_ok(ref("EventDetails"))}, **errs("400", "401", "403", "404")}}},
 "/v1/facets": {"get": {"operationId": "facets", "summary": "Distinct values of a field with counts, from the indexes (auditLogs:read).",
     "parameters": [qp("field", "The field.", {"type": "string", "enum": ["actor", "action", "resourceType", "project", "org", "source"]}, required=True),
                    listp("org", "Count only these orgs."), qp("limit", "At most this many values (default 1000).", {"type": "integer", "minimum": 1, "maximum": 10000})],
     "responses": {"200": {"description": "Values, most frequent first", **json_ok(ref("FacetResult"))}, **errs("400", "401", "403")}}},
 "/v1/export": {"get": {"operationId": "export", "summary": "Stream the matching events (auditLogs:export).",
     "description": "Oldest first unless order=newest; chunked, constant memory; the same bytes as `auditlog export`. The trailer Audit-Log-Last-Seq carries the last seq sent. Recorded in the log as an auditLogs.export event.",
     "parameters": [qp("format", "jsonl (default), json, csv, ocsf (OCSF 1.5 events, one per line) or ecs (Elastic Common Schema documents, one per line).", {"type": "string", "enum": ["jsonl", "json", "csv", "ocsf", "ecs"]})] + filters + [order],
     "responses": {"200": {"description": "The events", "headers": {"Content-Disposition": {"schema": {"type": "string"}}},
                          "content": {"application/x-ndjson": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "array", "items": ref("StoredEvent")}}, "text/csv": {"schema": {"type": "string"}}}},
                   **errs("400", "401", "403")}}},
 "/v1/export/links": {"post": {"operationId": "createExportLink", "summary": "A single-use download link for an export (auditLogs:export).",
     "description": "For browsers, which cannot send a key with a download: the link works once, within 60 seconds, for the format and filters given here (checked now), and only while the key may still export. The audit-log page exports this way.",
     "parameters": [qp("format", "jsonl (default), json, csv, ocsf (OCSF 1.5 events, one per line) or ecs (Elastic Common Schema documents, one per line).", {"type": "string", "enum": ["jsonl", "json", "csv", "ocsf", "ecs"]})] + filters + [order],
     "responses": {"201": {"description": "The link", **json_ok({"type": "object", "required": ["url", "expiresAt"], "properties": {"url": {"type": "string", "description": "/v1/export/links/{token}"}, "expiresAt": {"type": "string", "format": "date-time"}}})},
                   **errs("400", "401", "403"), "429": err("Too many links are waiting (10,000).")}}},
 "/v1/export/links/{token}": {"get": {"operationId": "downloadExportLink", "summary": "Download the export of a link (no key: the link is the credential).", "security": [],
     "description": "The same bytes and trailer as GET /v1/export, recorded in the log as an export by the key that asked for the link. The link is used up by this request, whatever its outcome.",
     "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}],
     "responses": {"200": {"description": "The events", "headers": {"Content-Disposition": {"schema": {"type": "string"}}},
                          "content": {"application/x-ndjson": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "array", "items": ref("StoredEvent")}}, "text/csv": {"schema": {"type": "string"}}}},
                   "403": err("The key that asked for the link was revoked or lost auditLogs:export."),
                   "404": err("The link is unknown, used or expired.")}}},
 "/v1/checkpoint": {"get": {"operationId": "checkpoint", "summary": "The latest signed C2SP checkpoint (auditLogs:read).",
     "responses": {"200": {"description": "A signed note", "content": {"text/plain": {"schema": {"type": "string"}}}}, **errs("401", "403", "404")}}},
 "/v1/verifier-key": {"get": {"operationId": "verifierKey", "summary": "The C2SP verifier key of the checkpoints (auditLogs:read).",
     "responses": {"200": {"description": "name+keyid+base64 key", "content": {"text/plain": {"schema": {"type": "string"}}}}, **errs("401", "403", "404")}}},
 "/v1/proofs/inclusion": {"get": {"operationId": "inclusionProof", "summary": "RFC 9162 inclusion proof of an event (auditLogs:read).",
     "parameters": [qp("seq", "The event.", {"type": "integer", "minimum": 0, "maximum": 18446744073709551615}, required=True), qp("treeSize", "Prove against this tree size (default: the whole log).", {"type": "integer", "minimum": 1, "maximum": 18446744073709551615})],
     "responses": {"200": {"description": "The proof", **json_ok(ref("InclusionProof"))}, **errs("400", "401", "403", "404")}}},
 "/v1/proofs/consistency": {"get": {"operationId": "consistencyProof", "summary": "RFC 9162 consistency proof between two tree sizes (auditLogs:read).",
     "parameters": [qp("from", "The older tree size.", {"type": "integer", "minimum": 0, "maximum": 18446744073709551615}, required=True), qp("to", "The newer tree size (default: the whole log).", {"type": "integer", "minimum": 0, "maximum": 18446744073709551615})],
     "responses": {"200": {"description": "The proof", **json_ok(ref("ConsistencyProof"))}, **errs("400", "401", "403")}}},
 "/v1/keys": {
   "get": {"operationId": "listKeys", "summary": "The API keys, never their secrets (auditLogs:admin).",
     "responses": {"200": {"description": "Keys", **json_ok({"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array", "items": ref("APIKey")}}})}, **errs("401", "403")}},
   "post": {"operationId": "createKey", "summary": "Create a key; the token is in this answer only (auditLogs:admin).",
     "requestBody": {"required": True, "content": {"application/json": {"schema": ref("NewKey")}}},
     "responses": {"201": {"description": "Created", **json_ok({"type": "object", "required": ["key", "token"], "properties": {"key": ref("APIKey"), "token": {"type": "string"}}})}, **errs("400", "401", "403"), "409": err("An active key has this name.")}}},
 "/v1/keys/{key}": {
   "parameters": [{"name": "key", "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}, "description": "The key's name or id."}],
   "patch": {"operationId": "updateKey", "summary": "Rename a key or replace its permissions; its token and org stay (auditLogs:admin).",
     "requestBody": {"required": True, "content": {"application/json": {"schema": ref("KeyChange")}}},
     "responses": {"200": {"description": "The key after the change", **json_ok({"type": "object", "required": ["key"], "properties": {"key": ref("APIKey")}})}, **errs("400", "401", "403", "404"), "409": err("Another active key has this name.")}},
   "delete": {"operationId": "revokeKey", "summary": "Revoke a key by name or id (auditLogs:admin).",
     "responses": {"200": {"description": "Revoked", **json_ok({"type": "object", "required": ["key"], "properties": {"key": ref("APIKey")}})}, **errs("401", "403", "404")}}},
 "/v1/redactions": {"post": {"operationId": "redact", "summary": "Erase personal data from stored events; proofs keep verifying (auditLogs:admin).",
     "description": "The log records the redaction as its own auditlog.redaction event, and the key as an auditLogs.redact event. A key limited to an org redacts only that org's events, by seq.",
     "requestBody": {"required": True, "content": {"application/json": {"schema": ref("RedactionRequest")}}},
     "responses": {"200": {"description": "Redacted", **json_ok(ref("RedactionResult"))}, **errs("400", "401", "403", "404"), "413": err("The body is over 1 MiB.")}}},
 "/v1/retention": {"post": {"operationId": "applyRetention", "summary": "Apply a retention policy now, or see what it would remove (auditLogs:admin, all orgs).",
     "description": "Removes whole sealed segments, oldest first. Recorded by the log (auditlog.retention) and, unless a dry run, as an auditLogs.retention event by the key.",
     "requestBody": {"required": True, "content": {"application/json": {"schema": ref("RetentionRequest")}}},
     "responses": {"200": {"description": "Applied (or planned)", **json_ok(ref("RetentionResult"))}, **errs("400", "401", "403")}}},
}
for obj in (actor, resource, ref_obj):
    obj["description"] = "Text fields hold at most 4096 bytes of UTF-8 each (maxLength counts characters, so longer non-ASCII text can still be refused with 400)."
doc = {"openapi": "3.1.0",
 "info": {"title": "swift-audit-log", "version": "1.0.0",
   "description": "The HTTP API of `auditlog serve`: append events, read pages, details, facets, exports and proofs of one tamper-evident audit log. Every route but /healthz, /metrics and this document needs `Authorization: Bearer <token>` (auditlog keys create). 401: no valid key; 403: the key lacks the permission or the org. Errors are JSON with a stable code."},
 "servers": [{"url": "http://127.0.0.1:8080"}],
 "security": [{"bearer": []}],
 "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "An API key token (alk_…)."}}, "schemas": schemas},
 "paths": paths}
print(json.dumps(doc, indent=2))
