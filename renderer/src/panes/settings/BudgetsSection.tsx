import { useEffect, useState } from 'react';
import type { SettingsView } from '#contract/api.ts';
import { useSettings } from '../../stores/settings.ts';

type Budgets = SettingsView['budgets'];

const HARD_STOPS: { value: Budgets['hardStop']; label: string }[] = [
  { value: 'off', label: 'Only alert' },
  { value: 'local_only', label: 'Switch to local models' },
  { value: 'refuse', label: 'Refuse cloud requests' },
];

function parseLimit(text: string): number | null {
  const value = Number.parseFloat(text);
  return text.trim() === '' || !Number.isFinite(value) ? null : Math.max(0, value);
}

/** Spending limits for cloud providers, the alert threshold, and what happens at the limit. */
export function BudgetsSection({ budgets }: { budgets: Budgets }) {
  const update = useSettings((state) => state.update);
  const [daily, setDaily] = useState(budgets.daily?.toString() ?? '');
  const [monthly, setMonthly] = useState(budgets.monthly?.toString() ?? '');
  const [threshold, setThreshold] = useState(Math.round(budgets.alertThreshold * 100));
  const [hardStop, setHardStop] = useState(budgets.hardStop);

  // Follow the stored budgets when they change (saved here, or by another window or process), but not when
  // another setting is saved: that refreshes the settings object and would wipe what is being typed here.
  const {
    daily: storedDaily,
    monthly: storedMonthly,
    alertThreshold: storedThreshold,
    hardStop: storedHardStop,
  } = budgets;
  useEffect(() => {
    setDaily(storedDaily?.toString() ?? '');
    setMonthly(storedMonthly?.toString() ?? '');
    setThreshold(Math.round(storedThreshold * 100));
    setHardStop(storedHardStop);
  }, [storedDaily, storedMonthly, storedThreshold, storedHardStop]);

  return (
    <section className="card budgets" aria-label="Budgets">
      <h2>Budgets</h2>
      <form
        className="budget-form"
        onSubmit={(event) => {
          event.preventDefault();
          void update({
            budgets: {
              daily: parseLimit(daily),
              monthly: parseLimit(monthly),
              alertThreshold: threshold / 100,
              hardStop,
            },
          });
        }}
      >
        <label className="field">
          <span>Daily limit (USD)</span>
          <input
            type="number"
            min={0}
            step="0.01"
            placeholder="none"
            value={daily}
            onChange={(e) => setDaily(e.target.value)}
          />
        </label>
        <label className="field">
          <span>Monthly limit (USD)</span>
          <input
            type="number"
            min={0}
            step="0.01"
            placeholder="none"
            value={monthly}
            onChange={(e) => setMonthly(e.target.value)}
          />
        </label>
        <label className="field">
          <span>Alert at {threshold} % of a limit</span>
          <input
            type="range"
            min={5}
            max={100}
            step={5}
            value={threshold}
            onChange={(e) => setThreshold(Number(e.target.value))}
          />
        </label>
        <label className="field">
          <span>At the limit</span>
          <select value={hardStop} onChange={(e) => setHardStop(e.target.value as Budgets['hardStop'])}>
            {HARD_STOPS.map((option) => (
              <option key={option.value} value={option.value}>
                {option.label}
              </option>
            ))}
          </select>
        </label>
        <button type="submit" className="primary">
          Save budgets
        </button>
      </form>
    </section>
  );
}
