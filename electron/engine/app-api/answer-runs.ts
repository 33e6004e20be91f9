import { AsyncQueue } from '../../../native/llama/async-queue.ts';
import type { ChatSendEvent, RouteView } from '../contract/api.ts';

/**
 * One answer being written. It belongs to the engine, not to the window that asked for it: the window
 * may look at another conversation (its stream ends) and come back (it follows again, from the text so
 * far), while the answer goes on being written and is saved when it is complete. Only stop() ends it early.
 */
export class AnswerRun {
  readonly conversationId: string;
  readonly assistantMessageId: string;
  /** The answer so far, for a window that starts following mid-way. */
  text = '';
  route: RouteView | null = null;
  /** The answer is saved; what may follow (a new conversation's title) no longer holds the conversation. */
  answered = false;
  private readonly controller = new AbortController();
  private readonly followers = new Set<AsyncQueue<ChatSendEvent>>();
  private outcome?: { error?: unknown };
  readonly done: Promise<void>;

  constructor(
    conversationId: string,
    assistantMessageId: string,
    produce: (signal: AbortSignal) => AsyncIterable<ChatSendEvent>,
  ) {
    this.conversationId = conversationId;
    this.assistantMessageId = assistantMessageId;
    this.done = this.pump(produce(this.controller.signal));
  }

  private async pump(events: AsyncIterable<ChatSendEvent>): Promise<void> {
    try {
      for await (const event of events) {
        if (event.type === 'text') this.text += event.text;
        if (event.type === 'route') this.route = event.route;
        if (event.type === 'saved') this.answered = true;
        for (const follower of this.followers) follower.push(event);
      }
      this.outcome = {};
      for (const follower of this.followers) follower.end();
    } catch (error) {
      this.outcome = { error };
      this.answered = true;
      for (const follower of this.followers) follower.fail(error);
    }
  }

  get finished(): boolean {
    return this.outcome !== undefined;
  }

  /** Stops writing: what was written is saved with a note that it was stopped. */
  stop(): void {
    this.controller.abort();
  }

  /**
   * The events from now on, until the answer is complete (or fails: then the iteration throws its error).
   * With `resume`, first one event holding the answer so far, for a window that comes back mid-way.
   * The follower is registered at once, so nothing is missed before the caller starts reading; `signal`
   * ends only this follower, the answer goes on.
   */
  follow(signal: AbortSignal, options: { resume?: boolean } = {}): AsyncIterable<ChatSendEvent> {
    const queue = new AsyncQueue<ChatSendEvent>();
    if (options.resume) {
      queue.push({
        type: 'resume',
        conversationId: this.conversationId,
        assistantMessageId: this.assistantMessageId,
        text: this.text,
        route: this.route,
      });
    }
    if (this.outcome) {
      if (this.outcome.error === undefined) queue.end();
      else queue.fail(this.outcome.error);
      return queue;
    }
    const leave = () => {
      this.followers.delete(queue);
      queue.end();
    };
    this.followers.add(queue);
    signal.addEventListener('abort', leave, { once: true });
    void this.done.then(() => signal.removeEventListener('abort', leave));
    return queue;
  }
}

/** The answers being written now, one per conversation at most. */
export class AnswerRuns {
  private readonly runs = new Map<string, AnswerRun>();

  /** The answer being written in a conversation, until it is saved. */
  get(conversationId: string): AnswerRun | undefined {
    const run = this.runs.get(conversationId);
    return run && !run.answered ? run : undefined;
  }

  isAnswering(conversationId: string): boolean {
    return this.get(conversationId) !== undefined;
  }

  start(
    conversationId: string,
    assistantMessageId: string,
    produce: (signal: AbortSignal) => AsyncIterable<ChatSendEvent>,
  ): AnswerRun {
    const run = new AnswerRun(conversationId, assistantMessageId, produce);
    this.runs.set(conversationId, run);
    void run.done.then(() => {
      if (this.runs.get(conversationId) === run) this.runs.delete(conversationId);
    });
    return run;
  }

  /** Stops every answer and waits until each has saved what it had (closing the app). */
  async close(): Promise<void> {
    const runs = [...this.runs.values()];
    for (const run of runs) run.stop();
    await Promise.all(runs.map((run) => run.done));
  }
}
