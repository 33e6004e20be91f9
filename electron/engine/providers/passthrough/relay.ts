import type { IncomingHttpHeaders } from 'node:http';
import { type Dispatcher, Pool } from 'undici';
import type { Usage } from '../../contract/chat.ts';
import { abortCause, IncompleteStreamError, toProviderError } from '../http-errors.ts';
import type { CallContext, ProviderConfig, Relay, WireCall, WireChunk } from '../types.ts';
import { findMembers, parseObjectAt, prefixMemberStrings, prefixStringAt } from './json-members.ts';
import { EventRuns } from './sse.ts';
import type { Wire } from './wire.ts';

/**
 * Sockets one provider may hold open at once, when its `concurrency` limit does not say: beyond what a
 * desktop's clients ask of one upstream, and still a bound on file descriptors.
 */
const DEFAULT_CONNECTIONS = 512;

/** The members of a one-piece answer the relay reads or rewrites. */
const ANSWER_MEMBERS = new Set(['usage', 'model']);

/**
 * An undici Pool per upstream origin: keep-alive connections reused across requests (undici's idle
 * timeout, 4 s unless the server's Keep-Alive hint says otherwise). Pipelining stays at 1: chat
 * requests are POSTs, which are not idempotent — undici would hold one back behind the answer ahead of
 * it rather than open a connection, and a long stream would block every request queued behind it.
 * undici's own header and body timers are off: the one timeout of a routed call is routing's timeout
 * stage, which aborts the attempt's signal.
 */
