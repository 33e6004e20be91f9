import { useId, useState } from 'react';
import type { ShownError } from '../lib/errors.ts';
import { useSettings } from '../stores/settings.ts';

/**
 * A failure as a person reads it: what happened and what to do. The engine's code and message are
 * behind Details, for a bug report or a curious reader.
 */
export function ErrorNote({ error, onDismiss }: { error: ShownError; onDismiss?: () => void }) {
  const label = useSettings((state) => state.providers.find((p) => p.id === error.providerId)?.label);
  const [open, setOpen] = useState(false);
  const detailsId = useId();
  const message = error.message.replaceAll('{provider}', label ?? (error.providerId ? 'The provider' : 'The service'));
  return (
    <div className="error-note" role="alert">
      <div className="error-main">
        <span>{message}</span>
        <button
          type="button"
          className="link small"
          aria-expanded={open}
          aria-controls={detailsId}
          onClick={() => setOpen(!open)}
        >
          {open ? 'Hide details' : 'Details'}
        </button>
        {open && (
          <div id={detailsId} className="error-details small">
            <code className="error-code">{error.code}</code> {error.detail}
          </div>
        )}
      </div>
      {onDismiss && (
        <button type="button" className="ghost small" onClick={onDismiss} aria-label="Dismiss error">
          ×
        </button>
      )}
    </div>
  );
}
