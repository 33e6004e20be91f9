import { DownloadStatus } from '../../components/DownloadStatus.tsx';
import { formatBytes } from '../../lib/format.ts';
import { useSettings } from '../../stores/settings.ts';
import { useUi } from '../../stores/ui.ts';

/** The empty chat: what to do first. With no local model installed, the recommended one, one click away. */
export function Welcome() {
  const { installed, catalog, downloads, pull, providers, settings } = useSettings();
  const setPane = useUi((state) => state.setPane);
  const hasLocalLlm = installed.some((model) => model.kind === 'llm');
  const recommended = catalog.find((model) => model.kind === 'llm' && model.recommended && !model.installed);
  const download = recommended ? downloads[recommended.id] : undefined;
  // The local provider is always there, but it answers only once a model is installed.
  const usableChat = providers.some(
    (p) => p.usable && p.enabled && p.capabilities.includes('chat') && (!p.onMachine || p.models.length > 0),
  );

  return (
    <div className="welcome">
      <h2>Start a conversation</h2>
      <p className="muted">
        Answers come from models on this machine first
        {settings?.cloudFallback
          ? ', and from your cloud providers when a local one cannot answer.'
          : '. Nothing leaves this machine while cloud fallback is off.'}
      </p>
      {!hasLocalLlm && recommended && (
        <div className="card recommend">
          <h3>No local model installed yet</h3>
          <p>
            We recommend <strong>{recommended.id}</strong> ({recommended.family}, {recommended.parameters},{' '}
            {formatBytes(recommended.sizeBytes)}) for this machine.
          </p>
          <p className="muted small">{recommended.fitNote}</p>
          {download ? (
            <DownloadStatus id={recommended.id} download={download} />
          ) : (
            <button type="button" className="primary" onClick={() => void pull(recommended.id)}>
              Download {recommended.id}
            </button>
          )}
        </div>
      )}
      {!usableChat && (
        <p>
          No provider can answer chat right now.{' '}
          <button type="button" className="link" onClick={() => setPane('settings')}>
            Open Providers &amp; settings
          </button>{' '}
          to install a model or add a provider.
        </p>
      )}
    </div>
  );
}
