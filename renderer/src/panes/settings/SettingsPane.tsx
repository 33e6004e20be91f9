import { useEffect } from 'react';
import { DetailsToggle } from '../../components/DetailsToggle.tsx';
import { ErrorNote } from '../../components/ErrorNote.tsx';
import { Switch } from '../../components/Switch.tsx';
import { useSettings } from '../../stores/settings.ts';
import { AppKeysSection } from './AppKeysSection.tsx';
import { BudgetsSection } from './BudgetsSection.tsx';
import { DataSection } from './DataSection.tsx';
import { DefaultModelsSection } from './DefaultModelsSection.tsx';
import { HardwareSection } from './HardwareSection.tsx';
import { ModelManager } from './ModelManager.tsx';
import { ModelOptionsSection } from './ModelOptionsSection.tsx';
import { ProviderList } from './ProviderList.tsx';

export function SettingsPane() {
  const { settings, load, loadModels, update, error, clearError } = useSettings();

  useEffect(() => {
    void load();
    void loadModels();
  }, [load, loadModels]);

  return (
    <div className="settings-pane scroll">
      <header className="pane-header">
        <h1>Providers &amp; settings</h1>
      </header>
      {error && <ErrorNote error={error} onDismiss={clearError} />}
      {settings && (
        <>
          <section className="card privacy" aria-label="Privacy">
            <Switch
              checked={settings.cloudFallback}
              onChange={(cloudFallback) => void update({ cloudFallback })}
              label="Cloud fallback"
              description={
                settings.cloudFallback
                  ? 'On: when a local model cannot answer a chat, your enabled cloud providers may. Those requests leave this machine.'
                  : 'Off: nothing leaves this machine. Only models on this machine answer.'
              }
            />
            <Switch
              checked={settings.meetingsCloud}
              onChange={(meetingsCloud) => void update({ meetingsCloud })}
              label="Cloud processing for meetings"
              disabled={!settings.cloudFallback || settings.localOnly}
              description={
                settings.meetingsCloud
                  ? 'On: meeting audio and transcripts may go to your cloud providers when this machine cannot transcribe or summarize them.'
                  : 'Off: meeting audio and transcripts stay on this machine. When this machine cannot do a job, the app asks before sending anything.'
              }
            />
            <Switch
              checked={settings.localOnly}
              onChange={(localOnly) => void update({ localOnly })}
              label="Local-only mode"
              description="Use only providers on this machine, even where a profile or a request names a cloud provider."
            />
            <label className="field">
              <span>Routing strategy</span>
              <select value={settings.strategy} onChange={(event) => void update({ strategy: event.target.value })}>
                {settings.strategies.map((strategy) => (
                  <option key={strategy} value={strategy}>
                    {strategy}
                  </option>
                ))}
              </select>
            </label>
            {settings.configError && (
              <ErrorNote
                error={{
                  code: 'CONFIG_INVALID',
                  message:
                    'The providers file has a mistake, so Switchboard goes on with the last settings that worked. The details say what to correct in it.',
                  detail: `${settings.configFile ?? 'providers file'}: ${settings.configError}`,
                }}
              />
            )}
            {settings.note && <p className="muted small">{settings.note}</p>}
            <p className="muted small">
              The API keys you add are stored encrypted on this computer, under a key only your user account can read;
              the OS keyring is not used, so anyone who can read your files can read your keys.
              <DetailsToggle>{settings.keyProtection}</DetailsToggle>
            </p>
          </section>
          <ProviderList />
          <DefaultModelsSection />
          <ModelOptionsSection />
          <BudgetsSection budgets={settings.budgets} />
          <AppKeysSection />
        </>
      )}
      <HardwareSection />
      <ModelManager />
      <DataSection />
    </div>
  );
}
