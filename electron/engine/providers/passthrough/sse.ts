/**
 * Server-sent events as bytes: complete events are forwarded as they arrive and only the few that matter
 * to the gateway (usage, the end, an error) are looked at, found with indexOf rather than by parsing
 * every frame.
 */

const LF = 0x0a;
const CR = 0x0d;

/** Where the event holding byte `at` lies: [start, end), its blank line included. */
export interface EventSpan {
  start: number;
  end: number;
}

function eventEndAfter(bytes: Buffer, at: number): number {
  const lf = bytes.indexOf('\n\n', at);
  const crlf = bytes.indexOf('\r\n\r\n', at);
  if (lf === -1 && crlf === -1) return bytes.length;
  if (lf === -1) return crlf + 4;
  if (crlf === -1) return lf + 2;
  return Math.min(lf + 2, crlf + 4);
}

function eventStartBefore(bytes: Buffer, at: number): number {
  const lf = bytes.lastIndexOf('\n\n', at);
  const crlf = bytes.lastIndexOf('\r\n\r\n', at);
  return Math.max(lf === -1 ? 0 : lf + 2, crlf === -1 ? 0 : crlf + 4);
}

export function eventAround(bytes: Buffer, at: number): EventSpan {
  return { start: eventStartBefore(bytes, at), end: eventEndAfter(bytes, at) };
}

/** Whether the byte before `at` begins a line (or `at` begins the text). */
function atLineStart(bytes: Buffer, at: number): boolean {
  return at === 0 || bytes[at - 1] === LF || bytes[at - 1] === CR;
}

/** The first `<field>: <value>` line (the space optional) whose value starts with `value`; -1 when none. */
export function findLine(bytes: Buffer, field: 'data' | 'event', value: string, from = 0): number {
  for (let at = bytes.indexOf(value, from); at !== -1; at = bytes.indexOf(value, at + 1)) {
    let i = at - 1;
    if (bytes[i] === 0x20) i--;
    if (bytes[i] !== 0x3a) continue; // ':'
    const start = i - field.length;
    if (start >= 0 && bytes.toString('latin1', start, i) === field && atLineStart(bytes, start)) return start;
  }
  return -1;
}

/** The data of an event (its `data:` lines joined), as JSON; undefined when it is not JSON. */
export function eventData(bytes: Buffer, span: EventSpan): unknown {
  const lines = bytes.toString('utf8', span.start, span.end).split(/\r\n|\n|\r/);
  const data = lines
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
    .join('\n');
  try {
    return JSON.parse(data);
  } catch {
    return undefined;
  }
}

/** Cuts a byte stream into runs of complete events; an event split across chunks waits for its end. */
export class EventRuns {
  private pending: Buffer | undefined;

  /** The complete events the stream holds now (possibly none: an empty buffer). */
  push(chunk: Buffer): Buffer {
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    const lf = data.lastIndexOf('\n\n');
    const crlf = data.lastIndexOf('\r\n\r\n');
    const end = Math.max(lf === -1 ? 0 : lf + 2, crlf === -1 ? 0 : crlf + 4);
    this.pending = end < data.length ? Buffer.from(data.subarray(end)) : undefined;
    return data.subarray(0, end);
  }

  /** What is left when the stream ends: a last event without its blank line, if any. */
  rest(): Buffer | undefined {
    const rest = this.pending;
    this.pending = undefined;
    return rest && rest.toString('latin1').trim() !== '' ? rest : undefined;
  }
}

/** Removes the events at these spans (in order, not overlapping). */
export function withoutEvents(bytes: Buffer, spans: readonly EventSpan[]): Buffer {
  if (spans.length === 0) return bytes;
  const pieces: Buffer[] = [];
  let from = 0;
  for (const span of spans) {
    pieces.push(bytes.subarray(from, span.start));
    from = span.end;
  }
  pieces.push(bytes.subarray(from));
  return Buffer.concat(pieces);
}

/** How many times `needle` occurs. */
export function occurrences(bytes: Buffer, needle: string): number {
  let count = 0;
  for (let at = bytes.indexOf(needle); at !== -1; at = bytes.indexOf(needle, at + needle.length)) count++;
  return count;
}
