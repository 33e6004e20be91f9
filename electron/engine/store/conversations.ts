import { randomUUID } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import { z } from 'zod';
import type { ChatMessageView, ConversationSummary, ConversationView } from '../contract/api.ts';
import { ERROR_CODES, type SerializedError, SwitchboardError } from '../contract/errors.ts';
import { type Database, statementCache } from './database.ts';

const conversationRow = z.object({
  id: z.string(),
  title: z.string(),
  updated_at: z.number(),
  message_count: z.number(),
});

const serializedErrorSchema = z.object({
  code: z.enum(ERROR_CODES),
  message: z.string(),
  providerId: z.string().optional(),
  status: z.number().optional(),
  retryAfterMs: z.number().optional(),
});

const messageRow = z.object({
  id: z.string(),
  role: z.enum(['user', 'assistant', 'system']),
  content: z.string(),
  created_at: z.number(),
  provider_id: z.string().nullable(),
  model: z.string().nullable(),
  input_tokens: z.number().nullable(),
  output_tokens: z.number().nullable(),
  cost_usd: z.number().nullable(),
  latency_ms: z.number().nullable(),
  fallback_depth: z.number().nullable(),
  error: z.string().nullable(),
  provider_label: z.string().nullable(),
  on_machine: z.number().nullable(),
});

/** What an assistant answer cost and who gave it, written once the answer is complete (or failed). */
export interface AnswerRecord {
  content: string;
  providerId?: string;
  providerLabel?: string;
  model?: string;
  /** The answer was written on this machine; false: a cloud provider wrote it. */
  onMachine?: boolean;
  inputTokens?: number;
  outputTokens?: number;
  costUsd?: number;
  latencyMs?: number;
  fallbackDepth?: number;
  error?: SerializedError;
}

function toMessageView(raw: unknown): ChatMessageView {
  const row = messageRow.parse(raw);
  const view: ChatMessageView = { id: row.id, role: row.role, content: row.content, createdAt: row.created_at };
  if (row.provider_id !== null) view.providerId = row.provider_id;
  if (row.model !== null) view.model = row.model;
  if (row.provider_label !== null) view.providerLabel = row.provider_label;
  if (row.on_machine !== null) view.onMachine = row.on_machine === 1;
  if (row.input_tokens !== null) view.inputTokens = row.input_tokens;
  if (row.output_tokens !== null) view.outputTokens = row.output_tokens;
  if (row.cost_usd !== null) view.costUsd = row.cost_usd;
  if (row.latency_ms !== null) view.latencyMs = row.latency_ms;
  if (row.fallback_depth !== null) view.fallbackDepth = row.fallback_depth;
  if (row.error !== null) view.error = serializedErrorSchema.parse(JSON.parse(row.error));
  return view;
}

function toSummary(raw: unknown): ConversationSummary {
  const row = conversationRow.parse(raw);
  return { id: row.id, title: row.title, updatedAt: row.updated_at, messageCount: row.message_count };
}

const SUMMARY_SELECT = `SELECT c.id, c.title, c.updated_at,
  (SELECT count(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count FROM conversations c`;

/** Chat history: conversations and their messages, with what each answer cost. */
export class ConversationRepository {
  private readonly db: Database;
  private readonly prepare: (sql: string) => Statement;

  constructor(db: Database) {
    this.db = db;
    this.prepare = statementCache(db);
  }

  create(title: string, now = Date.now()): ConversationSummary {
    const id = randomUUID();
    this.prepare('INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)').run(
      id,
      title,
      now,
      now,
    );
    return { id, title, updatedAt: now, messageCount: 0 };
  }

  list(): ConversationSummary[] {
    return this.prepare(`${SUMMARY_SELECT} ORDER BY c.updated_at DESC`).all().map(toSummary);
  }

  summary(id: string): ConversationSummary {
    const row = this.prepare(`${SUMMARY_SELECT} WHERE c.id = ?`).get(id);
    if (!row) throw new SwitchboardError('NOT_FOUND', `no conversation with id ${id}`);
    return toSummary(row);
  }

  get(id: string): ConversationView {
    const summary = this.summary(id);
    const messages = this.prepare('SELECT * FROM messages WHERE conversation_id = ? ORDER BY created_at, rowid')
      .all(id)
      .map(toMessageView);
    return { ...summary, messages };
  }

  rename(id: string, title: string): ConversationSummary {
    const result = this.prepare('UPDATE conversations SET title = ? WHERE id = ?').run(title, id);
    if (result.changes === 0) throw new SwitchboardError('NOT_FOUND', `no conversation with id ${id}`);
    return this.summary(id);
  }

