import type { Statement } from 'better-sqlite3';
import type { z } from 'zod';
import { SwitchboardError } from '../contract/errors.ts';
import { type Database, statementCache } from './database.ts';

/** App settings as key → JSON value. Each reader brings the schema of the value it expects. */
export class SettingsRepository {
  private readonly prepare: (sql: string) => Statement;

  constructor(db: Database) {
    this.prepare = statementCache(db);
  }

  get<T>(key: string, schema: z.ZodType<T>): T | undefined {
    const row = this.prepare('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    if (!row) return undefined;
    const parsed = schema.safeParse(JSON.parse(row.value));
    if (!parsed.success) {
      throw new SwitchboardError('CONFIG_INVALID', `the stored setting "${key}" is not valid: ${parsed.error.message}`);
    }
    return parsed.data;
  }

  set(key: string, value: unknown): void {
    const json = JSON.stringify(value);
    if (json === undefined) throw new SwitchboardError('INVALID_REQUEST', `setting "${key}" has no JSON value`);
    this.prepare(
      'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ).run(key, json);
  }

  delete(key: string): void {
    this.prepare('DELETE FROM settings WHERE key = ?').run(key);
  }

  keys(): string[] {
    return (this.prepare('SELECT key FROM settings ORDER BY key').all() as { key: string }[]).map((row) => row.key);
  }
}
