import { type ModelChoice, useChat } from '../../stores/chat.ts';
import { useSettings } from '../../stores/settings.ts';

function encode(choice: ModelChoice): string {
  if (choice.kind === 'profile') return `profile:${choice.profile}`;
  if (choice.kind === 'model') return `model:${choice.providerId}\n${choice.model}`;
  return 'auto';
}

function decode(value: string): ModelChoice {
  if (value.startsWith('profile:')) return { kind: 'profile', profile: value.slice('profile:'.length) };
  if (value.startsWith('model:')) {
    const [providerId = '', model = ''] = value.slice('model:'.length).split('\n');
    return { kind: 'model', providerId, model };
  }
  return { kind: 'auto' };
}

/** Who answers: the default routing, a profile, or one provider's model. Cloud providers say when cloud fallback is off. */
export function ModelPicker() {
  const choice = useChat((state) => state.choice);
  const setChoice = useChat((state) => state.setChoice);
  const { providers, settings } = useSettings();
  const chatProviders = providers.filter((p) => p.enabled && p.capabilities.includes('chat'));

  return (
    <label className="picker">
      <span className="muted small">Answer with</span>
      <select value={encode(choice)} onChange={(event) => setChoice(decode(event.target.value))}>
        <option value="auto">
          {settings?.defaults.chat
            ? `Automatic (default: ${settings.defaults.chat})`
            : `Automatic (${settings?.strategy ?? 'default'} routing)`}
        </option>
        {settings && settings.profiles.length > 0 && (
          <optgroup label="Profiles">
            {settings.profiles.map((profile) => (
              <option key={profile.name} value={encode({ kind: 'profile', profile: profile.name })}>
                {profile.name}
              </option>
            ))}
          </optgroup>
        )}
        {chatProviders.map((provider) => (
          <optgroup
            key={provider.id}
            label={`${provider.label}${provider.onMachine ? ' (on this machine)' : ''}${provider.usable ? '' : ' — cloud fallback is off'}`}
          >
            {/* Still selectable: the engine then answers locally or says why it cannot, and nothing leaves the machine. */}
            {provider.models.map((model) => (
              <option key={model} value={encode({ kind: 'model', providerId: provider.id, model })}>
                {model}
              </option>
            ))}
          </optgroup>
        ))}
      </select>
    </label>
  );
}
