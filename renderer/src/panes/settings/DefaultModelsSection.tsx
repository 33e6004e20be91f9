import type { DefaultModelJob, ProviderSummary } from '#contract/api.ts';
import { useSettings } from '../../stores/settings.ts';

export interface Choice {
  value: string;
  label: string;
}

/** Every chat model of every enabled provider, as `provider/model`. */
export function chatModelChoices(providers: ProviderSummary[]): Choice[] {
  return providers
    .filter((p) => p.enabled && p.capabilities.includes('chat'))
    .flatMap((p) => p.models.map((model) => ({ value: `${p.id}/${model}`, label: `${model} (${p.label})` })));
}

const JOBS: { job: DefaultModelJob; label: string; automatic: string }[] = [
  { job: 'chat', label: 'Chat', automatic: 'Automatic: the routing strategy decides' },
  { job: 'summaries', label: 'Meeting summaries', automatic: 'Automatic: a model on this machine first' },
  { job: 'transcription', label: 'Transcription', automatic: 'Automatic: the first Whisper model installed' },
  { job: 'embeddings', label: 'Embeddings', automatic: 'Automatic: the chat model on this machine' },
];

/** The model each job uses when nothing else is asked for: chat, summaries, transcription, embeddings. */
export function DefaultModelsSection() {
  const { settings, providers, installed, update } = useSettings();
  if (!settings) return null;
  const providerModels = chatModelChoices(providers);
  const installedOf = (kinds: string[]): Choice[] =>
    installed.filter((m) => kinds.includes(m.kind)).map((m) => ({ value: m.id, label: m.id }));
  const choices: Record<DefaultModelJob, Choice[]> = {
    chat: providerModels,
    summaries: providerModels,
    transcription: installedOf(['whisper']),
    embeddings: installedOf(['embedding', 'llm']),
  };

  return (
    <section className="card default-models" aria-label="Default models">
      <h2>Default models</h2>
      <p className="muted small">Used when a chat is left on automatic, and for meetings.</p>
      <div className="default-models-grid">
        {JOBS.map(({ job, label, automatic }) => {
          const current = settings.defaults[job] ?? '';
          const options = choices[job];
          // A choice made in the providers file shows even when its model is not listed here.
          const shown =
            current && !options.some((o) => o.value === current)
              ? [...options, { value: current, label: current }]
              : options;
          return (
            <label key={job} className="field">
              <span>{label}</span>
              <select
                value={current}
                onChange={(event) => void update({ defaults: { [job]: event.target.value || null } })}
              >
                <option value="">{automatic}</option>
                {shown.map((option) => (
                  <option key={option.value} value={option.value}>
                    {option.label}
                  </option>
                ))}
              </select>
            </label>
          );
        })}
      </div>
    </section>
  );
}
