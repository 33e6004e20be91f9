import { create } from 'zustand';
import { noticeOf, type OperationalNotice } from '#contract/operational-notices.ts';
import type { OperationalEventName, OperationalEventRecord } from '#contract/operations.ts';

export interface Toast extends OperationalNotice {
  /** Unique per toast shown: a replaced toast gets a new one (and its own time on screen). */
  id: number;
  event: OperationalEventName;
  /** How often this very event came while the toast was up. */
  count: number;
}

/** More at once would cover the pane; the oldest go first. */
const MOST_TOASTS = 4;

interface NoticesState {
  toasts: Toast[];
  /** Shows an operational event as a toast, one per topic: a repeat counts up instead of stacking. */
  receive(record: OperationalEventRecord, labelOf?: (providerId: string) => string): void;
  dismiss(id: number): void;
}

let nextId = 1;

/**
 * The toasts of operational events. Warnings stay until dismissed; good news ("answers again") is
 * shown only where it ends a warning on screen, replacing it, and hides by itself — a change the
 * user just made in Settings is not news to them.
 */
export const useNotices = create<NoticesState>((set) => ({
  toasts: [],

  receive(record, labelOf) {
    const notice = noticeOf(record, labelOf);
    set(({ toasts }) => {
      const shown = toasts.find((toast) => toast.topic === notice.topic);
      if (notice.level === 'info' && shown?.level !== 'warning') return { toasts };
      if (shown?.event === record.event) {
        return {
          toasts: toasts.map((toast) => (toast === shown ? { ...toast, ...notice, count: toast.count + 1 } : toast)),
        };
      }
      const toast: Toast = { ...notice, id: nextId++, event: record.event, count: 1 };
      const others = toasts.filter((t) => t !== shown);
      return { toasts: [...others, toast].slice(-MOST_TOASTS) };
    });
  },

  dismiss(id) {
    set(({ toasts }) => ({ toasts: toasts.filter((toast) => toast.id !== id) }));
  },
}));
