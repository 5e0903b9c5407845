// Checks, in this browser, that an event is in the signed log (FORMAT.md, "Checkpoints and keys", "Proofs",
// "Record"): the checkpoint's Ed25519 signature by the verifier key (C2SP signed note), the RFC 9162 inclusion
// path from the event's leaf to the checkpoint's root (SHA-256, RFC 6962 hashing), and that the proof's record
// is the event shown. WebCrypto does the hashing and the signature check.

import { getJSON, getText } from "./api.js";

const encoder = new TextEncoder();

/** Thrown with a message that says what failed. */
class VerificationFailure extends Error {}

function fail(message) {
  throw new VerificationFailure(message);
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function equal(a, b) {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

function hex(bytes) {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function fromHex(text) {
  if (!/^([0-9a-f]{2})*$/.test(text)) fail(`not hexadecimal: ${text.slice(0, 20)}`);
  return Uint8Array.from(text.match(/../g) || [], (pair) => parseInt(pair, 16));
}

function fromBase64(text) {
  let binary;
  try {
    binary = atob(text);
  } catch {
    fail("a value that should be base64 is not");
  }
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

// MARK: Keys and signed notes

/** `name+keyid+base64(0x01 ‖ public key)` → {name, keyID, publicKey}, with the key ID checked. */
export async function parseVerifierKey(text) {
  // The name has no "+"; the base64 key may.
  const parts = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/=]+)$/.exec(text.trim());
  if (!parts) fail("the verifier key is not of the form name+keyid+key");
  const [, name, keyIDHex, keyBase64] = parts;
  const key = fromBase64(keyBase64);
  if (key.length !== 33 || key[0] !== 1) fail("the verifier key is not an Ed25519 key");
  const publicKey = key.slice(1);
  const keyID = (await sha256(concat(encoder.encode(name), Uint8Array.of(0x0a, 0x01), publicKey))).slice(0, 4);
  if (hex(keyID) !== keyIDHex) fail("the verifier key's ID does not match its name and key");
  return { name, keyID, publicKey, text: `${name}+${keyIDHex}` };
}

/** Checks a signed checkpoint with `key`; returns {origin, treeSize, root}. */
async function verifyCheckpoint(note, key) {
  const split = note.indexOf("\n\n");
  if (split < 0) fail("the checkpoint is not a signed note");
  const text = note.slice(0, split + 1);
  const lines = text.split("\n");
  const [origin, sizeText, rootBase64] = lines;
  if (!/^[0-9]+$/.test(sizeText || "")) fail("the checkpoint has no tree size");
  const root = fromBase64(rootBase64 || "");
  if (root.length !== 32) fail("the checkpoint's root is not 32 bytes");
  if (origin !== key.name) fail(`the checkpoint is of the log "${origin}", not of "${key.name}"`);

  const signatures = note.slice(split + 2).split("\n").filter((line) => line.length > 0);
  let signature;
  for (const line of signatures) {
    const match = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!match || match[1] !== key.name) continue;
    const bytes = fromBase64(match[2]);
    if (bytes.length === 68 && equal(bytes.slice(0, 4), key.keyID)) signature = bytes.slice(4);
  }
  if (!signature) fail(`the checkpoint carries no signature by ${key.text}`);
  const publicKey = await crypto.subtle.importKey("raw", key.publicKey, { name: "Ed25519" }, false, ["verify"]);
  const valid = await crypto.subtle.verify({ name: "Ed25519" }, publicKey, signature, encoder.encode(text));
  if (!valid) fail(`the checkpoint's signature by ${key.text} does not verify`);
  return { origin, treeSize: Number(sizeText), root };
}

// MARK: Merkle path (RFC 9162 §2.1.3.2)

async function rootFromPath(leafIndex, treeSize, leafHash, path) {
  if (leafIndex >= treeSize) fail("the proof's leaf is outside its tree");
  let fn = leafIndex;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const sibling of path) {
    if (sn === 0) fail("the proof is longer than its tree allows");
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(concat(Uint8Array.of(1), sibling, r));
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await sha256(concat(Uint8Array.of(1), r, sibling));
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) fail("the proof is shorter than its tree needs");
  return r;
}

// MARK: Records (FORMAT.md, "Record")

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.offset = 0;
  }

  need(count) {
    if (this.offset + count > this.bytes.length) fail("the proof's record is cut short");
  }

  u8() {
    this.need(1);
    return this.bytes[this.offset++];
  }

  u16() {
    this.need(2);
    const value = this.view.getUint16(this.offset, true);
    this.offset += 2;
    return value;
  }

  u64() {
    this.need(8);
    const value = this.view.getBigUint64(this.offset, true);
    this.offset += 8;
    return value;
  }

  i64() {
    this.need(8);
    const value = this.view.getBigInt64(this.offset, true);
    this.offset += 8;
    return value;
  }

  varint() {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const byte = this.u8();
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
      scale *= 128;
    }
    fail("the proof's record has a length out of range");
  }

  string() {
    const length = this.varint();
    this.need(length);
    const bytes = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      fail("the proof's record holds invalid UTF-8");
    }
  }
}

