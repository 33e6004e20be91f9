import { estimateChatUsage } from '../accounting/tokens.ts';
import type { ChatStreamEvent } from '../contract/chat.ts';
import type { SwitchboardError } from '../contract/errors.ts';
import { type AbortCause, IncompleteStreamError, type Operation, toProviderError } from './http-errors.ts';
import type { CallContext, ChatCall, ProviderConfig } from './types.ts';

export interface AttemptOptions {
  config: ProviderConfig;
  ctx: CallContext;
  operation: Operation;
  model?: string;
  /** Arms config.firstTokenTimeoutMs as well as the total timeout (streams). */
  awaitsFirstToken?: boolean;
}

/**
 * One call to one upstream: the signal that bounds it (the caller's, the total timeout, the first-token
 * timeout), the answer's status and headers remembered (`answered`, or through `fetch` for SDKs that
 * take no per-request signal or drop headers), and the translation of whatever it threw into a
 * SwitchboardError that knows which of those fired.
 */
export class Attempt {
  readonly #options: AttemptOptions;
  readonly #own = new AbortController();
  readonly #timers: NodeJS.Timeout[] = [];
  #firstTokenTimer: NodeJS.Timeout | undefined;
  #timedOut: AbortCause | undefined;
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
    const { timeoutMs, firstTokenTimeoutMs } = options.config;
    if (timeoutMs > 0) this.#timers.push(setTimeout(() => this.#timeout('timeout'), timeoutMs));
    if (options.awaitsFirstToken && firstTokenTimeoutMs > 0) {
      this.#firstTokenTimer = setTimeout(() => this.#timeout('first-token-timeout'), firstTokenTimeoutMs);
      this.#timers.push(this.#firstTokenTimer);
    }
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

  /** The first token arrived: from now on only the total timeout applies. */
  gotFirstToken(): void {
    clearTimeout(this.#firstTokenTimer);
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
      aborted: ctx.signal.aborted ? 'cancelled' : this.#timedOut,
    });
  }

  /** Stops the timers and releases the upstream request unless it finished (the caller left, or it failed). */
  dispose(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#options.ctx.signal.removeEventListener('abort', this.#cancel);
    // Aborting a finished call would only build a DOMException and run the SDK's and fetch's listeners.
    if (!this.#finished) this.#own.abort();
  }

  #timeout(cause: AbortCause): void {
    this.#timedOut ??= cause;
    this.#own.abort();
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
 * The shared shell around every adapter's chat stream: timeouts, error translation, a stream that ends
 * without its terminal event becoming STREAM_INTERRUPTED, and usage estimated where the provider gave none.
 * `events` yields the protocol's events and a `finish` only when the protocol said it was done; `streamed:
 * false` says they come from one upstream answer in one piece, with no first token to wait for.
 */
export async function* streamChat(
  config: ProviderConfig,
  call: ChatCall,
  ctx: CallContext,
  events: (attempt: Attempt) => AsyncIterable<ChatStreamEvent>,
  { streamed = true }: { streamed?: boolean } = {},
): AsyncGenerator<ChatStreamEvent, void, undefined> {
  const attempt = new Attempt({ config, ctx, operation: 'chat', model: call.model, awaitsFirstToken: streamed });
  let output = '';
  let count = 0;
  try {
    for await (const event of events(attempt)) {
      attempt.gotFirstToken();
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
