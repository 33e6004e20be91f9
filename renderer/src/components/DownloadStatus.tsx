import { formatEta } from '../lib/format.ts';
import { type DownloadState, useSettings } from '../stores/settings.ts';
import { ErrorNote } from './ErrorNote.tsx';
import { ProgressBar } from './ProgressBar.tsx';

/** A download's progress with Cancel, or its failure with Retry (a retry resumes what arrived). */
export function DownloadStatus({ id, download }: { id: string; download: DownloadState }) {
  const pull = useSettings((state) => state.pull);
  const cancelPull = useSettings((state) => state.cancelPull);
  if (download.error) {
    return (
      <div className="download-failed">
        <ErrorNote error={download.error} />
        <button type="button" className="small" onClick={() => void pull(id)} aria-label={`Retry downloading ${id}`}>
          Retry
        </button>
      </div>
    );
  }
  return (
    <>
      <ProgressBar
        label={`Downloading ${id}`}
        fraction={download.totalBytes ? download.receivedBytes / download.totalBytes : null}
        detail={formatEta(download.etaSeconds)}
      />
      <button type="button" className="ghost small" onClick={() => cancelPull(id)}>
        Cancel
      </button>
    </>
  );
}
