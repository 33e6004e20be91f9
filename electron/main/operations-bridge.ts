import { noticeOf } from '../engine/contract/operational-notices.ts';
import type { OperationalEventListener } from '../engine/operations/feed.ts';
import type { StreamPortMessage } from './ipc-channels.ts';

/** The engine's one feed of operational events (bootstrap's OperationsFeed). */
export interface OperationalEventFeed {
  subscribe(listener: OperationalEventListener): () => void;
}

/** The main-process end of a MessagePort (Electron's MessagePortMain, or Node's in tests). */
export interface EventPort {
  postMessage(message: StreamPortMessage): void;
  on(event: 'close', listener: () => void): unknown;
  start(): void;
}

/** Sends every later operational event down the renderer's port, until the page closes it. */
export function forwardOperationalEvents(feed: OperationalEventFeed, port: EventPort): void {
  const unsubscribe = feed.subscribe((record) => port.postMessage({ type: 'event', value: record }));
  port.on('close', unsubscribe);
  port.start();
}

export interface DesktopNotifierOptions {
  /** True while the app's window has the focus: the page's own toast is enough then. */
  windowFocused(): boolean;
  /** Shows a desktop notification (Electron's Notification). */
  show(title: string, body: string): void;
  labelOf?(providerId: string): string;
  now?(): number;
}

/** The same warning on the same thing is not notified again within this time. */
const REPEAT_QUIET_MS = 60_000;

/**
 * Warnings as desktop notifications while the window is in the background (breaker open, key refused,
 * provider down, budget, a rejected providers file); the page shows every event as a toast itself.
 */
export function notifyOperationalWarnings(feed: OperationalEventFeed, options: DesktopNotifierOptions): () => void {
  const now = options.now ?? Date.now;
  const lastShown = new Map<string, number>();
  return feed.subscribe((record) => {
    const notice = noticeOf(record, options.labelOf);
    if (notice.level !== 'warning' || options.windowFocused()) return;
    const key = `${notice.topic} ${record.event}`;
    const last = lastShown.get(key);
    if (last !== undefined && now() - last < REPEAT_QUIET_MS) return;
    lastShown.set(key, now());
    options.show(notice.title, notice.text);
  });
}