  delete(id: string): void {
    const result = this.prepare('DELETE FROM conversations WHERE id = ?').run(id);
    if (result.changes === 0) throw new SwitchboardError('NOT_FOUND', `no conversation with id ${id}`);
  }

  addMessage(
    conversationId: string,
    role: ChatMessageView['role'],
    content: string,
    now = Date.now(),
  ): ChatMessageView {
    const id = randomUUID();
    this.db.transaction(() => {
      this.prepare('INSERT INTO messages (id, conversation_id, role, content, created_at) VALUES (?, ?, ?, ?, ?)').run(
        id,
        conversationId,
        role,
        content,
        now,
      );
      this.prepare('UPDATE conversations SET updated_at = ? WHERE id = ?').run(now, conversationId);
    })();
    return { id, role, content, createdAt: now };
  }

  message(id: string): ChatMessageView {
    const row = this.prepare('SELECT * FROM messages WHERE id = ?').get(id);
    if (!row) throw new SwitchboardError('NOT_FOUND', `no message with id ${id}`);
    return toMessageView(row);
  }

  /**
   * Replaces the text of one of the person's messages and deletes every message after it (their answers
   * no longer answer it): the conversation goes on from the edited message.
   */
  editAndTruncate(conversationId: string, messageId: string, content: string, now = Date.now()): void {
    this.db.transaction(() => {
      const row = this.prepare('SELECT rowid, created_at FROM messages WHERE id = ? AND conversation_id = ?').get(
        messageId,
        conversationId,
      ) as { rowid: number; created_at: number } | undefined;
      if (!row) throw new SwitchboardError('NOT_FOUND', `no message ${messageId} in conversation ${conversationId}`);
      this.prepare(
        `DELETE FROM messages WHERE conversation_id = @conversationId
           AND (created_at > @createdAt OR (created_at = @createdAt AND rowid > @rowid))`,
      ).run({ conversationId, createdAt: row.created_at, rowid: row.rowid });
      this.prepare('UPDATE messages SET content = ? WHERE id = ?').run(content, messageId);
      this.prepare('UPDATE conversations SET updated_at = ? WHERE id = ?').run(now, conversationId);
    })();
  }

  /**
   * Marks the answers that were never written — their process stopped mid-answer (kill -9, a crash) —
   * as interrupted, so the conversation says so instead of showing an empty answer. A process still
   * answering one of them overwrites the mark when it saves the answer. Returns how many were marked.
   */
  markInterruptedAnswers(): number {
    const error = new SwitchboardError(
      'STREAM_INTERRUPTED',
      'this answer was interrupted when Switchboard stopped before it was finished (what it had written is kept): ask again',
    ).toJSON();
    return this.prepare(
      "UPDATE messages SET error = ? WHERE role = 'assistant' AND provider_id IS NULL AND error IS NULL",
    ).run(JSON.stringify(error)).changes;
  }

  /**
   * Keeps the text of an answer still being written, so a process that dies mid-answer loses at most the
   * last moments of it. Only an answer not yet recorded: a late draft never overwrites the final text.
   */
  saveDraft(messageId: string, content: string): void {
    this.prepare(
      "UPDATE messages SET content = ? WHERE id = ? AND role = 'assistant' AND provider_id IS NULL AND error IS NULL",
    ).run(content, messageId);
  }

  /** Writes an assistant answer (or its error) over the message, replacing whatever it held. */
  recordAnswer(messageId: string, answer: AnswerRecord): ChatMessageView {
    this.prepare(
      `UPDATE messages SET content = @content, provider_id = @providerId, provider_label = @providerLabel,
          model = @model, on_machine = @onMachine,
          input_tokens = @inputTokens, output_tokens = @outputTokens, cost_usd = @costUsd,
          latency_ms = @latencyMs, fallback_depth = @fallbackDepth, error = @error WHERE id = @id`,
    ).run({
      id: messageId,
      content: answer.content,
      providerId: answer.providerId ?? null,
      providerLabel: answer.providerLabel ?? null,
      model: answer.model ?? null,
      onMachine: answer.onMachine === undefined ? null : Number(answer.onMachine),
      inputTokens: answer.inputTokens ?? null,
      outputTokens: answer.outputTokens ?? null,
      costUsd: answer.costUsd ?? null,
      latencyMs: answer.latencyMs === undefined ? null : Math.round(answer.latencyMs),
      fallbackDepth: answer.fallbackDepth ?? null,
      error: answer.error ? JSON.stringify(answer.error) : null,
    });
    return this.message(messageId);
  }
}
