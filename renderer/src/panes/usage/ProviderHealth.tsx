import { DetailsToggle } from '../../components/DetailsToggle.tsx';
import { TableHead } from '../../components/TableHead.tsx';
import { formatLatency } from '../../lib/format.ts';
import { useSettings } from '../../stores/settings.ts';
import { useUsage } from '../../stores/usage.ts';

const BREAKER_TEXT = {
  closed: 'closed (normal)',
  open: 'open (skipped for now)',
  half_open: 'half-open (testing)',
} as const;

/** Each provider's health and circuit breaker; "Check now" probes them all. */
export function ProviderHealth() {
  const providers = useSettings((state) => state.providers);
  const { health, checking, checkHealth } = useUsage();
  return (
    <section className="card" aria-label="Provider health">
      <div className="section-header">
        <h2>Provider health</h2>
        <button type="button" className="small" disabled={checking} onClick={() => void checkHealth()}>
          {checking ? 'Checking…' : 'Check now'}
        </button>
      </div>
      <table className="health-table">
        <TableHead columns={['Provider', 'Health', 'Circuit breaker', 'Last check']} />
        <tbody>
          {providers.map((provider) => {
            const report = health?.find((h) => h.providerId === provider.id);
            const status = report?.status ?? provider.health ?? 'unknown';
            return (
              <tr key={provider.id}>
                <td>{provider.label}</td>
                <td>
                  <span className={`health health-${status}`}>{status}</span>
                </td>
                <td>{provider.breaker ? BREAKER_TEXT[provider.breaker] : '—'}</td>
                <td className="small">
                  {!report ? (
                    '—'
                  ) : report.error ? (
                    // The engine's reason can name a command or an address: the words first, it behind Details.
                    <>
                      {status === 'down' ? 'It did not answer.' : 'It answered, with a problem.'}
                      <DetailsToggle>{report.error}</DetailsToggle>
                    </>
                  ) : report.latencyMs !== undefined ? (
                    formatLatency(report.latencyMs)
                  ) : (
                    'ok'
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
