/** The two moments a lone request's next step is waited for. */
type Moment = 'started' | 'ended';

/**
 * Busy polling for a lone request: the event loop keeps turning (an immediate each turn, so the poll for
 * I/O does not sleep) for up to `windowMs` after a request arrives and after one ends, while at most one
 * request is in flight, and only where that has paid lately.
 *
 * A request alone meets the machine idle at each of its steps: its bytes arrive, the upstream's answer
 * arrives, the client's next request arrives. When the loop sleeps in the poll, each of those is a wake-up
 * of an idle CPU, which on a virtual machine (and out of a CPU's deeper sleep states) costs tens of
 * microseconds more than the work itself; a gateway on loopback pays it at every step. A short spin
 * instead of the sleep takes the answer and the next request on a CPU that is still running (one client,
 * bench/RESULTS.md: about 0.1 ms less per request).
 *
 * What it costs is a core's time that other processes on the machine (the clients, a local model's
 * threads, the upstream) could have used, so it spins only where the wait is likely to end within the
 * window: after an arrival when the last request that arrived ended within it, after an end when the
 * next request came within it last time (as Linux's haltpoll grows and shrinks its window on what its
 * last polls caught). A client that sends a request every few milliseconds, or an upstream that takes
 * longer than the window (any cloud provider), gets no spin. With more than one request in flight the
 * loop has work between them anyway, so there is none either. A window of 0 turns it off.
 */
export class BusyPoll {
  private inFlight = 0;
  private until = 0;
  private turning = false;
  /** The last request event and when it came, and how long the wait after each kind took the last time. */
  private lastMoment: Moment | undefined;
  private lastAt = 0;
  private readonly lastWaitMs: Record<Moment, number> = { started: 0, ended: 0 };
  private readonly windowMs: () => number;

  /** `windowMs` is read at each request: a configuration change applies at once. */
  constructor(windowMs: () => number) {
    this.windowMs = windowMs;
  }

  /** A request arrived. */
  started(): void {
    this.inFlight++;
    this.after('started');
  }

  /** A request ended (answered, failed or left by its client). */
  ended(): void {
    this.inFlight--;
    this.after('ended');
  }

  private after(moment: Moment): void {
    const windowMs = this.windowMs();
    if (windowMs <= 0) return;
    const now = performance.now();
    if (this.lastMoment) this.lastWaitMs[this.lastMoment] = now - this.lastAt;
    this.lastMoment = moment;
    this.lastAt = now;
    // A wait like the last one of its kind would outlast the window: sleep through it.
    if (this.lastWaitMs[moment] > windowMs) {
      this.until = 0;
      return;
    }
    this.until = now + windowMs;
    if (this.turning) return;
    this.turning = true;
    setImmediate(this.turn);
  }

  private readonly turn = (): void => {
    if (this.inFlight <= 1 && performance.now() < this.until) setImmediate(this.turn);
    else this.turning = false;
  };
}
