import type { SwitchboardApi } from '#contract/api.ts';
import type { SwitchboardBridge } from '#contract/bridge.ts';
import { createHttpTransport } from './http-transport.ts';
import { createIpcTransport } from './ipc-transport.ts';

declare global {
  interface Window {
    /** Present in the Electron app (put there by the preload), absent in browser mode. */
    switchboard?: SwitchboardBridge;
  }
}

/** True inside the desktop app; false when `switchboard serve` serves the page to a browser. */
export const isDesktop = typeof window !== 'undefined' && window.switchboard !== undefined;

/** Fired when the server answers 401 in browser mode: the session ended (expired, or a new API token). */
export const SESSION_ENDED_EVENT = 'switchboard:session-ended';

/** The one client every pane uses. Nothing outside this folder knows which transport it is. */
export const api: SwitchboardApi = window.switchboard
  ? createIpcTransport(window.switchboard)
  : createHttpTransport({ onUnauthorized: () => window.dispatchEvent(new Event(SESSION_ENDED_EVENT)) });
