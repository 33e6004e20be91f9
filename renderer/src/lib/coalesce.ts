/**
 * Wraps a load so overlapping calls share one run instead of each sending its own requests. A call made
 * while a run is under way gets one more run after it (shared by every call made meanwhile), so a reload
 * asked for after a change still sees that change.
 *
 * Why it matters: every pane loads what it shows when it mounts, and in browser mode each request holds
 * one of the six connections Chromium allows per server; a few slow loads fired twice used them all, and
 * a click (Cloud fallback off) waited behind them.
 */
export function coalesce(work: () => Promise<void>): () => Promise<void> {
  let current: Promise<void> | undefined;
  let next: Promise<void> | undefined;
  const start = (): Promise<void> => {
    const run = work().finally(() => {
      if (current === run) current = undefined;
    });
    current = run;
    return run;
  };
  return () => {
    if (!current) return start();
    next ??= current.then(() => {
      next = undefined;
      return start();
    });
    return next;
  };
}
