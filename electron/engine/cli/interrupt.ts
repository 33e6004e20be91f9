import { constants } from 'node:os';

/**
 * Calls `onSignal` on the first of `signals` (Ctrl-C; a service manager's SIGTERM) and ends the process on
 * a second one, as a shell user expects; the returned function stops listening. The listener stays
 * registered, where `process.once` would remove it on the first signal: signal-exit, which node-llama-cpp's
 * dependencies load with the first local model, re-raises a signal that no listener but its own is left to
 * handle, and the process would die before its cleanup ran (a server's record and WAL left behind, a
 * cancelled job never marked).
 */
export function onInterrupt(
  onSignal: (signal: NodeJS.Signals) => void,
  signals: readonly NodeJS.Signals[] = ['SIGINT'],
): () => void {
  let received = false;
  const listener = (signal: NodeJS.Signals) => {
    if (received) process.exit(128 + (constants.signals[signal] ?? 0));
    received = true;
    onSignal(signal);
  };
  for (const signal of signals) process.on(signal, listener);
  return () => {
    for (const signal of signals) process.off(signal, listener);
  };
}
