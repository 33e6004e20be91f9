import type { BudgetAlert } from '../accounting/budget.ts';
import type { UsageEvent } from '../accounting/types.ts';
import type { StateStatus } from '../core/state.ts';
import type { BreakerState } from './breaker.ts';
import type { HealthChange } from './health.ts';

/**
 * Operational events the Engine emits, under names that stay stable for whoever turns them into
 * logs, alerts and metrics. Keys appear masked (…a9f2), never in clear.
 */
export interface OperationalEvents {
  'breaker.open': [{ key: string; providerId: string; model: string; from: BreakerState }];
  'breaker.close': [{ key: string; providerId: string; model: string; from: BreakerState }];
  'key.disabled': [{ providerId: string; key: string; reason: string }];
  'key.restored': [{ providerId: string; key: string }];
  'health.down': [HealthChange];
  'health.up': [HealthChange];
  'budget.threshold': [BudgetAlert];
  'budget.exhausted': [BudgetAlert];
  'config.reloaded': [{ file?: string }];
  'config.rejected': [{ file?: string; message: string }];
  /** Shared state was lost (Redis unreachable: this process goes on with its own) or found again. */
  'state.changed': [StateStatus];
}

/** The router's events: the operational ones, every health change and every request's usage event. */
export interface RoutingEvents
  extends Omit<OperationalEvents, 'config.reloaded' | 'config.rejected' | 'state.changed'> {
  'health.change': [HealthChange];
  usage: [UsageEvent];
}
