import { useState } from 'react';
import { api } from '../../api/client.ts';
import { ErrorNote } from '../../components/ErrorNote.tsx';
import { type ShownError, toShownError } from '../../lib/errors.ts';

/** "Delete all my data": every meeting, recording, chat, usage record, stored key and app setting. */
export function DataSection() {
  const [error, setError] = useState<ShownError | null>(null);
  const [deleting, setDeleting] = useState(false);
  const deleteAll = async () => {
    if (
      !confirm(
        'Delete all your data? Every meeting and its recording, every chat, the usage history, the API keys you added and the settings you changed here are deleted from this machine. Downloaded models and your providers file stay.',
      )
    )
      return;
    setDeleting(true);
    try {
      await api.call('data.deleteAll', { confirm: true });
      // Every pane's state described data that is gone: start over from what the engine has now.
      window.location.reload();
    } catch (caught) {
      setError(toShownError(caught));
      setDeleting(false);
    }
  };
  return (
    <section className="card danger-zone" aria-label="Your data">
      <h2>Your data</h2>
      <p className="muted small">
        Meetings, recordings, chats and usage are kept on this machine only. Deleting a meeting deletes its recording.
      </p>
      {error && <ErrorNote error={error} onDismiss={() => setError(null)} />}
      <button type="button" className="danger" disabled={deleting} onClick={() => void deleteAll()}>
        {deleting ? 'Deleting…' : 'Delete all my data…'}
      </button>
    </section>
  );
}
