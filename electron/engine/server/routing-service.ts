import type { RoutingService } from '../routing/router.ts';

/**
 * What the seeds' provider-manager endpoints need of the routing service beyond the Engine: per-user
 * sticky assignment (statistics, pinning a user to a provider) and cost estimates. The routing
 * service (routing/router.ts) is one; without one, those endpoints answer 501 and everything else works.
 * Pinned users stick under the `sticky` strategy, which decides per-user routing, as in the seeds.
 */
export type ServedRouting = {
  sticky: Pick<RoutingService['sticky'], 'forceProvider' | 'statistics'>;
} & Pick<RoutingService, 'compareProviders'>;
