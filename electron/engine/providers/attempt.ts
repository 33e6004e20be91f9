import { estimateChatUsage } from '../accounting/tokens.ts';
import type { ChatStreamEvent } from '../contract/chat.ts';
import type { SwitchboardError } from '../contract/errors.ts';
import { abortCause, IncompleteStreamError, type Operation, toProviderError } from './http-errors.ts';
import type { CallContext, ChatCall, ProviderConfig } from './types.ts';

export interface AttemptOptions {
  config: ProviderConfig;
  ctx: CallContext;
  operation: Operation;
  model?: string;
}

/**
 * How long the SDKs' own request timers are set: beyond any limit routing sets. The one timeout of a
 * routed call is routing's timeout stage, which aborts ctx.signal (with an AttemptTimeout reason); calls
 * outside routing (health checks, key tests) pass a signal with their own limit.
 */
export const SDK_TIMEOUT_MS = 24 * 3_600_000;

/**
 * One call to one upstream: the signal that bounds it (the caller's, which routing's timeout stage
 * aborts when a limit runs out), the answer's status and headers remembered (`answered`, or through
 * `fetch` for SDKs that take no per-request signal or drop headers), and the translation of whatever it
 * threw into a SwitchboardError that knows whether the caller left or a timeout fired.
 */
export class Attempt {
  readonly #options: AttemptOptions;
  readonly #own = new AbortController();
  #response: { status: number; headers: Headers } | undefined;
  #responseStarted = false;
  #finished = false;
  // A listener on the caller's signal rather than AbortSignal.any: any() keeps weak references and a
  // finalization record per signal, a measurable share of each request's garbage collection.
  readonly #cancel = () => this.#own.abort(this.#options.ctx.signal.reason);

  constructor(options: AttemptOptions) {
    this.#options = options;
    const { signal } = options.ctx;
    if (signal.aborted) this.#cancel();
    else signal.addEventListener('abort', this.#cancel, { once: true });
  }

  /** Aborts when the caller cancels or a timeout fires; pass it to every upstream request of the attempt. */
  get signal(): AbortSignal {
    return this.#own.signal;
  }

  /** A fetch for SDK clients built per attempt: the SDK's own signal joined to this attempt's, the answer remembered. */
  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const signal = init?.signal ? AbortSignal.any([init.signal, this.signal]) : this.signal;
    return this.answered(await fetch(input, { ...init, signal }));
  };

  /** The upstream answered (headers in, body not yet read): remembered for error translation. */
  answered(response: Response): Response {
    this.#response = response;
    if (response.ok) this.#responseStarted = true;
    return response;
  }

  /** The call ended as its protocol says it ends: nothing upstream is left to release. */
  finished(): void {
    this.#finished = true;
  }

  fail(error: unknown): SwitchboardError {
    const { config, ctx, operation, model } = this.#options;
    return toProviderError(error, {
      config,
      apiKey: ctx.apiKey,
      operation,
      model,
      responseStarted: this.#responseStarted,
      response: this.#response,
      aborted: abortCause(ctx.signal),
      signal: ctx.signal,
    });
  }

  /** Releases the upstream request unless it finished (the caller left, or it failed). */
  dispose(): void {
    this.#options.ctx.signal.removeEventListener('abort', this.#cancel);
    // Aborting a finished call would only build a DOMException and run the SDK's and fetch's listeners.
    if (!this.#finished) this.#own.abort();
  }
}

/** Runs one non-streaming upstream call under an Attempt. */
export async function runAttempt<T>(options: AttemptOptions, run: (attempt: Attempt) => Promise<T>): Promise<T> {
  const attempt = new Attempt(options);
  try {
    const result = await run(attempt);
    attempt.finished();
    return result;
  } catch (error) {
    throw attempt.fail(error);
  } finally {
    attempt.dispose();
  }
}

/**
 * The shared shell around every adapter's chat stream: error translation, a stream that ends without
 * its terminal event becoming STREAM_INTERRUPTED, and usage estimated where the provider gave none.
 * `events` yields the protocol's events and a `finish` only when the protocol said it was done.
 */
export async function* streamChat(
  config: ProviderConfig,
  call: ChatCall,
  ctx: CallContext,
  events: (attempt: Attempt) => AsyncIterable<ChatStreamEvent>,
): AsyncGenerator<ChatStreamEvent, void, undefined> {
  const attempt = new Attempt({ config, ctx, operation: 'chat', model: call.model });
  let output = '';
  let count = 0;
  try {
    for await (const event of events(attempt)) {
      if (event.type === 'finish') {
        attempt.finished();
        yield {
          ...event,
          model: event.model || call.model,
          usage: event.usage ?? estimateChatUsage(call.messages, output),
        };
        return;
      }
      output += event.type === 'text' ? event.text : `${event.name ?? ''}${event.argumentsDelta}`;
      count++;
      yield event;
    }
    throw new IncompleteStreamError(`it ended without a finish after ${count} events`);
  } catch (error) {
    throw attempt.fail(error);
  } finally {
    attempt.dispose();
  }
}
