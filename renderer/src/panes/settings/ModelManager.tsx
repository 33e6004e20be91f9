import { ProgressBar } from '../../components/ProgressBar.tsx';
import { formatBytes, formatEta } from '../../lib/format.ts';
import { useSettings } from '../../stores/settings.ts';

const KIND_LABELS = {
  llm: 'Chat',
  whisper: 'Transcription',
  embedding: 'Embeddings',
  diarization: 'Speakers',
} as const;

function DeleteModelButton({ id }: { id: string }) {
  const deleteModel = useSettings((state) => state.deleteModel);
  return (
    <button
      type="button"
      className="ghost small danger-text"
      aria-label={`Delete ${id}`}
      onClick={() => {
        if (confirm(`Delete ${id} from this machine?`)) void deleteModel(id);
      }}
    >
      Delete
    </button>
  );
}

/** The model catalog: what fits this machine, what is installed, downloads with progress, delete. */
export function ModelManager() {
  const { catalog, installed, downloads, pull, cancelPull } = useSettings();
  const installedIds = new Set(installed.map((m) => m.id));
  const extra = installed.filter((m) => !catalog.some((c) => c.id === m.id));

  return (
    <section className="card models" aria-label="Models">
      <h2>Models</h2>
      {catalog.length === 0 && installed.length === 0 && <p className="muted">The model catalog is empty.</p>}
      <table className="model-table">
        <thead>
          <tr>
            <th scope="col">Model</th>
            <th scope="col">For</th>
            <th scope="col">Size</th>
            <th scope="col">Fits</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {catalog.map((model) => {
            const download = downloads[model.id];
            const isInstalled = model.installed || installedIds.has(model.id);
            return (
              <tr key={model.id}>
                <td>
                  <strong>{model.id}</strong>
                  {model.recommended && <span className="badge">recommended</span>}
                  <div className="muted small">
                    {model.family} · {model.parameters}
                  </div>
                </td>
                <td>{KIND_LABELS[model.kind]}</td>
                <td>{formatBytes(model.sizeBytes)}</td>
                <td>
                  <span
                    className={model.fits ? 'fit yes' : 'fit no'}
                    title={model.fits ? 'Fits this machine' : 'Too large for this machine'}
                  >
                    <span aria-hidden="true">{model.fits ? '✓' : '✗'}</span>
                    <span className="sr-only">{model.fits ? 'fits this machine' : 'too large for this machine'}</span>
                  </span>
                </td>
                <td className="actions">
                  {download ? (
                    download.error ? (
                      <>
                        <span className="error-text small" role="alert">
                          {download.error.message}
                        </span>
                        <button type="button" className="small" onClick={() => void pull(model.id)}>
                          Retry
                        </button>
                      </>
                    ) : (
                      <>
                        <ProgressBar
                          label={`Downloading ${model.id}`}
                          fraction={download.totalBytes ? download.receivedBytes / download.totalBytes : null}
                          detail={formatEta(download.etaSeconds)}
                        />
                        <button type="button" className="ghost small" onClick={() => cancelPull(model.id)}>
                          Cancel
                        </button>
                      </>
                    )
                  ) : isInstalled ? (
                    <DeleteModelButton id={model.id} />
                  ) : (
                    <button
                      type="button"
                      className="small"
                      aria-label={`Download ${model.id}`}
                      onClick={() => void pull(model.id)}
                    >
                      Download
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
          {extra.map((model) => (
            <tr key={model.id}>
              <td>
                <strong>{model.id}</strong>
                <div className="muted small" title={model.path}>
                  added by hand
                </div>
              </td>
              <td>{KIND_LABELS[model.kind]}</td>
              <td>{formatBytes(model.sizeBytes)}</td>
              <td />
              <td className="actions">
                <DeleteModelButton id={model.id} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
