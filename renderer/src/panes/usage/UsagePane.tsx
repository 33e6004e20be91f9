import { useEffect } from 'react';
import type { UsagePoint } from '#contract/api.ts';
import { ErrorNote } from '../../components/ErrorNote.tsx';
import { TableHead } from '../../components/TableHead.tsx';
import { formatCost, formatLatency, formatPercent } from '../../lib/format.ts';
import { useSettings } from '../../stores/settings.ts';
import { USAGE_RANGES, type UsageRange, useUsage } from '../../stores/usage.ts';
import { colorFor, Gauge, LineChart, type Series, ShareBars } from './charts.tsx';
import { ProviderHealth } from './ProviderHealth.tsx';

function seriesOf(
  points: UsagePoint[],
  order: string[],
  labelOf: (id: string) => string,
  value: (p: UsagePoint) => number,
): Series[] {
  return order.map((providerId, index) => ({
    name: labelOf(providerId),
    color: colorFor(index),
    points: points.filter((p) => p.providerId === providerId).map((p) => ({ time: p.time, value: value(p) })),
  }));
}

export function UsagePane() {
  const { range, usage, load, error } = useUsage();
  const { providers, settings, load: loadSettings, loaded } = useSettings();

  useEffect(() => {
    void load();
    if (!loaded) void loadSettings();
  }, [load, loaded, loadSettings]);

  const labelOf = (id: string) => providers.find((p) => p.id === id)?.label ?? id;
  const order = usage
    ? [...new Set([...usage.byProvider.map((p) => p.providerId), ...usage.series.map((p) => p.providerId)])]
    : [];
  const timeFormat =
    USAGE_RANGES[range].bucket === 'hour'
      ? (time: number) => new Date(time).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })
      : (time: number) => new Date(time).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
  const chart = (value: (p: UsagePoint) => number) => seriesOf(usage?.series ?? [], order, labelOf, value);

  return (
    <div className="usage-pane scroll">
      <header className="pane-header">
        <h1>Usage</h1>
        <label className="picker">
          <span className="muted small">Period</span>
          <select value={range} onChange={(event) => void load(event.target.value as UsageRange)}>
            {Object.entries(USAGE_RANGES).map(([key, { label }]) => (
              <option key={key} value={key}>
                {label}
              </option>
            ))}
          </select>
        </label>
      </header>
      {error && <ErrorNote error={error} />}
      {usage && (
        <>
          <div className="totals">
            <div className="stat">
              <span className="stat-value">{usage.totals.requests}</span>
              <span className="muted small">requests</span>
            </div>
            <div className="stat">
              <span className="stat-value">{formatCost(usage.totals.costUsd)}</span>
              <span className="muted small">cost</span>
            </div>
            <div className="stat">
              <span className="stat-value">{usage.totals.errors}</span>
              <span className="muted small">errors</span>
            </div>
            <div className="stat">
              <span className="stat-value">
                {(usage.totals.inputTokens + usage.totals.outputTokens).toLocaleString()}
              </span>
              <span className="muted small">tokens</span>
            </div>
          </div>
          {usage.totals.requests === 0 && (
            <p className="muted">No requests in this period yet. Ask something in Chat and it shows up here.</p>
          )}
          <div className="chart-grid">
            <LineChart
              title="Requests"
              series={chart((p) => p.requests)}
              format={(v) => String(Math.round(v))}
              timeFormat={timeFormat}
            />
            <LineChart title="Cost" series={chart((p) => p.costUsd)} format={formatCost} timeFormat={timeFormat} />
            <LineChart
              title="Average latency"
              series={chart((p) => p.avgLatencyMs)}
              format={formatLatency}
              timeFormat={timeFormat}
            />
            <LineChart
              title="Errors"
              series={chart((p) => p.errors)}
              format={(v) => String(Math.round(v))}
              timeFormat={timeFormat}
            />
          </div>
          <section className="card" aria-label="Requests by provider">
            <h2>By provider</h2>
            {usage.byProvider.length === 0 ? (
              <p className="muted small">Nothing yet.</p>
            ) : (
              <ShareBars
                rows={usage.byProvider.map((row) => ({
                  name: labelOf(row.providerId),
                  color: colorFor(order.indexOf(row.providerId)),
                  share: row.share,
                  label: `${row.requests} · ${formatPercent(row.share)} · ${formatCost(row.costUsd)}`,
                }))}
              />
            )}
          </section>
          <section className="card" aria-label="Requests by key">
            <h2>By key</h2>
            {usage.byKey.length === 0 ? (
              <p className="muted small">Nothing yet.</p>
            ) : (
              <table className="health-table">
                <TableHead columns={['Key', 'Requests', 'Errors', 'Cost']} />
                <tbody>
                  {usage.byKey.map((row) => (
                    <tr key={row.keyId} aria-label={row.name}>
                      <th scope="row">{row.name}</th>
                      <td>{row.requests}</td>
                      <td>{row.errors}</td>
                      <td>{formatCost(row.costUsd)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section className="card" aria-label="Budgets">
            <h2>Budgets</h2>
            {usage.budgets.length === 0 ? (
              <p className="muted small">No budget set. Set one in Providers &amp; settings.</p>
            ) : (
              <div className="gauges">
                {usage.budgets.map((budget) => (
                  <Gauge
                    key={`${budget.scope}-${budget.period}`}
                    label={`${budget.scope === 'global' ? 'All providers' : labelOf(budget.scope)}, ${budget.period}`}
                    spent={budget.spentUsd}
                    limit={budget.limitUsd}
                    alertAt={settings?.budgets.alertThreshold ?? 0.8}
                  />
                ))}
              </div>
            )}
          </section>
        </>
      )}
      <ProviderHealth />
    </div>
  );
}
