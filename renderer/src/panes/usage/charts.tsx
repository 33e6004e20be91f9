/** Small SVG charts: enough to see trends and shares without a charting library. */

/** Distinct, colour-blind-friendly hues (Okabe–Ito), one per provider in order of appearance. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#999999'];

export function colorFor(index: number): string {
  return PALETTE[index % PALETTE.length]!;
}

export interface Series {
  name: string;
  color: string;
  points: { time: number; value: number }[];
}

const WIDTH = 480;
const HEIGHT = 160;
const PAD = { left: 44, right: 8, top: 8, bottom: 22 };

export function LineChart({
  title,
  series,
  format,
  timeFormat,
}: {
  title: string;
  series: Series[];
  format: (value: number) => string;
  timeFormat: (time: number) => string;
}) {
  const all = series.flatMap((s) => s.points);
  const hasData = all.length > 0;
  const minTime = hasData ? Math.min(...all.map((p) => p.time)) : 0;
  const maxTime = hasData ? Math.max(...all.map((p) => p.time)) : 1;
  const peak = Math.max(...all.map((p) => p.value), 0);
  // An all-zero chart still needs a scale; its top is then left unlabelled rather than made up.
  const maxValue = peak || 1;
  const x = (time: number) =>
    PAD.left + (maxTime === minTime ? 0.5 : (time - minTime) / (maxTime - minTime)) * (WIDTH - PAD.left - PAD.right);
  const y = (value: number) => HEIGHT - PAD.bottom - (value / maxValue) * (HEIGHT - PAD.top - PAD.bottom);
  const summary = series.map((s) => `${s.name}: ${format(s.points.reduce((sum, p) => sum + p.value, 0))}`).join(', ');

  return (
    <figure className="chart">
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`${title}. ${hasData ? summary : 'No data yet.'}`}>
        <line className="axis" x1={PAD.left} x2={WIDTH - PAD.right} y1={y(0)} y2={y(0)} />
        <line className="grid" x1={PAD.left} x2={WIDTH - PAD.right} y1={y(maxValue)} y2={y(maxValue)} />
        {peak > 0 && (
          <text className="tick" x={PAD.left - 4} y={y(maxValue) + 4} textAnchor="end">
            {format(maxValue)}
          </text>
        )}
        <text className="tick" x={PAD.left - 4} y={y(0)} textAnchor="end">
          0
        </text>
        {hasData && (
          <>
            <text className="tick" x={PAD.left} y={HEIGHT - 6}>
              {timeFormat(minTime)}
            </text>
            <text className="tick" x={WIDTH - PAD.right} y={HEIGHT - 6} textAnchor="end">
              {timeFormat(maxTime)}
            </text>
          </>
        )}
        {series.map((s) => {
          const sorted = [...s.points].sort((a, b) => a.time - b.time);
          return (
            <g key={s.name}>
              <polyline
                fill="none"
                stroke={s.color}
                strokeWidth={2}
                points={sorted.map((p) => `${x(p.time)},${y(p.value)}`).join(' ')}
              />
              {sorted.map((p) => (
                <circle key={p.time} cx={x(p.time)} cy={y(p.value)} r={2.5} fill={s.color}>
                  <title>{`${s.name} · ${timeFormat(p.time)}: ${format(p.value)}`}</title>
                </circle>
              ))}
            </g>
          );
        })}
        {!hasData && (
          <text className="empty" x={WIDTH / 2} y={HEIGHT / 2} textAnchor="middle">
            No requests in this period
          </text>
        )}
      </svg>
    </figure>
  );
}

export function ShareBars({ rows }: { rows: { name: string; color: string; share: number; label: string }[] }) {
  return (
    <ul className="share-bars">
      {rows.map((row) => (
        <li key={row.name}>
          <span className="share-name">
            <span className="swatch" style={{ background: row.color }} aria-hidden="true" />
            {row.name}
          </span>
          <span className="share-track" aria-hidden="true">
            <span className="share-fill" style={{ width: `${row.share * 100}%`, background: row.color }} />
          </span>
          <span className="share-label">{row.label}</span>
        </li>
      ))}
    </ul>
  );
}

/** A budget as a half-ring: green, amber past the alert threshold, red at the limit. */
export function Gauge({
  label,
  spent,
  limit,
  alertAt,
}: {
  label: string;
  spent: number;
  limit: number;
  alertAt: number;
}) {
  const fraction = limit > 0 ? Math.min(1, spent / limit) : 0;
  const level = fraction >= 1 ? 'over' : fraction >= alertAt ? 'warn' : 'ok';
  const radius = 40;
  const circumference = Math.PI * radius;
  return (
    <figure className={`gauge gauge-${level}`}>
      <meter className="sr-only" aria-label={label} min={0} max={limit} value={spent} />
      <svg viewBox="0 0 100 60" aria-hidden="true">
        <path className="gauge-track" d="M10 50 A40 40 0 0 1 90 50" fill="none" strokeWidth={10} />
        <path
          className="gauge-fill"
          d="M10 50 A40 40 0 0 1 90 50"
          fill="none"
          strokeWidth={10}
          strokeDasharray={`${fraction * circumference} ${circumference}`}
        />
      </svg>
      <figcaption>
        <strong>{label}</strong>
        <span className="small">
          ${spent.toFixed(2)} of ${limit.toFixed(2)}
        </span>
      </figcaption>
    </figure>
  );
}
