import { formatPercent } from '../lib/format.ts';

export function ProgressBar({ fraction, label, detail }: { fraction: number | null; label: string; detail?: string }) {
  const clamped = fraction === null ? null : Math.min(1, Math.max(0, fraction));
  return (
    <div className="progress">
      <div className="progress-text">
        <span>{label}</span>
        <span>
          {clamped === null ? '' : formatPercent(clamped)}
          {detail ? ` · ${detail}` : ''}
        </span>
      </div>
      <div
        className={clamped === null ? 'progress-track indeterminate' : 'progress-track'}
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={clamped === null ? undefined : Math.round(clamped * 100)}
        aria-valuetext={detail}
      >
        <div className="progress-fill" style={{ width: `${(clamped ?? 0.3) * 100}%` }} />
      </div>
    </div>
  );
}
