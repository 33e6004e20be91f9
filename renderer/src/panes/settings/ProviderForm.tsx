import { useId, useState } from 'react';
import type { ProviderSummary } from '#contract/api.ts';
import { ErrorNote } from '../../components/ErrorNote.tsx';
import type { ShownError } from '../../lib/errors.ts';
import { useSettings } from '../../stores/settings.ts';

/** "a, b , c" → ["a", "b", "c"]: the models as the form takes them, the first one the default. */
function modelList(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[,\n]/)
        .map((model) => model.trim())
        .filter(Boolean),
    ),
  ];
}

/**
 * A provider's settings in a form: with no `provider` it adds one of any type (but the models on this
 * machine, which are always there); with one it edits its name, address, models and key.
 */
export function ProviderForm({ provider, onDone }: { provider?: ProviderSummary; onDone: () => void }) {
  const types = useSettings((state) => state.settings?.providerTypes ?? []);
  const addProvider = useSettings((state) => state.addProvider);
  const updateProvider = useSettings((state) => state.updateProvider);
  const [type, setType] = useState(provider?.vendor ?? 'custom');
  const [label, setLabel] = useState(provider?.label ?? '');
  const [baseUrl, setBaseUrl] = useState(provider?.baseUrl ?? '');
  const [key, setKey] = useState('');
  const [models, setModels] = useState(
    provider ? [provider.defaultModel, ...provider.models].filter((m): m is string => Boolean(m)).join(', ') : '',
  );
  const [error, setError] = useState<ShownError | null>(null);
  const [saving, setSaving] = useState(false);
  const formId = useId();
  const chosen = types.find((t) => t.type === type);
  const needsAddress = !chosen?.baseUrl;
  const needsKey = !provider && (chosen?.requiresKey ?? false);
  const ready = (!needsAddress || baseUrl.trim() !== '') && (!needsKey || key.trim().length >= 8);

  async function save() {
    setSaving(true);
    const list = modelList(models);
    const settings = {
      ...(label.trim() ? { label: label.trim() } : {}),
      baseUrl: baseUrl.trim(),
      models: list,
      defaultModel: list[0] ?? '',
      ...(key.trim() ? { key: key.trim() } : {}),
    };
    const failure = provider
      ? await updateProvider({ id: provider.id, ...settings })
      : await addProvider({ type, ...settings });
    setSaving(false);
    setError(failure);
    if (!failure) onDone();
  }

  return (
    <form
      className="card provider-form"
      aria-label={provider ? `Edit ${provider.label}` : 'New provider'}
      onSubmit={(event) => {
        event.preventDefault();
        void save();
      }}
    >
      {!provider && (
        <label className="field">
          <span>Type</span>
          <select value={type} onChange={(event) => setType(event.target.value)}>
            {types.map((t) => (
              <option key={t.type} value={t.type}>
                {t.type === 'custom' ? 'Custom endpoint (OpenAI-compatible)' : t.label}
              </option>
            ))}
          </select>
        </label>
      )}
      <label className="field">
        <span>Name</span>
        <input value={label} placeholder={chosen?.label ?? 'My provider'} onChange={(e) => setLabel(e.target.value)} />
      </label>
      <label className="field">
        <span>Address{needsAddress ? '' : ' (optional)'}</span>
        <input
          type="url"
          value={baseUrl}
          placeholder={chosen?.baseUrl ?? 'https://api.example.com/v1'}
          onChange={(e) => setBaseUrl(e.target.value)}
        />
      </label>
      <label className="field">
        <span>{provider ? 'New API key (optional; needed again when the address changes)' : 'API key'}</span>
        <input
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={key}
          placeholder={needsKey ? 'Paste the API key' : 'Paste an API key, if it needs one'}
          onChange={(e) => setKey(e.target.value)}
        />
      </label>
      <label className="field">
        <span>Models (comma-separated; the first is the default)</span>
        <input
          value={models}
          placeholder="gpt-4o-mini, gpt-4o"
          aria-describedby={`${formId}-models`}
          onChange={(e) => setModels(e.target.value)}
        />
        <span id={`${formId}-models`} className="muted small">
          They appear in "Answer with" in the chat.
        </span>
      </label>
      {error && <ErrorNote error={error} onDismiss={() => setError(null)} />}
      <div className="form-actions">
        <button type="submit" className="primary small" disabled={!ready || saving}>
          {provider ? 'Save' : 'Add provider'}
        </button>
        <button type="button" className="small" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
