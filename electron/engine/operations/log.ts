import type { OperationalEventName, OperationalEventRecord } from '../contract/operations.ts';

/** Events an operator should look at; the others say that things are well again. */
const WARNINGS = new Set<OperationalEventName>([
  'breaker.open',
  'key.disabled',
  'health.down',
  'budget.threshold',
  'budget.exhausted',
  'config.rejected',
]);

/** One JSON line: time, level, event name, the summary a person reads, and the event's fields. */
export function operationalLogLine(record: OperationalEventRecord): string {
  const level = WARNINGS.has(record.event) || (record.event === 'state.changed' && record.data.shared === false);
  return JSON.stringify({
    time: record.time,
    level: level ? 'warn' : 'info',
    event: record.event,
    id: record.id,
    msg: record.summary,
    ...record.data,
  });
}
