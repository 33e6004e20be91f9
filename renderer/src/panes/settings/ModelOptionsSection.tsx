import { useState } from 'react';
import type { ModelOptions } from '#contract/api.ts';
import { useSettings } from '../../stores/settings.ts';
import { chatModelChoices } from './DefaultModelsSection.tsx';

type Draft = Record<keyof ModelOptions, string>;

const EMPTY: Draft = { temperature: '', maxTokens: '', systemPrompt: '', contextTokens: '', gpuLayers: '' };

function draftOf(options: ModelOptions | undefined): Draft {
  const text = (value: number | string | undefined) => (value === undefined ? '' : String(value));
  return {
    temperature: text(options?.temperature),
    maxTokens: text(options?.maxTokens),
    systemPrompt: options?.systemPrompt ?? '',
    contextTokens: text(options?.contextTokens),
    gpuLayers: text(options?.gpuLayers),
  };
}

/** The fields that are filled in; an empty field leaves that setting to the model and the request. */
function optionsOf(draft: Draft, onMachine: boolean): ModelOptions {
  const number = (text: string) => (text.trim() === '' ? undefined : Number(text));
  const options: ModelOptions = {
    temperature: number(draft.temperature),
    maxTokens: number(draft.maxTokens),
    systemPrompt: draft.systemPrompt.trim() || undefined,
    ...(onMachine ? { contextTokens: number(draft.contextTokens), gpuLayers: number(draft.gpuLayers) } : {}),
  };
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}

/** One model's own settings: temperature, max tokens, system prompt; context and GPU layers on this machine. */
export function ModelOptionsSection() {
  const { settings, providers, update } = useSettings();
  const choices = chatModelChoices(providers);
  const [model, setModel] = useState('');
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [saved, setSaved] = useState(false);
  if (!settings) return null;
  const onMachine = model.startsWith('local/');
  const field = (key: keyof Draft) => ({
    value: draft[key],
    onChange: (event: { target: { value: string } }) => {
      setSaved(false);
      setDraft({ ...draft, [key]: event.target.value });
    },
  });

  return (
    <section className="card model-options" aria-label="Model settings">
      <h2>Model settings</h2>
      <p className="muted small">
        A model's own settings, used by every chat it answers. Empty fields keep its defaults.
      </p>
      <form
        className="model-options-form"
        onSubmit={async (event) => {
          event.preventDefault();
          const options = optionsOf(draft, onMachine);
          await update({ modelOptions: { model, options: Object.keys(options).length > 0 ? options : null } });
          setSaved(true);
        }}
      >
        <label className="field wide-field">
          <span>Model</span>
          <select
            value={model}
            onChange={(event) => {
              setModel(event.target.value);
              setDraft(draftOf(settings.modelOptions[event.target.value]));
              setSaved(false);
            }}
          >
            <option value="">Choose a model</option>
            {choices.map((choice) => (
              <option key={choice.value} value={choice.value}>
                {choice.label}
              </option>
            ))}
          </select>
        </label>
        {model && (
          <>
            <label className="field">
              <span>Temperature (0–2)</span>
              <input type="number" min={0} max={2} step={0.1} placeholder="model default" {...field('temperature')} />
            </label>
            <label className="field">
              <span>Max tokens per answer</span>
              <input type="number" min={1} step={1} placeholder="no limit" {...field('maxTokens')} />
            </label>
            {onMachine && (
              <>
                <label className="field">
                  <span>Context (tokens)</span>
                  <input type="number" min={128} step={128} placeholder="4096" {...field('contextTokens')} />
                </label>
                <label className="field">
                  <span>GPU layers</span>
                  <input type="number" min={0} step={1} placeholder="as many as fit" {...field('gpuLayers')} />
                </label>
              </>
            )}
            <label className="field wide-field">
              <span>System prompt</span>
              <textarea rows={3} placeholder="You are a helpful assistant." {...field('systemPrompt')} />
            </label>
            <div className="form-actions">
              <button type="submit" className="primary small">
                Save
              </button>
              {saved && (
                <span className="ok-text small" role="status">
                  Saved.
                </span>
              )}
            </div>
          </>
        )}
      </form>
    </section>
  );
}
