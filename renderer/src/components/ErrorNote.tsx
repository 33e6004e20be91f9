import type { ShownError } from '../lib/errors.ts';
import { useSettings } from '../stores/settings.ts';
import { DetailsToggle } from './DetailsToggle.tsx';

/**
 * A failure as a person reads it: what happened and what to do. The engine's code and message are
 * behind Details, for a bug report or a curious reader.
 */
export function ErrorNote({ error, onDismiss }: { error: ShownError; onDismiss?: () => void }) {
  const label = useSettings((state) => state.providers.find((p) => p.id === error.providerId)?.label);
  const message = error.message.replaceAll('{provider}', label ?? (error.providerId ? 'The provider' : 'The service'));
  return (
    <div className="error-note" role="alert">
      <div className="error-main">
        <span>{message}</span>
        <DetailsToggle>
          <code className="error-code">{error.code}</code> {error.detail}
        </DetailsToggle>
      </div>
      {onDismiss && (
        <button type="button" className="ghost small" onClick={onDismiss} aria-label="Dismiss error">
          ×
        </button>
      )}
    </div>
  );
}
