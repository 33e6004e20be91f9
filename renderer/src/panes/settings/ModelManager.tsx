import { useState } from 'react';
import type { CatalogModelView } from '#contract/api.ts';
import { DownloadStatus } from '../../components/DownloadStatus.tsx';
import { TableHead } from '../../components/TableHead.tsx';
import { formatBytes } from '../../lib/format.ts';
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

/** Whether a download is checked against the publisher's sha256, said plainly. */
function ChecksumNote({ model, verified }: { model: CatalogModelView; verified: boolean | undefined }) {
  if (model.installed) {
    return verified ? (
      <span className="badge ok">verified</span>
    ) : (
      <span className="muted small">installed, not verified</span>
    );
  }
  return model.checksum ? null : (
    <span className="muted small" title="The download is checked for completeness and format only.">
      no published checksum
    </span>
  );
}

/** Adds a GGUF file or a Whisper folder that is already on this computer. */
function ImportModel() {
  const importModel = useSettings((state) => state.importModel);
  const [path, setPath] = useState('');
  const [kind, setKind] = useState<'llm' | 'embedding'>('llm');
  const [busy, setBusy] = useState(false);
  return (
    <form
      className="import-model"
      onSubmit={async (event) => {
        event.preventDefault();
        setBusy(true);
        if (await importModel(path.trim(), kind)) setPath('');
        setBusy(false);
      }}
    >
      <h3>Add a model from this computer</h3>
      <p className="muted small">
        A GGUF file (chat or embeddings) or a Whisper folder in the transformers.js layout. It is copied into
        Switchboard's models folder.
      </p>
      <div className="import-fields">
        <label className="field grow">
          <span>File or folder</span>
          <input
            value={path}
            placeholder="/home/me/Downloads/model.gguf"
            spellCheck={false}
            onChange={(event) => setPath(event.target.value)}
          />
        </label>
        <label className="field">
          <span>A GGUF is for</span>
          <select value={kind} onChange={(event) => setKind(event.target.value as 'llm' | 'embedding')}>
            <option value="llm">Chat</option>
            <option value="embedding">Embeddings</option>
          </select>
        </label>
        <button type="submit" className="small" disabled={busy || !path.trim()}>
          {busy ? 'Adding…' : 'Add model'}
        </button>
      </div>
    </form>
  );
}

/** The model catalog: what fits this machine, what is installed, downloads with progress, delete, import. */
export function ModelManager() {
  const catalog = useSettings((state) => state.catalog);
  const installed = useSettings((state) => state.installed);
  const downloads = useSettings((state) => state.downloads);
  const pull = useSettings((state) => state.pull);
  const byId = new Map(installed.map((m) => [m.id, m]));
  const extra = installed.filter((m) => !catalog.some((c) => c.id === m.id));

  return (
    <section className="card models" aria-label="Models">
      <h2>Models</h2>
      {catalog.length === 0 && installed.length === 0 && <p className="muted">The model catalog is empty.</p>}
      <table className="model-table">
        <TableHead columns={['Model', 'For', 'Size', 'On this computer', { hidden: 'Actions' }]} />
        <tbody>
          {catalog.map((model) => {
            const download = downloads[model.id];
            return (
              <tr key={model.id} aria-label={model.id}>
                <td>
                  <strong>{model.id}</strong>
                  {model.recommended && <span className="badge">recommended</span>}
                  <div className="muted small">
                    {model.family} · {model.parameters} · {model.quantisation}
                  </div>
                  <ChecksumNote model={model} verified={byId.get(model.id)?.verified} />
                </td>
                <td>{KIND_LABELS[model.kind]}</td>
                <td>{formatBytes(model.sizeBytes)}</td>
                <td className={model.fits ? 'fit yes small' : 'fit no small'}>{model.fitNote}</td>
                <td className="actions">
                  {download ? (
                    <DownloadStatus id={model.id} download={download} />
                  ) : model.installed ? (
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
            <tr key={model.id} aria-label={model.id}>
              <td>
                <strong>{model.id}</strong>
                <div className="muted small" title={model.path}>
                  {model.source === 'imported' ? 'added from this computer' : 'found in the models folder'}
                </div>
              </td>
              <td>{KIND_LABELS[model.kind]}</td>
              <td>{formatBytes(model.sizeBytes)}</td>
              <td className="small muted">installed</td>
              <td className="actions">
                <DeleteModelButton id={model.id} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ImportModel />
    </section>
  );
}
