import { type FormEvent, useCallback, useEffect, useState } from 'react';
import type { AppKey, IssuedAppKey } from '#contract/api.ts';
import { api } from '../../api/client.ts';
import { CopyButton } from '../../components/CopyButton.tsx';
import { ErrorNote } from '../../components/ErrorNote.tsx';
import { TableHead } from '../../components/TableHead.tsx';
import { type ShownError, toShownError } from '../../lib/errors.ts';
import { formatCost, formatDate } from '../../lib/format.ts';

/** A number field's value for the API: empty means "no limit". */
function optionalNumber(text: string): number | undefined {
  const value = Number(text);
  return text.trim() === '' || !Number.isFinite(value) ? undefined : value;
}

function limitsOf(key: AppKey): string {
  const parts = [key.rpm && `${key.rpm} requests/min`, key.tpm && `${key.tpm.toLocaleString()} tokens/min`];
  return parts.filter(Boolean).join(', ') || 'None';
}

function budgetsOf(key: AppKey): string {
  const parts = [
    key.dailyBudgetUsd !== undefined && `${formatCost(key.dailyBudgetUsd)} a day`,
    key.monthlyBudgetUsd !== undefined && `${formatCost(key.monthlyBudgetUsd)} a month`,
  ];
  return parts.filter(Boolean).join(', ') || 'None';
}

/** The key in clear, once, right after it was made or rotated. */
function IssuedKey({ issued, onDone }: { issued: IssuedAppKey; onDone: () => void }) {
  return (
    <section className="issued-key" aria-label="The new key, shown once">
      <p>
        <strong>The key for {issued.name}.</strong> Copy it now and give it to that program: it will not be shown again.
        If it is lost, rotate the key to get a new one.
      </p>
      <div className="issued-key-value">
        <input readOnly aria-label="The new key" value={issued.key} onFocus={(event) => event.target.select()} />
        <CopyButton text={issued.key} label={`Copy the key for ${issued.name}`} />
      </div>
      <button type="button" className="small" onClick={onDone}>
        I have copied it
      </button>
    </section>
  );
}

/**
 * Keys of their own for the programs on this machine that use Switchboard's API: each with its own
 * limits, budgets and models, and its own line in Usage. The same keys `switchboard keys` manages.
 */
export function AppKeysSection() {
  const [keys, setKeys] = useState<AppKey[]>([]);
  const [issued, setIssued] = useState<IssuedAppKey | null>(null);
  const [error, setError] = useState<ShownError | null>(null);
  const [form, setForm] = useState({ name: '', rpm: '', tpm: '', daily: '', monthly: '', models: '' });

  const run = useCallback(async (work: () => Promise<void>) => {
    try {
      await work();
      setError(null);
    } catch (caught) {
      setError(toShownError(caught));
    }
  }, []);
  const reload = useCallback(() => run(async () => setKeys(await api.call('keys.list', {}))), [run]);

  useEffect(() => {
    void reload();
  }, [reload]);

  const create = (event: FormEvent) => {
    event.preventDefault();
    const models = form.models
      .split(',')
      .map((model) => model.trim())
      .filter(Boolean);
    void run(async () => {
      setIssued(
        await api.call('keys.create', {
          name: form.name.trim(),
          rpm: optionalNumber(form.rpm),
          tpm: optionalNumber(form.tpm),
          dailyBudgetUsd: optionalNumber(form.daily),
          monthlyBudgetUsd: optionalNumber(form.monthly),
          models: models.length > 0 ? models : undefined,
        }),
      );
      setForm({ name: '', rpm: '', tpm: '', daily: '', monthly: '', models: '' });
      setKeys(await api.call('keys.list', {}));
    });
  };

  const revoke = (key: AppKey) => {
    if (!confirm(`Revoke the key for ${key.name}? Requests with it are refused from now on. This cannot be undone.`))
      return;
    void run(async () => {
      await api.call('keys.revoke', { id: key.id });
      if (issued?.id === key.id) setIssued(null);
      setKeys(await api.call('keys.list', {}));
    });
  };

  const rotate = (key: AppKey) => {
    if (!confirm(`Make a new key for ${key.name}? The current one stops working at once.`)) return;
    void run(async () => {
      setIssued(await api.call('keys.rotate', { id: key.id }));
      setKeys(await api.call('keys.list', {}));
    });
  };

  const field = (name: keyof typeof form) => ({
    value: form[name],
    onChange: (event: { target: { value: string } }) => setForm({ ...form, [name]: event.target.value }),
  });

  return (
    <section className="card app-keys" aria-label="Keys for programs">
      <h2>Keys for programs</h2>
      <p className="muted small">
        Give each program on this computer that uses Switchboard its own key, with its own limits, budget and models.
        Its requests and costs show under its name in Usage.
      </p>
      {error && <ErrorNote error={error} onDismiss={() => setError(null)} />}
      {issued && <IssuedKey issued={issued} onDone={() => setIssued(null)} />}
      {keys.length === 0 ? (
        <p className="muted small">No keys yet.</p>
      ) : (
        <div className="table-scroll">
          <table className="model-table app-key-table">
            <TableHead
              columns={['Name', 'Limits', 'Budgets', 'Models', 'Created', 'Last used', 'State', { hidden: 'Actions' }]}
            />
            <tbody>
              {keys.map((key) => (
                <tr key={key.id} aria-label={key.name}>
                  <th scope="row">
                    {key.name} <span className="muted small">{key.hint}</span>
                  </th>
                  <td>{limitsOf(key)}</td>
                  <td>{budgetsOf(key)}</td>
                  <td>{key.models?.join(', ') ?? 'All'}</td>
                  <td className="small">{formatDate(key.createdAt)}</td>
                  <td className="small">{key.lastUsedAt ? formatDate(key.lastUsedAt) : 'Never'}</td>
                  <td>
                    {key.revokedAt ? (
                      <span className="key-state revoked">Revoked {formatDate(key.revokedAt)}</span>
                    ) : (
                      <span className="key-state active">Active</span>
                    )}
                  </td>
                  <td className="actions">
                    {!key.revokedAt && (
                      <>
                        <button type="button" className="small" onClick={() => rotate(key)}>
                          Rotate
                        </button>{' '}
                        <button type="button" className="small danger" onClick={() => revoke(key)}>
                          Revoke
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form className="app-key-form" aria-label="Create a key" onSubmit={create}>
        <h3>New key</h3>
        <label className="field">
          <span>Program name</span>
          <input required maxLength={100} placeholder="for example: notes-script" {...field('name')} />
        </label>
        <label className="field">
          <span>Requests per minute</span>
          <input type="number" min={1} step={1} placeholder="no limit" {...field('rpm')} />
        </label>
        <label className="field">
          <span>Tokens per minute</span>
          <input type="number" min={1} step={1} placeholder="no limit" {...field('tpm')} />
        </label>
        <label className="field">
          <span>Daily budget (USD)</span>
          <input type="number" min={0.01} step="0.01" placeholder="no limit" {...field('daily')} />
        </label>
        <label className="field">
          <span>Monthly budget (USD)</span>
          <input type="number" min={0.01} step="0.01" placeholder="no limit" {...field('monthly')} />
        </label>
        <label className="field wide-field">
          <span>Models it may use (separated by commas)</span>
          <input placeholder="all models" {...field('models')} />
        </label>
        <div className="form-actions">
          <button type="submit" className="primary">
            Create key
          </button>
        </div>
      </form>
    </section>
  );
}