function createPool(origin: string, config: ProviderConfig): Pool {
  return new Pool(origin, {
    connections: config.limits.concurrency ?? DEFAULT_CONNECTIONS,
    pipelining: 1,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}

/** A non-2xx answer, shaped as the SDKs' errors are (status, body, headers) for the one error mapping. */
class UpstreamAnswerError extends Error {
  readonly status: number;
  readonly headers: Headers;
  readonly error: unknown;

  constructor(status: number, headers: Headers, text: string) {
    super(text || `HTTP ${status}`);
    this.name = 'UpstreamAnswerError';
    this.status = status;
    this.headers = headers;
    this.error = parseJson(text);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  return headers;
}

/** An upstream's status and headers. */
interface AnswerHead {
  statusCode: number;
  headers: IncomingHttpHeaders;
}

/** An answer's callbacks, as undici's dispatch handler takes them. */
type AnswerHandler = Required<
  Pick<Dispatcher.DispatchHandler, 'onResponseStart' | 'onResponseData' | 'onResponseEnd' | 'onResponseError'>
>;

/**
 * Sends a request on the pool with undici's dispatch, its answer going to `handler`: no Readable and no
 * async-context bookkeeping, which `request` adds. The signal aborts it, as it aborts `request`, with its
 * reason (`onResponseError` hears it).
 */
function dispatchWithSignal(
  pool: Pool,
  options: Dispatcher.DispatchOptions,
  signal: AbortSignal,
  handler: AnswerHandler,
): void {
  let onAbort: (() => void) | undefined;
  const settled = () => {
    if (onAbort) signal.removeEventListener('abort', onAbort);
  };
  pool.dispatch(options, {
    onRequestStart(controller) {
      if (signal.aborted) return controller.abort(signal.reason);
      onAbort = () => controller.abort(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    },
    onResponseStart: handler.onResponseStart,
    onResponseData: handler.onResponseData,
    onResponseEnd(controller, trailers) {
      settled();
      handler.onResponseEnd(controller, trailers);
    },
    onResponseError(controller, error) {
      settled();
      handler.onResponseError(controller, error);
    },
  });
}

/** A request whose answer is wanted in one piece: its bytes gathered. */
function requestWhole(
  pool: Pool,
  options: Dispatcher.DispatchOptions,
  signal: AbortSignal,
  started: (head: AnswerHead) => void,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    dispatchWithSignal(pool, options, signal, {
      onResponseStart(_controller, statusCode, headers) {
        started({ statusCode, headers });
      },
      onResponseData(_controller, chunk) {
        chunks.push(chunk);
      },
      onResponseEnd() {
        resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      },
      onResponseError(_controller, error) {
        reject(error);
      },
    });
  });
}

/** Bytes a reader of a streamed answer may fall behind the upstream by before the upstream is paused. */
const BODY_HIGH_WATER_BYTES = 64 * 1024;

/**
 * A streamed answer's body as undici hands it over, for one reader (`for await`). What arrived while the
 * reader was busy, or in one read of the socket (undici hands over each chunk of the chunked encoding on
 * its own), is read as one piece, as a Readable's reader gets it: a turn of the relay and a write to the
 * client per socket read, not per chunk. The upstream is paused (TCP then holds it back) while more than
 * BODY_HIGH_WATER_BYTES wait. What came before a failure is read before it. A reader that stops early
 * (`return`) aborts the request, which gives its connection up.
 */
class BodyChunks implements AsyncIterableIterator<Buffer> {
  private readonly controller: Dispatcher.DispatchController;
  private queued: Buffer[] = [];
  private queuedBytes = 0;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private reader: ((result: Promise<IteratorResult<Buffer>>) => void) | undefined;
  private handing = false;

  constructor(controller: Dispatcher.DispatchController) {
    this.controller = controller;
  }

  push(chunk: Buffer): void {
    this.queued.push(chunk);
    this.queuedBytes += chunk.length;
    if (this.queuedBytes > BODY_HIGH_WATER_BYTES) this.controller.pause();
    this.handOver();
  }

  end(): void {
    this.ended = true;
    this.handOver();
  }

  fail(error: unknown): void {
    this.failure = { error };
    this.handOver();
  }

  /** A waiting reader gets what there is once this read of the socket is done (a microtask later). */
  private handOver(): void {
    if (!this.reader || this.handing) return;
    this.handing = true;
    queueMicrotask(() => {
      this.handing = false;
      const reader = this.reader;
      this.reader = undefined;
      reader?.(this.next());
    });
  }

  next(): Promise<IteratorResult<Buffer>> {
    if (this.queued.length > 0) {
      const all = this.queued.length === 1 ? this.queued[0]! : Buffer.concat(this.queued, this.queuedBytes);
      this.queued = [];
      this.queuedBytes = 0;
      if (this.controller.paused) this.controller.resume();
      return Promise.resolve({ value: all, done: false });
    }
    if (this.failure) return Promise.reject(this.failure.error);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.reader = resolve;
    });
  }

  /** The reader stopped: the rest of the answer is not wanted. */
  return(): Promise<IteratorResult<Buffer>> {
    this.cancel();
    return Promise.resolve({ value: undefined, done: true });
  }

  /** Aborts the request while its answer is still coming (the connection is closed, not reused). */
  cancel(): void {
    if (!this.ended && !this.failure) this.controller.abort(new Error('the answer was no longer read'));
  }

  /** The whole body as text (an error answer's). */
  async text(): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of this) chunks.push(chunk);
    return Buffer.concat(chunks).toString('utf8');
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/** A request whose answer is read as it arrives: its status and headers, then its body's chunks. */
function requestStreamed(
  pool: Pool,
  options: Dispatcher.DispatchOptions,
  signal: AbortSignal,
): Promise<AnswerHead & { body: BodyChunks }> {
  return new Promise((resolve, reject) => {
    let body: BodyChunks | undefined;
    dispatchWithSignal(pool, options, signal, {
      onResponseStart(controller, statusCode, headers) {
        body = new BodyChunks(controller);
        resolve({ statusCode, headers, body });
      },
      onResponseData(_controller, chunk) {
        body?.push(chunk);
      },
      onResponseEnd() {
        body?.end();
      },
      onResponseError(_controller, error) {
        if (body) body.fail(error);
        else reject(error);
      },
    });
  });
}

/** Tokens estimated from sizes (about four bytes a token), for an answer whose upstream reported no usage. */
function estimatedUsage(call: WireCall, outputTokens: number): Usage {
  return { inputTokens: Math.ceil(call.body.length / 4), outputTokens, estimated: true };
}

/**
 * The pass-through path for one provider: a chat in the provider's own protocol, sent as the client's
 * bytes (routing's fields set) on a pooled keep-alive connection, its answer forwarded as it arrives.
 * Errors become SwitchboardErrors through the one mapping every adapter uses, so routing's retries,
 * breakers and fallbacks treat this path as they treat the SDK's.
 */
