import type { ChatMessage } from '../contract/chat.ts';

/**
 * What the seeds' provider-manager endpoints need beyond the Engine: per-user sticky assignment
 * (statistics, forcing a provider for a user) and cost estimates. Optional: without one, those
 * endpoints answer 501 and everything else works.
 */
export interface RoutingService {
  /** The provider pinned to a user with forceProvider; requests from that user go there. */
  forcedProvider(userId: string): string | undefined;
  forceProvider(userId: string, providerId: string): void;
  stickyStats(): StickyStats;
  compareCost(request: CostQuery): Promise<CostEstimate[]>;
}

/** The seed's provider_router.get_provider_stats(). */
export interface StickyStats {
  availableProviders: string[];
  totalAssignments: number;
  /** Users assigned per provider. */
  providerUsage: Record<string, number>;
  /** Percent of users per provider. */
  distribution: Record<string, number>;
  cacheSize: number;
  /** Epoch seconds of the last rotation of assignments. */
  lastRotation: number;
}

export interface CostQuery {
  capability: 'chat' | 'embedding' | 'transcription';
  messages?: ChatMessage[];
  maxTokens?: number;
  /** For transcription. */
  audioMinutes?: number;
}

export interface CostEstimate {
  providerId: string;
  model: string;
  costUsd: number;
  priority: number;
  onMachine: boolean;
}
