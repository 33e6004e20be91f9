/**
 * Busy polling for a lone request: the event loop keeps turning (an immediate each turn, so the poll for
 * I/O does not sleep) for `windowMs` after a request arrives and after one ends, while at most one request
 * is in flight.
 *
 * A request alone meets the machine idle at each of its steps: its bytes arrive, the upstream's answer
 * arrives, the client's next request arrives. When the loop sleeps in the poll, each of those is a wake-up
 * of an idle CPU, which on a virtual machine (and out of a CPU's deeper sleep states) costs tens of
 * microseconds more than the work itself; a gateway on loopback pays it at every step. A short spin
 * instead of the sleep takes the answer and the next request on a CPU that is still running (one client,
 * bench/RESULTS.md: about 0.1 ms less per request). It costs at most about two windows of one core's time
 * per lone request. With more than one request in flight the loop has work between them anyway, and a spin
 * would only take the CPU from what else runs on the machine (a local model's threads, the clients), so
 * there is none. A window of 0 turns it off.
 */
export class BusyPoll {
  private inFlight = 0;
  private until = 0;
  private turning = false;
  private readonly windowMs: () => number;

  /** `windowMs` is read at each request: a configuration change applies at once. */
  constructor(windowMs: () => number) {
    this.windowMs = windowMs;
  }

  /** A request arrived. */
  started(): void {
    this.inFlight++;
    this.keepTurning();
  }

  /** A request ended (answered, failed or left by its client). */
  ended(): void {
    this.inFlight--;
    this.keepTurning();
  }

  private keepTurning(): void {
    const windowMs = this.windowMs();
    if (windowMs <= 0) return;
    this.until = performance.now() + windowMs;
    if (this.turning) return;
    this.turning = true;
    setImmediate(this.turn);
  }

  private readonly turn = (): void => {
    if (this.inFlight <= 1 && performance.now() < this.until) setImmediate(this.turn);
    else this.turning = false;
  };
}