export function createRelay(config: ProviderConfig, wire: Wire): Relay & { close(): Promise<void> } {
  const endpoint = wire.endpoint(config);
  // Answers name their model as every answer of Switchboard's API does: `provider/model`.
  const modelPrefix = `${config.id}/`;
  let pool: Pool | undefined;

  async function* send(call: WireCall, ctx: CallContext): AsyncGenerator<WireChunk> {
    pool ??= createPool(endpoint.origin, config);
    const options: Dispatcher.DispatchOptions = {
      method: 'POST',
      path: endpoint.path(call.model),
      headers: wire.headers(config, ctx.apiKey, call),
      body: wire.body(call),
    };
    let response: (AnswerHead & { body: BodyChunks }) | undefined;
    // Status and headers, once the upstream has answered (either way of reading it).
    let answered: AnswerHead | undefined;
    let finished = false;
    try {
      if (!call.stream) {
        const answer = await requestWhole(pool, options, ctx.signal, (head) => {
          answered = head;
        });
        finished = true;
        const { statusCode, headers } = answered!;
        if (statusCode < 200 || statusCode >= 300) {
          throw new UpstreamAnswerError(statusCode, toHeaders(headers), answer.toString('utf8'));
        }
        const contentType = String(headers['content-type'] ?? 'application/json');
        const members = findMembers(answer, ANSWER_MEMBERS);
        if (!members) throw new SyntaxError('the answer is not a JSON object');
        const usage = parseObjectAt(answer, members.get('usage')?.start ?? -1);
        yield {
          type: 'wire',
          bytes: prefixStringAt(answer, members.get('model'), modelPrefix),
          contentType,
          usage: (usage && wire.usageOf(usage)) ?? estimatedUsage(call, Math.ceil(answer.length / 4)),
          last: true,
        };
        return;
      }
      response = await requestStreamed(pool, options, ctx.signal);
      answered = response;
      const { statusCode, headers, body } = response;
      if (statusCode < 200 || statusCode >= 300) {
        throw new UpstreamAnswerError(statusCode, toHeaders(headers), await body.text());
      }
      const contentType = String(headers['content-type'] ?? 'text/event-stream');
      const reader = wire.reader(call);
      const runs = new EventRuns();
      // Held back until an event with output is there: comments and pings alone must not count as the
      // answer having begun, or an error right after them could no longer fall back to another provider.
      let held: Buffer[] = [];
      const forward = (run: Buffer): Buffer | undefined => {
        const out = prefixMemberStrings(reader.read(run), 'model', modelPrefix);
        if (reader.outputEvents === 0 && !reader.ended) {
          held.push(out);
          return undefined;
        }
        if (held.length > 0) {
          held.push(out);
          const all = Buffer.concat(held);
          held = [];
          return all;
        }
        return out.length > 0 ? out : undefined;
      };
      // The run with the terminal event waits for the body's end (the same packet, as a rule), so the
      // connection goes back to the pool whole; it then carries the usage to accounting.
      let final: Buffer[] | undefined;
      for await (const chunk of body) {
        const run = runs.push(chunk);
        if (run.length === 0) continue;
        const out = forward(run);
        if (final) {
          if (out) final.push(out);
        } else if (reader.ended) final = out ? [out] : [];
        else if (out) yield { type: 'wire', bytes: out, contentType };
      }
      // A last event without its blank line, as some servers end a stream.
      const rest = runs.rest();
      const out = rest && forward(rest);
      if (final) {
        if (out) final.push(out);
      } else if (reader.ended) final = out ? [out] : [];
      else if (out) yield { type: 'wire', bytes: out, contentType };
      if (!final) {
        throw new IncompleteStreamError(`it ended without its last event after ${reader.outputEvents} events`);
      }
      finished = true;
      yield {
        type: 'wire',
        bytes: final.length === 1 ? final[0]! : Buffer.concat(final),
        contentType,
        usage: reader.usage ?? estimatedUsage(call, reader.outputEvents),
        last: true,
      };
    } catch (error) {
      throw toProviderError(error, {
        config,
        apiKey: ctx.apiKey,
        operation: 'chat',
        model: call.model,
        responseStarted: answered !== undefined && answered.statusCode < 300,
        response: answered && { status: answered.statusCode, headers: toHeaders(answered.headers) },
        aborted: abortCause(ctx.signal),
        signal: ctx.signal,
      });
    } finally {
      // A caller that stopped reading (or a failure) leaves the body unread: release the socket.
      if (!finished) response?.body.cancel();
    }
  }

  return {
    protocol: wire.protocol,
    send,
    async close() {
      await pool?.destroy();
    },
  };
}
