import type { Database } from 'better-sqlite3';
import { SwitchboardError } from '../contract/errors.ts';

/**
 * The schema's history, oldest first. Forward only: a released step is never edited, a change is a new
 * step. `PRAGMA user_version` holds how many steps a database has taken; opening runs the rest, each in
 * its own transaction, so a crash mid-migration leaves the database at the last finished step.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: chat history, settings, secrets.
  `
  CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE TABLE messages (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system')),
    content TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    provider_id TEXT,
    model TEXT,
    input_tokens INTEGER,
    output_tokens INTEGER,
    cost_usd REAL,
    latency_ms INTEGER,
    fallback_depth INTEGER,
    error TEXT
  );
  CREATE INDEX messages_by_conversation ON messages(conversation_id, created_at);
  CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    iv BLOB NOT NULL,
    tag BLOB NOT NULL,
    ciphertext BLOB NOT NULL,
    updated_at INTEGER NOT NULL
  );
  `,
  // 2: meetings, their transcripts and summaries.
  `
  CREATE TABLE meetings (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    duration_seconds REAL,
    source_file TEXT,
    audio_file TEXT,
    language TEXT,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled', 'interrupted')),
    progress REAL NOT NULL DEFAULT 0,
    error TEXT
  );
  CREATE INDEX meetings_by_status ON meetings(status, created_at);
  CREATE TABLE segments (
    rowid INTEGER PRIMARY KEY,
    meeting_id TEXT NOT NULL REFERENCES meetings(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    start_seconds REAL NOT NULL,
    end_seconds REAL NOT NULL,
    text TEXT NOT NULL,
    speaker TEXT,
    confidence REAL,
    UNIQUE (meeting_id, idx)
  );
  CREATE TABLE summaries (
    meeting_id TEXT PRIMARY KEY REFERENCES meetings(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    template TEXT NOT NULL,
    summary TEXT NOT NULL,
    action_items TEXT NOT NULL,
    decisions TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE summary_templates (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    prompt TEXT NOT NULL,
    builtin INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL
  );
  `,
  // 3: usage accounting.
  `
  CREATE TABLE usage_events (
    id TEXT PRIMARY KEY,
    time INTEGER NOT NULL,
    kind TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    model TEXT NOT NULL,
    key_id TEXT,
    user_id TEXT,
    profile TEXT NOT NULL,
    strategy TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    tokens_estimated INTEGER NOT NULL,
    cost_usd REAL NOT NULL,
    latency_ms REAL NOT NULL,
    ttft_ms REAL,
    outcome TEXT NOT NULL,
    error_code TEXT,
    fallback_depth INTEGER NOT NULL
  );
  CREATE INDEX usage_by_time ON usage_events(time, provider_id);
  `,
  // 4: full-text search. External-content tables (the text lives once, in its own table) kept in step by
  // triggers; 'rebuild' indexes the rows written before this step.
  `
  CREATE VIRTUAL TABLE segments_fts USING fts5(text, content='segments', content_rowid='rowid',
    tokenize='unicode61 remove_diacritics 2');
  CREATE TRIGGER segments_fts_insert AFTER INSERT ON segments BEGIN
    INSERT INTO segments_fts(rowid, text) VALUES (new.rowid, new.text);
  END;
  CREATE TRIGGER segments_fts_delete AFTER DELETE ON segments BEGIN
    INSERT INTO segments_fts(segments_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
  END;
  CREATE TRIGGER segments_fts_update AFTER UPDATE OF text ON segments BEGIN
    INSERT INTO segments_fts(segments_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    INSERT INTO segments_fts(rowid, text) VALUES (new.rowid, new.text);
  END;
  INSERT INTO segments_fts(segments_fts) VALUES ('rebuild');

  CREATE VIRTUAL TABLE meetings_fts USING fts5(title, content='meetings', content_rowid='rowid',
    tokenize='unicode61 remove_diacritics 2');
  CREATE TRIGGER meetings_fts_insert AFTER INSERT ON meetings BEGIN
    INSERT INTO meetings_fts(rowid, title) VALUES (new.rowid, new.title);
  END;
  CREATE TRIGGER meetings_fts_delete AFTER DELETE ON meetings BEGIN
    INSERT INTO meetings_fts(meetings_fts, rowid, title) VALUES ('delete', old.rowid, old.title);
  END;
  CREATE TRIGGER meetings_fts_update AFTER UPDATE OF title ON meetings BEGIN
    INSERT INTO meetings_fts(meetings_fts, rowid, title) VALUES ('delete', old.rowid, old.title);
    INSERT INTO meetings_fts(rowid, title) VALUES (new.rowid, new.title);
  END;
  INSERT INTO meetings_fts(meetings_fts) VALUES ('rebuild');

  CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='rowid',
    tokenize='unicode61 remove_diacritics 2');
  CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content);
  END;
  CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
  END;
  CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
    INSERT INTO messages_fts(rowid, content) VALUES (new.rowid, new.content);
  END;
  INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
  `,
  // 5: which process runs a transcription job, so a job whose process died is found at the next start
  // of any command while one another process is running is left alone.
  `
  ALTER TABLE meetings ADD COLUMN runner_pid INTEGER;
  `,
  // 6: live recordings and their transcripts: which side of a call a segment is from, word timestamps,
  // the channels of a two-channel recording, and whether its audio is still being recorded.
  `
  ALTER TABLE segments ADD COLUMN channel TEXT CHECK (channel IN ('me', 'them'));
  ALTER TABLE segments ADD COLUMN words TEXT;
  ALTER TABLE meetings ADD COLUMN channels TEXT;
  ALTER TABLE meetings ADD COLUMN recording INTEGER NOT NULL DEFAULT 0;
  `,
  // 7: provenance — who produced each answer, transcript and summary, and whether it ran on this machine
  // (JSON lists of {providerId, providerLabel, model, onMachine}) — and consent for a meeting's job.
  `
  ALTER TABLE messages ADD COLUMN provider_label TEXT;
  ALTER TABLE messages ADD COLUMN on_machine INTEGER;
  ALTER TABLE meetings ADD COLUMN transcribed_by TEXT;
  ALTER TABLE meetings ADD COLUMN cloud_consent INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE meetings ADD COLUMN consent_provider TEXT;
  ALTER TABLE summaries ADD COLUMN produced_by TEXT;
  `,
  // 8: per-app keys (stored as hashes) with their own limits, budgets and models, and usage by key.
  `
  CREATE TABLE app_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    rpm INTEGER,
    tpm INTEGER,
    daily_budget_usd REAL,
    monthly_budget_usd REAL,
    models TEXT,
    created_at INTEGER NOT NULL,
    rotated_at INTEGER,
    revoked_at INTEGER
  );
  ALTER TABLE usage_events ADD COLUMN app_key_id TEXT;
  CREATE INDEX usage_by_app_key ON usage_events(app_key_id, time) WHERE app_key_id IS NOT NULL;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Runs the steps a database has not taken yet, up to `target` (the latest unless a test asks for less). */
export function migrate(db: Database, target: number = SCHEMA_VERSION): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new SwitchboardError(
      'INVALID_REQUEST',
      `the database is at schema version ${current}, newer than this Switchboard knows (${SCHEMA_VERSION}); update Switchboard or point it at another data directory`,
    );
  }
  for (let version = current; version < target; version++) {
    const step = MIGRATIONS[version]!;
    db.transaction(() => {
      // Two processes opening a new database at once (the app and a CLI command) both saw the old version;
      // with the write lock held, the one that comes second finds the step taken and skips it.
      if ((db.pragma('user_version', { simple: true }) as number) > version) return;
      db.exec(step);
      db.pragma(`user_version = ${version + 1}`);
    }).immediate();
  }
}
