import type { AppApiTable } from '../server/app-api.ts';
import { type ChatApiDeps, createChatHandlers } from './chat.ts';
import { createDataHandlers, type DataApiDeps } from './data.ts';
import { type AppKeysApiDeps, createAppKeysHandlers } from './keys.ts';
import { createMeetingsHandlers, type MeetingsApiDeps } from './meetings.ts';
import { createModelsHandlers, type ModelsApiDeps } from './models.ts';
import { createProvidersHandlers, type ProvidersApiDeps } from './providers.ts';
import { createUsageHandlers, type UsageApiDeps } from './usage.ts';

export type AppApiDeps = ChatApiDeps &
  MeetingsApiDeps &
  Omit<ModelsApiDeps, 'changed'> &
  ProvidersApiDeps &
  UsageApiDeps &
  AppKeysApiDeps &
  DataApiDeps & { engine: ProvidersApiDeps['engine'] };

/** Every method of contract/api.ts, one table for IPC and for browser mode's HTTP routes. */
export function createAppApi(deps: AppApiDeps): AppApiTable {
  return {
    ...createChatHandlers(deps),
    ...createMeetingsHandlers(deps),
    ...createModelsHandlers({ ...deps, changed: () => deps.engine.refreshLocalModels() }),
    ...createProvidersHandlers(deps),
    ...createUsageHandlers(deps),
    ...createAppKeysHandlers(deps),
    ...createDataHandlers(deps),
  } as AppApiTable;
}
