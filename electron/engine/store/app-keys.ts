import { createHash, randomBytes } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import { z } from 'zod';
import type { AppKey, IssuedAppKey } from '../contract/api.ts';
import { SwitchboardError } from '../contract/errors.ts';
import { type Database, statementCache } from './database.ts';

/** What a key is made with; limits left out do not apply. */
export interface AppKeySpec {
  name: string;
  rpm?: number;
  tpm?: number;
  dailyBudgetUsd?: number;
  monthlyBudgetUsd?: number;
  models?: string[];
}

const positive = (what: string) => z.number().positive(`${what} must be a positive number`);
export const appKeySpecSchema = z
  .object({
    name: z.string().trim().min(1, 'a key needs a name (the program it is for)').max(100),
    rpm: positive('--rpm').int('--rpm must be a whole number').optional(),
    tpm: positive('--tpm').int('--tpm must be a whole number').optional(),
    dailyBudgetUsd: positive('--daily-budget').optional(),
    monthlyBudgetUsd: positive('--monthly-budget').optional(),
    models: z.array(z.string().trim().min(1)).min(1, '--models needs at least one model').optional(),
  })
  .strict();

const row = z.object({
  id: z.string(),
  name: z.string(),
  hint: z.string(),
  rpm: z.number().nullable(),
  tpm: z.number().nullable(),
  daily_budget_usd: z.number().nullable(),
  monthly_budget_usd: z.number().nullable(),
  models: z.string().nullable(),
  created_at: z.number(),
  rotated_at: z.number().nullable(),
  revoked_at: z.number().nullable(),
});

const COLUMNS =
  'id, name, hint, rpm, tpm, daily_budget_usd, monthly_budget_usd, models, created_at, rotated_at, revoked_at';

function toAppKey(raw: unknown): AppKey {
  const r = row.parse(raw);
  const key: AppKey = { id: r.id, name: r.name, hint: r.hint, createdAt: r.created_at };
  if (r.rpm !== null) key.rpm = r.rpm;
  if (r.tpm !== null) key.tpm = r.tpm;
  if (r.daily_budget_usd !== null) key.dailyBudgetUsd = r.daily_budget_usd;
  if (r.monthly_budget_usd !== null) key.monthlyBudgetUsd = r.monthly_budget_usd;
  if (r.models !== null) key.models = z.array(z.string()).parse(JSON.parse(r.models));
  if (r.rotated_at !== null) key.rotatedAt = r.rotated_at;
  if (r.revoked_at !== null) key.revokedAt = r.revoked_at;
  return key;
}

function hashOf(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A new key: `sbk-` and 32 random bytes, so a leaked one is recognisable (secret scanners, logs). */
function newSecret(): { secret: string; hash: string; hint: string } {
  const secret = `sbk-${randomBytes(32).toString('base64url')}`;
  return { secret, hash: hashOf(secret), hint: `…${secret.slice(-4)}` };
}

/**
 * Per-app keys in SQLite. Only a key's SHA-256 is kept (a key is 256 random bits: a plain hash is
 * enough, and a lookup is one indexed query per request); the key in clear exists once, in what
 * create and rotate return.
 */
export class AppKeyRepository {
  private readonly prepare: (sql: string) => Statement;

  constructor(db: Database) {
    this.prepare = statementCache(db);
  }

  create(spec: AppKeySpec, now = Date.now()): IssuedAppKey {
    const parsed = appKeySpecSchema.safeParse(spec);
    if (!parsed.success) {
      throw new SwitchboardError('INVALID_REQUEST', parsed.error.issues.map((issue) => issue.message).join('; '), {
        retryable: false,
      });
    }
    const valid = parsed.data;
    const { secret, hash, hint } = newSecret();
    const id = `key_${randomBytes(6).toString('hex')}`;
    this.prepare(
      `INSERT INTO app_keys (id, name, secret_hash, hint, rpm, tpm, daily_budget_usd, monthly_budget_usd, models, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      id,
      valid.name,
      hash,
      hint,
      valid.rpm ?? null,
      valid.tpm ?? null,
      valid.dailyBudgetUsd ?? null,
      valid.monthlyBudgetUsd ?? null,
      valid.models ? JSON.stringify(valid.models) : null,
      now,
    );
    return { ...this.get(id), key: secret };
  }

  list(): AppKey[] {
    return this.prepare(`SELECT ${COLUMNS} FROM app_keys ORDER BY created_at, id`).all().map(toAppKey);
  }

  /** The key with this id, revoked or not; NOT_FOUND when there is none. */
  get(id: string): AppKey {
    const found = this.prepare(`SELECT ${COLUMNS} FROM app_keys WHERE id = ?`).get(id);
    if (!found) {
      throw new SwitchboardError('NOT_FOUND', `no app key "${id}": \`switchboard keys list\` shows the ids`, {
        retryable: false,
      });
    }
    return toAppKey(found);
  }

  /** The live key a request presented, if it is one. */
  findBySecret(secret: string): AppKey | undefined {
    if (!secret.startsWith('sbk-')) return undefined;
    const found = this.prepare(`SELECT ${COLUMNS} FROM app_keys WHERE secret_hash = ? AND revoked_at IS NULL`).get(
      hashOf(secret),
    );
    return found ? toAppKey(found) : undefined;
  }

  /** Stops the key working at once; its usage stays on record under its id. */
  revoke(id: string, now = Date.now()): AppKey {
    const key = this.get(id);
    if (key.revokedAt === undefined) this.prepare('UPDATE app_keys SET revoked_at = ? WHERE id = ?').run(now, id);
    return this.get(id);
  }

  /** A new secret for the same key (same id, limits and usage); the old secret stops working at once. */
  rotate(id: string, now = Date.now()): IssuedAppKey {
    const key = this.get(id);
    if (key.revokedAt !== undefined) {
      throw new SwitchboardError('INVALID_REQUEST', `app key ${id} (${key.name}) is revoked: create a new one`, {
        retryable: false,
      });
    }
    const { secret, hash, hint } = newSecret();
    this.prepare('UPDATE app_keys SET secret_hash = ?, hint = ?, rotated_at = ? WHERE id = ?').run(hash, hint, now, id);
    return { ...this.get(id), key: secret };
  }
}
