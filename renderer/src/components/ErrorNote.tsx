import type { ShownError } from '../lib/errors.ts';

/** A failure as a person reads it: what happened and what to do, with the engine's code for reference. */
export function ErrorNote({ error, onDismiss }: { error: ShownError; onDismiss?: () => void }) {
  return (
    <div className="error-note" role="alert">
      <div>
        <strong className="error-code">{error.code}</strong>
        <span>{error.message}</span>
      </div>
      {onDismiss && (
        <button type="button" className="ghost small" onClick={onDismiss} aria-label="Dismiss error">
          ×
        </button>
      )}
    </div>
  );
}
