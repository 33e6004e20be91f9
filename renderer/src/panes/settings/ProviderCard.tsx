import { useState } from 'react';
import type { ProviderSummary } from '#contract/api.ts';
import { ErrorNote } from '../../components/ErrorNote.tsx';
import { Icon } from '../../components/Icon.tsx';
import { Switch } from '../../components/Switch.tsx';
import { fromMessage } from '../../lib/errors.ts';
import { useSettings } from '../../stores/settings.ts';
import { ProviderForm } from './ProviderForm.tsx';

function KeyEditor({ provider }: { provider: ProviderSummary }) {
  const { addKey, removeKey, testKey, keyTests } = useSettings();
  const [draft, setDraft] = useState('');
  const result = keyTests[provider.id];
  return (
    <div className="keys">
      <div className="muted small">API keys</div>
      {provider.keys.length === 0 ? (
        <p className="muted small">No key yet.</p>
      ) : (
        <ul className="key-list">
          {provider.keys.map((masked, index) => (
            <li key={`${masked}-${index.toString()}`}>
              <code>{masked}</code>
              <button
                type="button"
                className="ghost small"
                aria-label={`Remove key ${masked} of ${provider.label}`}
                onClick={() => void removeKey(provider.id, index)}
              >
                <Icon name="trash" size={14} />
              </button>
            </li>
          ))}
        </ul>
      )}
      <form
        className="key-form"
        onSubmit={async (event) => {
          event.preventDefault();
          if (await addKey(provider.id, draft.trim())) setDraft('');
        }}
      >
        <input
          type="password"
          autoComplete="off"
          spellCheck={false}
          aria-label={`New API key for ${provider.label}`}
          placeholder="Paste an API key"
          value={draft}
          onChange={(event) => setDraft(event.target.value)}
        />
        <button type="submit" className="small" disabled={draft.trim().length < 8}>
          Add
        </button>
        <button
          type="button"
          className="small"
          disabled={provider.keys.length === 0 && draft.trim().length < 8}
          onClick={() => void testKey(provider.id, draft.trim() || undefined)}
        >
          Test
        </button>
      </form>
      {result?.ok && (
        <p className="ok-text small" role="status">
          ✓ {result.message}
        </p>
      )}
      {result && !result.ok && <ErrorNote error={fromMessage(result.message, provider.id)} />}
    </div>
  );
}

/** "60 requests/min · 100,000 tokens/min · 4 at once, queued up to 30 s", or "none". */
function describeLimits(limits: ProviderSummary['limits']): string {
  const parts: string[] = [];
  if (limits.rpm !== undefined) parts.push(`${limits.rpm.toLocaleString()} requests/min`);
  if (limits.tpm !== undefined) parts.push(`${limits.tpm.toLocaleString()} tokens/min`);
  if (limits.concurrency !== undefined) parts.push(`${limits.concurrency} at once`);
  if (parts.length === 0) return 'none';
  const overflow =
    limits.onLimit === 'queue' ? `queued up to ${Math.round(limits.maxQueueMs / 1000)} s` : 'skipped when full';
  return `${parts.join(' · ')}, ${overflow}`;
}

export function ProviderCard({ provider, position }: { provider: ProviderSummary; position: number }) {
  const setEnabled = useSettings((state) => state.setEnabled);
  const cloudFallback = useSettings((state) => state.settings?.cloudFallback ?? false);
  const removeProvider = useSettings((state) => state.removeProvider);
  const [editing, setEditing] = useState(false);
  if (editing) return <ProviderForm provider={provider} onDone={() => setEditing(false)} />;
  return (
    <article className="provider-card" aria-label={provider.label}>
      <header>
        <span className="position" title="Position in the order">
          {position}
        </span>
        <div className="provider-name">
          <strong>{provider.label}</strong>
          <span className="muted small">
            {provider.onMachine ? 'on this machine' : (provider.baseUrl ?? provider.vendor)} · {provider.kind}
          </span>
        </div>
        {provider.health && <span className={`health health-${provider.health}`}>{provider.health}</span>}
        <Switch
          checked={provider.enabled}
          onChange={(enabled) => void setEnabled(provider.id, enabled)}
          label={`Use ${provider.label}`}
          visibleLabel={provider.enabled ? 'On' : 'Off'}
        />
      </header>
      {!provider.usable && provider.enabled && !provider.onMachine && !cloudFallback && (
        <p className="muted small">Not used while cloud fallback is off.</p>
      )}
      <div className="provider-models">
        <span className="muted small">Models</span>
        {provider.models.length === 0 ? (
          <span className="muted small">none listed</span>
        ) : (
          provider.models.map((model) => (
            <span key={model} className={model === provider.defaultModel ? 'chip default' : 'chip'}>
              {model}
            </span>
          ))
        )}
      </div>
      <div className="muted small">
        Capabilities: {provider.capabilities.join(', ') || '—'} · weight {provider.weight}
      </div>
      <div className="muted small">Limits: {describeLimits(provider.limits)}</div>
      {!provider.onMachine && <KeyEditor provider={provider} />}
      {provider.kind !== 'local' && (
        <div className="form-actions">
          <button type="button" className="small" onClick={() => setEditing(true)}>
            Edit
          </button>
          <button
            type="button"
            className="ghost small danger-text"
            onClick={() => {
              if (confirm(`Remove ${provider.label} and its stored keys?`)) void removeProvider(provider.id);
            }}
          >
            Remove
          </button>
        </div>
      )}
    </article>
  );
}
