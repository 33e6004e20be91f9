import type { Capability } from './capabilities.ts';

export interface ModelInfo {
  id: string;
  providerId: string;
  capabilities?: Capability[];
  contextWindow?: number;
  ownedBy?: string;
}
