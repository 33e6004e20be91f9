import { useEffect } from 'react';
import { api } from '../api/client.ts';
import { type Toast, useNotices } from '../stores/notices.ts';
import { useSettings } from '../stores/settings.ts';

/** How long good news stays on screen. */
const INFO_VISIBLE_MS = 8_000;
/** Waits before listening again after the connection to the engine's events broke, growing to the last. */
const RECONNECT_MS = [1_000, 2_000, 5_000, 15_000, 30_000];

/**
 * Listens to the engine's operational events while the app is open (GET /api/events in a browser, a
 * port from main in the desktop app), and keeps listening across a dropped connection.
 */
function useOperationalEvents(): void {
  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    void (async () => {
      let failures = 0;
      while (!signal.aborted) {
        try {
          for await (const record of api.events(signal)) {
            failures = 0;
            const { providers } = useSettings.getState();
            const labelOf = (id: string) => providers.find((p) => p.id === id)?.label ?? id;
            useNotices.getState().receive(record, labelOf);
            // What the event changed (a provider's health, a rejected file) shows in Settings at once.
            void useSettings.getState().load();
          }
        } catch {
          // Dropped or refused (a sign-out ends the app, and this loop with it): try again shortly.
        }
        const wait = RECONNECT_MS[Math.min(failures++, RECONNECT_MS.length - 1)];
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    })();
    return () => controller.abort();
  }, []);
}

function ToastItem({ toast }: { toast: Toast }) {
  const dismiss = useNotices((state) => state.dismiss);
  useEffect(() => {
    if (toast.level !== 'info') return;
    const timer = setTimeout(() => dismiss(toast.id), INFO_VISIBLE_MS);
    return () => clearTimeout(timer);
  }, [toast.id, toast.level, dismiss]);
  return (
    <div className={`toast toast-${toast.level}`} role={toast.level === 'warning' ? 'alert' : 'status'}>
      <div className="toast-body">
        <strong className="toast-title">{toast.title}</strong>
        <span className="toast-text">{toast.text}</span>
        {toast.count > 1 && <span className="muted small">{toast.count} times</span>}
      </div>
      <button
        type="button"
        className="ghost small"
        onClick={() => dismiss(toast.id)}
        aria-label={`Dismiss: ${toast.title}`}
      >
        ×
      </button>
    </div>
  );
}

/** What happened to providers, keys, budgets and the configuration while the app is open, as toasts. */
export function Toasts() {
  useOperationalEvents();
  const toasts = useNotices((state) => state.toasts);
  return (
    <section className="toasts" aria-label="Notifications">
      {toasts.map((toast) => (
        <ToastItem key={toast.id} toast={toast} />
      ))}
    </section>
  );
}
