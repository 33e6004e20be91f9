import { dirname, join } from 'node:path';
import { AppKeyRepository } from './app-keys.ts';
import { ConversationRepository } from './conversations.ts';
import { closeDatabase, type Database, type OpenDatabaseOptions, openDatabase } from './database.ts';
import { MeetingRepository } from './meetings.ts';
import { SearchIndex } from './search.ts';
import { fileKeyProvider, type KeyProvider, SecretStore } from './secrets.ts';
import { SettingsRepository } from './settings.ts';
import { TemplateRepository } from './templates.ts';
import { UsageRepository } from './usage.ts';

export interface StoreOptions extends OpenDatabaseOptions {
  /** The SQLite file (ResolvedPaths.databaseFile). */
  file: string;
  /** Where the secrets key comes from; headless default: `secret.key` beside the database, mode 0600. */
  keyProvider?: KeyProvider;
}

/** Everything the user creates, in one SQLite database, behind one repository per concept. */
export interface Store {
  readonly db: Database;
  readonly conversations: ConversationRepository;
  readonly meetings: MeetingRepository;
  readonly templates: TemplateRepository;
  readonly settings: SettingsRepository;
  readonly usage: UsageRepository;
  /** Per-app keys (hashed), with their limits, budgets and models. */
  readonly appKeys: AppKeyRepository;
  readonly secrets: SecretStore;
  /** How the secrets' key is protected, in words. */
  readonly keyProtection: string;
  readonly search: SearchIndex;
  /**
   * Deletes everything the user made: meetings, transcripts, summaries, chats, usage, settings, secrets
   * and their own templates. secure_delete overwrites the rows; the checkpoint empties the WAL and VACUUM
   * rewrites the file, so none of it can be read back from free pages.
   */
  eraseAll(): void;
  close(): void;
}

export function openStore(options: StoreOptions): Store {
  const db = openDatabase(options.file, options);
  const keyProvider = options.keyProvider ?? fileKeyProvider(join(dirname(options.file), 'secret.key'));
  // The usage rows go with the checkpoints: off the event loop in the processes that stay up and serve.
  const usage = new UsageRepository(
    db,
    options.checkpointOffThread && options.file !== ':memory:'
      ? { writerThread: { file: options.file, busyTimeoutMs: options.busyTimeoutMs } }
      : {},
  );
  return {
    db,
    conversations: new ConversationRepository(db),
    meetings: new MeetingRepository(db),
    templates: new TemplateRepository(db),
    settings: new SettingsRepository(db),
    usage,
    appKeys: new AppKeyRepository(db),
    secrets: new SecretStore(db, keyProvider),
    keyProtection: keyProvider.describe?.() ?? 'API keys are encrypted under a key this process was given.',
    search: new SearchIndex(db),
    eraseAll: () => {
      usage.flush();
      db.transaction(() => {
        for (const table of [
          'messages',
          'conversations',
          'segments',
          'summaries',
          'meetings',
          'usage_events',
          'app_keys',
          'settings',
          'secrets',
        ]) {
          db.exec(`DELETE FROM ${table}`);
        }
        db.exec('DELETE FROM summary_templates WHERE builtin = 0');
      })();
      db.exec('VACUUM');
      db.pragma('wal_checkpoint(TRUNCATE)');
    },
    close: () => {
      // Usage events wait up to 250 ms to share a transaction: write them (and close the writer thread's
      // connection) before the database closes.
      usage.close();
      closeDatabase(db);
    },
  };
}
