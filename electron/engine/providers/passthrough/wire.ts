import type { Usage } from '../../contract/chat.ts';
import { UpstreamStreamError } from '../http-errors.ts';
import type { ProviderConfig, WireCall, WireProtocol } from '../types.ts';
import { type MemberEdit, setMembers } from './json-members.ts';

/** What the relay must know of one protocol to forward it as bytes. */
export interface Wire {
  readonly protocol: WireProtocol;
  /** Where a provider takes chats in this protocol: the origin, and the path for a model. */
  endpoint(config: ProviderConfig): { origin: string; path(model: string): string };
  /** The request headers: the provider's key, its extra headers, and the client's protocol headers. */
  headers(config: ProviderConfig, apiKey: string | undefined, call: WireCall): Record<string, string>;
  /** The body to send: the client's bytes, with the fields routing sets. */
  body(call: WireCall): Buffer;
  /** The usage an answer's `usage` object reports, in Switchboard's terms; undefined when it is incomplete. */
  usageOf(usage: Record<string, unknown>): Usage | undefined;
  /** Reads a stream as it passes. */
  reader(call: WireCall): StreamReader;
}

/** Watches the events of a stream go by; created per request. */
export interface StreamReader {
  /**
   * Looks at a run of complete events and returns what the client gets: the run itself, or the run
   * without an event the client did not ask for. Throws the upstream's error when the run holds one.
   */
  read(run: Buffer): Buffer;
  /** The stream's terminal event has passed. */
  readonly ended: boolean;
  /** Usage as the stream reported it, once it has. */
  readonly usage: Usage | undefined;
  /** Events that carried output: an estimate of the tokens, for a stream that reports no usage. */
  readonly outputEvents: number;
}

/** An error an upstream sent inside a stream that had begun with 200: its body, for the one error mapping. */
export class UpstreamEventError extends UpstreamStreamError {
  readonly error: unknown;

  constructor(body: unknown) {
    super(typeof body === 'object' ? JSON.stringify(body) : String(body));
    this.error = body;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The edits that give a model's own temperature and max tokens to a body that leaves them open (absent
 * or null); `maxTokensNames` are the protocol's names for the answer's length, any of which the client may use.
 */
export function samplingDefaults(call: WireCall, maxTokensNames: readonly string[]): MemberEdit[] {
  const { options, json } = call;
  const edits: MemberEdit[] = [];
  if (options?.temperature !== undefined && json.temperature == null) {
    edits.push({ key: 'temperature', json: JSON.stringify(options.temperature) });
  }
  if (options?.maxTokens !== undefined && maxTokensNames.every((name) => json[name] == null)) {
    edits.push({ key: maxTokensNames[0]!, json: JSON.stringify(options.maxTokens) });
  }
  return edits;
}

/** The client's bytes with these members set; serialised from the parsed body only where the bytes cannot be followed. */
export function editedBody(call: WireCall, edits: readonly MemberEdit[]): Buffer {
  if (edits.length === 0) return call.body;
  return (
    setMembers(call.body, edits) ??
    Buffer.from(JSON.stringify({ ...call.json, ...Object.fromEntries(edits.map((e) => [e.key, JSON.parse(e.json)])) }))
  );
}
