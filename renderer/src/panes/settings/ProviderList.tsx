import { useState } from 'react';
import type { ProviderSummary } from '#contract/api.ts';
import { Icon } from '../../components/Icon.tsx';
import { useSettings } from '../../stores/settings.ts';
import { ProviderCard } from './ProviderCard.tsx';
import { ProviderForm } from './ProviderForm.tsx';

function moved(ids: string[], from: number, to: number): string[] {
  const next = [...ids];
  const [id] = next.splice(from, 1);
  if (id !== undefined) next.splice(to, 0, id);
  return next;
}

/** Providers in the order the router tries them: drag a card, or use its up/down buttons. */
export function ProviderList() {
  const { providers, reorder } = useSettings();
  const [dragging, setDragging] = useState<string | null>(null);
  const [announcement, setAnnouncement] = useState('');
  const [adding, setAdding] = useState(false);
  const ids = providers.map((p) => p.id);

  const move = (provider: ProviderSummary, to: number) => {
    const from = ids.indexOf(provider.id);
    if (to < 0 || to >= ids.length || from === to) return;
    void reorder(moved(ids, from, to));
    setAnnouncement(`${provider.label} moved to position ${to + 1} of ${ids.length}`);
  };

  return (
    <section className="providers" aria-label="Providers">
      <div className="section-header">
        <h2>Providers</h2>
        <span className="muted small">Tried from the top. Drag to reorder, or use the arrows.</span>
        <span className="spacer" />
        {!adding && (
          <button type="button" className="small" onClick={() => setAdding(true)}>
            <Icon name="plus" size={14} /> Add provider
          </button>
        )}
      </div>
      {adding && <ProviderForm onDone={() => setAdding(false)} />}
      <div className="sr-only" aria-live="polite">
        {announcement}
      </div>
      {providers.length === 0 && <p className="muted">No providers are configured.</p>}
      <ol className="provider-list">
        {providers.map((provider, index) => (
          <li
            key={provider.id}
            className={dragging === provider.id ? 'provider dragging' : 'provider'}
            draggable
            onDragStart={(event) => {
              setDragging(provider.id);
              event.dataTransfer.effectAllowed = 'move';
              event.dataTransfer.setData('text/plain', provider.id);
            }}
            onDragEnd={() => setDragging(null)}
            onDragOver={(event) => {
              if (dragging) event.preventDefault();
            }}
            onDrop={(event) => {
              event.preventDefault();
              const source = providers.find((p) => p.id === dragging);
              setDragging(null);
              if (source) move(source, index);
            }}
          >
            <fieldset className="reorder">
              <legend className="sr-only">Order of {provider.label}</legend>
              <span className="grip" aria-hidden="true" title="Drag to reorder">
                <Icon name="grip" size={16} />
              </span>
              <button
                type="button"
                className="ghost small"
                aria-label={`Move ${provider.label} up`}
                disabled={index === 0}
                onClick={() => move(provider, index - 1)}
              >
                <Icon name="up" size={14} />
              </button>
              <button
                type="button"
                className="ghost small"
                aria-label={`Move ${provider.label} down`}
                disabled={index === providers.length - 1}
                onClick={() => move(provider, index + 1)}
              >
                <Icon name="down" size={14} />
              </button>
            </fieldset>
            <ProviderCard provider={provider} position={index + 1} />
          </li>
        ))}
      </ol>
    </section>
  );
}
