/**
 * Top-level members of a JSON object, found and replaced in its bytes: the pass-through path forwards a
 * client's request as it was written (key order, number spelling, fields Switchboard does not know) and
 * changes only what routing must. Strings are skipped with indexOf, so a body of long messages costs
 * little more than its number of top-level members.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;

/** Where a value lies in the text: [start, end). */
export interface Span {
  start: number;
  end: number;
}

function isSpace(byte: number | undefined): boolean {
  return byte === 0x20 || byte === 0x0a || byte === 0x0d || byte === 0x09;
}

function skipSpace(bytes: Uint8Array, i: number): number {
  while (isSpace(bytes[i])) i++;
  return i;
}

/** The index after the closing quote of the string whose opening quote is at `start`; -1 when unterminated. */
export function stringEnd(bytes: Buffer, start: number): number {
  let from = start + 1;
  for (;;) {
    const quote = bytes.indexOf(QUOTE, from);
    if (quote === -1) return -1;
    let backslashes = 0;
    while (bytes[quote - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** The index after the value that starts at `start` (an object, array, string or literal); -1 when malformed. */
export function valueEnd(bytes: Buffer, start: number): number {
  const first = bytes[start];
  if (first === QUOTE) return stringEnd(bytes, start);
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    let i = start;
    while (i < bytes.length && bytes[i] !== COMMA && bytes[i] !== CLOSE_BRACE && bytes[i] !== CLOSE_BRACKET) {
      if (isSpace(bytes[i])) break;
      i++;
    }
    return i > start ? i : -1;
  }
  let depth = 0;
  for (let i = start; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === QUOTE) {
      const end = stringEnd(bytes, i);
      if (end === -1) return -1;
      i = end - 1;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) depth++;
    else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      if (--depth === 0) return i + 1;
    }
  }
  return -1;
}

function keyAt(bytes: Buffer, start: number, end: number): string {
  const raw = bytes.toString('utf8', start + 1, end - 1);
  // An escaped key ("mod\u0065l") means what JSON.parse makes of it.
  return raw.includes('\\') ? (JSON.parse(bytes.toString('utf8', start, end)) as string) : raw;
}

/**
 * The value spans of the wanted top-level members of a JSON object (the last one wins, as in
 * JSON.parse); undefined when the text is not an object this scanner can follow.
 */
export function findMembers(bytes: Buffer, wanted: ReadonlySet<string>): Map<string, Span> | undefined {
  let i = skipSpace(bytes, 0);
  if (bytes[i] !== OPEN_BRACE) return undefined;
  const found = new Map<string, Span>();
  i = skipSpace(bytes, i + 1);
  if (bytes[i] === CLOSE_BRACE) return found;
  for (;;) {
    if (bytes[i] !== QUOTE) return undefined;
    const keyEnd = stringEnd(bytes, i);
    if (keyEnd === -1) return undefined;
    const key = keyAt(bytes, i, keyEnd);
    i = skipSpace(bytes, keyEnd);
    if (bytes[i] !== COLON) return undefined;
    const start = skipSpace(bytes, i + 1);
    const end = valueEnd(bytes, start);
    if (end === -1) return undefined;
    if (wanted.has(key)) found.set(key, { start, end });
    i = skipSpace(bytes, end);
    if (bytes[i] === CLOSE_BRACE) return found;
    if (bytes[i] !== COMMA) return undefined;
    i = skipSpace(bytes, i + 1);
  }
}

/** A top-level member to set: its new value as JSON text. */
export interface MemberEdit {
  key: string;
  json: string;
}

/**
 * The object with these members set: a member that exists has its value replaced where it stands,
 * one that does not is added first. Everything else keeps its bytes. Undefined when the text cannot
 * be followed (the caller then serialises the parsed value instead).
 */
export function setMembers(bytes: Buffer, edits: readonly MemberEdit[]): Buffer | undefined {
  const spans = findMembers(bytes, new Set(edits.map((edit) => edit.key)));
  if (!spans) return undefined;
  const replaced = edits
    .filter((edit) => spans.has(edit.key))
    .map((edit) => ({ ...spans.get(edit.key)!, json: edit.json }))
    .sort((a, b) => a.start - b.start);
  const added = edits.filter((edit) => !spans.has(edit.key));
  const pieces: Buffer[] = [];
  let from = 0;
  if (added.length > 0) {
    const open = bytes.indexOf(OPEN_BRACE) + 1;
    const empty = spans.size === 0 && bytes[skipSpace(bytes, open)] === CLOSE_BRACE;
    const members = added.map((edit) => `${JSON.stringify(edit.key)}:${edit.json}`).join(',');
    pieces.push(bytes.subarray(0, open), Buffer.from(empty ? members : `${members},`));
    from = open;
  }
  for (const span of replaced) {
    pieces.push(bytes.subarray(from, span.start), Buffer.from(span.json));
    from = span.end;
  }
  pieces.push(bytes.subarray(from));
  return Buffer.concat(pieces);
}

/**
 * The object that starts at `start` (an opening brace), parsed; undefined when it is not one. For the few
 * small objects read out of a larger text (a usage block inside a stream frame or an answer).
 */
export function parseObjectAt(bytes: Buffer, start: number): Record<string, unknown> | undefined {
  if (bytes[start] !== OPEN_BRACE) return undefined;
  const end = valueEnd(bytes, start);
  if (end === -1) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8', start, end)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Index of the first non-space byte after `"name"` and its colon, from `at` (where the quoted name starts). */
export function afterName(bytes: Buffer, at: number, name: string): number {
  const i = skipSpace(bytes, at + name.length + 2);
  return bytes[i] === COLON ? skipSpace(bytes, i + 1) : -1;
}

/** The text with `prefix` put at the start of the string at `span` (a top-level member's value); as is when it is no string. */
export function prefixStringAt(bytes: Buffer, span: Span | undefined, prefix: string): Buffer {
  if (!span || bytes[span.start] !== QUOTE) return bytes;
  return Buffer.concat([bytes.subarray(0, span.start + 1), Buffer.from(prefix), bytes.subarray(span.start + 1)]);
}

/**
 * The text with `prefix` put at the start of every string value of a `"key"` member, at any depth
 * (`"model":"gpt-4o"` → `"model":"openai/gpt-4o"`). A quote that is not escaped cannot occur inside a
 * JSON string, so every match is a real member. Returns the text itself when there is none.
 */
export function prefixMemberStrings(bytes: Buffer, key: string, prefix: string): Buffer {
  const name = `"${key}"`;
  const pieces: Buffer[] = [];
  let from = 0;
  for (let at = bytes.indexOf(name); at !== -1; at = bytes.indexOf(name, at + name.length)) {
    const value = afterName(bytes, at, key);
    if (value === -1 || bytes[value] !== QUOTE) continue;
    pieces.push(bytes.subarray(from, value + 1), Buffer.from(prefix));
    from = value + 1;
  }
  if (pieces.length === 0) return bytes;
  pieces.push(bytes.subarray(from));
  return Buffer.concat(pieces);
}