const actorTypes = ["user", "api_key", "service", "system"];

/** The fields of a record that identify its event. */
function decodeRecord(bytes) {
  const r = new Reader(bytes);
  if (r.u8() !== 1) fail("the proof's record has an unknown version");
  const flags = r.u8();
  const actorType = actorTypes[r.u8()];
  const presence = r.u16();
  const seq = r.u64();
  const timestamp = r.i64();
  r.need(flags & 1 ? 42 : 16);
  r.offset += flags & 1 ? 42 : 16;
  const has = (bit) => (presence & (1 << bit)) !== 0;
  const id = r.string();
  const actorID = r.string();
  if (has(0)) r.string();
  if (has(1)) for (let n = r.varint(); n > 0; n--) r.string();
  if (has(2)) r.string();
  const action = r.string();
  const resourceType = r.string();
  const resourceID = r.string();
  return { seq, timestamp, id, actorType, actorID, action, resourceType, resourceID };
}

/** Milliseconds since the epoch of an RFC 3339 UTC timestamp with milliseconds, as BigInt. */
function milliseconds(timestamp) {
  return BigInt(Date.parse(timestamp));
}

function checkRecordIsTheEvent(record, event) {
  const pairs = [
    ["seq", record.seq, BigInt(event.seq)],
    ["timestamp", record.timestamp, milliseconds(event.timestamp)],
    ["id", record.id, event.id],
    ["actor.type", record.actorType, event.actor.type],
    ["actor.id", record.actorID, event.actor.id],
    ["action", record.action, event.action],
    ["resource.type", record.resourceType, event.resource.type],
    ["resource.id", record.resourceID, event.resource.id],
  ];
  for (const [field, inRecord, shown] of pairs) {
    if (inRecord !== shown) fail(`the signed record's ${field} is not the one shown`);
  }
}

// MARK: The check

const pinStorageKey = "auditlog.pinnedVerifierKey";

export function pinnedKey() {
  return localStorage.getItem(pinStorageKey);
}

export function pinKey(text) {
  localStorage.setItem(pinStorageKey, text.trim());
}

export function unpinKey() {
  localStorage.removeItem(pinStorageKey);
}

/**
 * Verifies that `event` (as the API shows it) is in the signed log. Resolves to {verified, message}: the
 * message says where it was found and by which key, or exactly what failed.
 */
export async function verifyEvent(event) {
  try {
    const pinned = pinnedKey();
    const key = await parseVerifierKey(pinned || (await getText("/v1/verifier-key")));
    const trust = pinned
      ? "checked against your pinned verifier key"
      : "checked against the key this server serves; pin the log owner's key so the server cannot vouch for itself";
    let note;
    try {
      note = await getText("/v1/checkpoint");
    } catch (error) {
      if (error.status === 404) fail("this log has no signed checkpoint yet");
      throw error;
    }
    const checkpoint = await verifyCheckpoint(note, key);
    if (event.seq >= checkpoint.treeSize) {
      fail(
        `not yet in a signed checkpoint: the latest covers ${checkpoint.treeSize} events and this is event ` +
          `${event.seq}; try again after the next one`,
      );
    }
    const proof = await getJSON(`/v1/proofs/inclusion?seq=${event.seq}&treeSize=${checkpoint.treeSize}`);
    if (proof.leafIndex !== event.seq || proof.treeSize !== checkpoint.treeSize) {
      fail("the server sent a proof for another event or tree");
    }
    const leafHash = fromHex(proof.leafHash);
    if (proof.leafHash !== event.leafHash) fail("the proof's leaf hash is not the event's");
    const entry = fromBase64(proof.entry || "");
    if (entry.length > 0) {
      const computed = await sha256(concat(Uint8Array.of(0), entry));
      if (!equal(computed, leafHash)) fail("the proof's record does not hash to its leaf hash");
      checkRecordIsTheEvent(decodeRecord(entry), event);
    }
    const root = await rootFromPath(event.seq, checkpoint.treeSize, leafHash, proof.proof.map(fromHex));
    if (!equal(root, checkpoint.root)) fail("the inclusion path does not lead to the signed root");
    const redacted = entry.length === 0 ? " (the record was redacted: its leaf hash is what the tree holds)" : "";
    return {
      verified: true,
      message: `Verified: in the log of ${checkpoint.origin} at tree size ${checkpoint.treeSize}, signed by ${key.text}${redacted}.`,
      trust,
    };
  } catch (error) {
    const reason = error instanceof VerificationFailure ? error.message : `could not check: ${error.message}`;
    return { verified: false, message: `Not verified: ${reason}.`, trust: "" };
  }
}
