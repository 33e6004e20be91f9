import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../electron/engine/store/database.ts';
import { MIGRATIONS, SCHEMA_VERSION } from '../../../electron/engine/store/migrations.ts';
import { openStore } from '../../../electron/engine/store/store.ts';
import { tempDirsRemovedAfterEach } from './helpers.ts';

const tempDir = tempDirsRemovedAfterEach();

/** Rows an older Switchboard would have written, in the schema of the version that introduced them. */
const SEED_AT_VERSION: Record<number, string> = {
  1: `INSERT INTO conversations VALUES ('c1', 'Old chat', 1, 2);
      INSERT INTO messages (id, conversation_id, role, content, created_at, provider_id, model, input_tokens,
        output_tokens, cost_usd, latency_ms, fallback_depth)
        VALUES ('m1', 'c1', 'assistant', 'the quarterly roadmap looks fine', 2, 'openai', 'gpt-4o-mini', 10, 20, 0.001, 300, 1);
      INSERT INTO settings VALUES ('theme', '"dark"');`,
  2: `INSERT INTO meetings (id, title, created_at, status, progress) VALUES ('meet1', 'Budget review', 5, 'done', 1);
      INSERT INTO segments (meeting_id, idx, start_seconds, end_seconds, text) VALUES ('meet1', 0, 12.5, 15, 'we overspent on cloud inference');
      INSERT INTO summaries (meeting_id, model, template, summary, action_items, decisions, created_at)
        VALUES ('meet1', 'local', 'tpl', 'short', '[{"text":"cut spend","owner":"Ana"}]', '["go local"]', 6);`,
  3: `INSERT INTO usage_events (id, time, kind, provider_id, model, profile, strategy, input_tokens, output_tokens,
        tokens_estimated, cost_usd, latency_ms, outcome, fallback_depth)
        VALUES ('u1', 1000, 'chat', 'openai', 'gpt-4o-mini', 'default', 'priority', 5, 7, 0, 0.25, 120, 'success', 0);`,
  4: `INSERT INTO meetings (id, title, created_at, status, progress) VALUES ('meet2', 'Standup', 7, 'running', 0.4);
      INSERT INTO segments (meeting_id, idx, start_seconds, end_seconds, text) VALUES ('meet2', 0, 1, 2, 'the release slipped');`,
  5: `INSERT INTO meetings (id, title, created_at, status, progress, runner_pid) VALUES ('meet3', 'Release sync', 8, 'done', 1, NULL);
      INSERT INTO segments (meeting_id, idx, start_seconds, end_seconds, text) VALUES ('meet3', 0, 3, 4.5, 'the installer still fails');`,
  6: `INSERT INTO meetings (id, title, created_at, status, progress, channels) VALUES ('meet4', 'Retro', 9, 'done', 1, NULL);`,
  7: `INSERT INTO usage_events (id, time, kind, provider_id, model, profile, strategy, input_tokens, output_tokens,
        tokens_estimated, cost_usd, latency_ms, outcome, fallback_depth)
        VALUES ('u7', 2000, 'chat', 'groq', 'llama', 'default', 'priority', 1, 1, 0, 0.5, 80, 'success', 0);`,
};

function expectSeededData(file: string, from: number): void {
  const store = openStore({ file, keyProvider: { loadKey: () => Buffer.alloc(32, 7) } });
  try {
    expect(store.db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
    if (from >= 1) {
      const chat = store.conversations.get('c1');
      expect(chat.messages[0]).toMatchObject({
        content: 'the quarterly roadmap looks fine',
        costUsd: 0.001,
        fallbackDepth: 1,
      });
      expect(store.search.search('roadmap')[0]).toMatchObject({ kind: 'chat', id: 'c1' });
      // Answers stored before provenance was kept do not claim where they ran.
      expect(chat.messages[0]?.onMachine).toBeUndefined();
    }
    if (from >= 2) {
      expect(store.meetings.segments('meet1')[0]).toMatchObject({
        start: 12.5,
        text: 'we overspent on cloud inference',
      });
      expect(store.meetings.summary('meet1')?.actionItems).toEqual([{ text: 'cut spend', owner: 'Ana' }]);
      expect(store.meetings.summary('meet1')?.producedBy).toEqual([]);
      expect(store.meetings.get('meet1')).toMatchObject({ transcribedBy: [], cloudConsent: false });
      const hits = store.search.search('overspent');
      expect(hits[0]).toMatchObject({ kind: 'meeting', id: 'meet1', timestamp: 12.5 });
      expect(store.search.search('budget')[0]).toMatchObject({ id: 'meet1', snippet: '[[Budget]] review' });
    }
    if (from >= 3) {
      const [requests, costUsd] = from >= 7 ? [2, 0.75] : [1, 0.25];
      expect(store.usage.totals(0)).toMatchObject({ requests, costUsd });
    }
    if (from >= 4) {
      // A job running when the database was upgraded has no runner: the next start finds it interrupted.
      expect(store.meetings.get('meet2')).toMatchObject({ status: 'running', runnerPid: null });
      expect(store.search.search('slipped')[0]).toMatchObject({ id: 'meet2', snippet: 'the release [[slipped]]' });
    }
    if (from >= 5) {
      // A transcript from before channels and word timestamps: one channel, no words, not recording.
      const [segment] = store.meetings.segments('meet3');
      expect(segment).toEqual({
        index: 0,
        start: 3,
        end: 4.5,
        text: 'the installer still fails',
        speaker: null,
        confidence: null,
      });
      expect(store.meetings.get('meet3')).toMatchObject({ channels: null, recording: false });
      expect(store.search.search('installer')[0]).toMatchObject({ id: 'meet3', timestamp: 3 });
    }
    // Meetings stored before provenance was kept say nobody in particular transcribed them, and ask no consent.
    if (from >= 6) expect(store.meetings.get('meet4')).toMatchObject({ transcribedBy: [], cloudConsent: false });
    // Usage from before app keys came with the API token: it is the token's row of a report by key.
    if (from >= 7) {
      expect(store.usage.costReport('key').rows).toEqual([expect.objectContaining({ key: 'api-token', requests: 2 })]);
      expect(store.appKeys.list()).toEqual([]);
    }
  } finally {
    store.close();
  }
}

describe('migrations', () => {
  it('creates the latest schema in an empty file', () => {
    const file = join(tempDir(), 'sb.db');
    const db = openDatabase(file);
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    db.close();
    expectSeededData(file, 0);
  });

  it.each(MIGRATIONS.map((_, index) => index + 1).filter((version) => version < SCHEMA_VERSION))(
    'upgrades a version %i database to the latest, keeping its data',
    (version) => {
      const file = join(tempDir(), 'sb.db');
      const old = openDatabase(file, { schemaVersion: version });
      expect(old.pragma('user_version', { simple: true })).toBe(version);
      for (let seeded = 1; seeded <= version; seeded++) old.exec(SEED_AT_VERSION[seeded] ?? '');
      old.close();
      expectSeededData(file, version);
    },
  );

  it('every schema version but the latest has seed rows, so no step goes untested', () => {
    for (let version = 1; version < SCHEMA_VERSION; version++) expect(SEED_AT_VERSION[version]).toBeDefined();
  });

  it('refuses a database from a newer Switchboard instead of damaging it', () => {
    const file = join(tempDir(), 'sb.db');
    openDatabase(file).close();
    const newer = openDatabase(file);
    newer.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    newer.close();
    expect(() => openDatabase(file)).toThrow(/newer than this Switchboard knows/);
  });
});
