import { randomUUID } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import { z } from 'zod';
import { SwitchboardError } from '../contract/errors.ts';
import { type Database, statementCache } from './database.ts';

/** Where a template takes the transcript (or, when map-reducing, the partial summaries). */
export const TRANSCRIPT_PLACEHOLDER = '{{transcript}}';

export const DEFAULT_TEMPLATE_ID = 'default';

export const DEFAULT_SUMMARY_TEMPLATE = `You summarise meetings. Read the meeting transcript below and answer with one JSON object and nothing else:
{"summary": "a short paragraph of what was discussed", "action_items": [{"text": "what must be done", "owner": "who will do it, or null when nobody was named"}], "decisions": ["each decision the meeting took"]}

Transcript:
${TRANSCRIPT_PLACEHOLDER}`;

const templateRow = z.object({
  id: z.string(),
  name: z.string(),
  prompt: z.string(),
  builtin: z.number(),
  updated_at: z.number(),
});

export interface SummaryTemplate {
  id: string;
  name: string;
  prompt: string;
  /** The template that ships with the app (editable, not deletable). */
  builtin: boolean;
  updatedAt: number;
}

function toTemplate(raw: unknown): SummaryTemplate {
  const row = templateRow.parse(raw);
  return { id: row.id, name: row.name, prompt: row.prompt, builtin: row.builtin === 1, updatedAt: row.updated_at };
}

function checkPrompt(prompt: string): void {
  if (!prompt.includes(TRANSCRIPT_PLACEHOLDER)) {
    throw new SwitchboardError(
      'INVALID_REQUEST',
      `a summary template must say where the transcript goes with ${TRANSCRIPT_PLACEHOLDER}`,
    );
  }
}

/** User-editable summary prompts. The shipped default is written on first open and never overwritten. */
export class TemplateRepository {
  private readonly prepare: (sql: string) => Statement;

  constructor(db: Database) {
    this.prepare = statementCache(db);
    db.prepare(
      `INSERT OR IGNORE INTO summary_templates (id, name, prompt, builtin, updated_at) VALUES (?, 'Default', ?, 1, 0)`,
    ).run(DEFAULT_TEMPLATE_ID, DEFAULT_SUMMARY_TEMPLATE);
  }

  list(): SummaryTemplate[] {
    return this.prepare('SELECT * FROM summary_templates ORDER BY builtin DESC, name').all().map(toTemplate);
  }

  get(id: string = DEFAULT_TEMPLATE_ID): SummaryTemplate {
    const row = this.prepare('SELECT * FROM summary_templates WHERE id = ?').get(id);
    if (!row) throw new SwitchboardError('NOT_FOUND', `no summary template with id ${id}`);
    return toTemplate(row);
  }

  /** A template by id or by name (any case), as a person names it on the command line. */
  find(idOrName: string): SummaryTemplate {
    const wanted = idOrName.trim().toLowerCase();
    const found = this.list().find((t) => t.id === idOrName || t.name.toLowerCase() === wanted);
    if (!found) {
      throw new SwitchboardError(
        'NOT_FOUND',
        `no summary template is called "${idOrName}"; there are: ${this.list()
          .map((t) => t.name)
          .join(', ')}`,
      );
    }
    return found;
  }

  create(name: string, prompt: string, now = Date.now()): SummaryTemplate {
    checkPrompt(prompt);
    const id = randomUUID();
    this.prepare('INSERT INTO summary_templates (id, name, prompt, builtin, updated_at) VALUES (?, ?, ?, 0, ?)').run(
      id,
      name,
      prompt,
      now,
    );
    return this.get(id);
  }

  update(id: string, changes: { name?: string; prompt?: string }, now = Date.now()): SummaryTemplate {
    const current = this.get(id);
    if (changes.prompt !== undefined) checkPrompt(changes.prompt);
    this.prepare('UPDATE summary_templates SET name = ?, prompt = ?, updated_at = ? WHERE id = ?').run(
      changes.name ?? current.name,
      changes.prompt ?? current.prompt,
      now,
      id,
    );
    return this.get(id);
  }

  /** Puts the shipped default's text back. */
  resetDefault(now = Date.now()): SummaryTemplate {
    return this.update(DEFAULT_TEMPLATE_ID, { prompt: DEFAULT_SUMMARY_TEMPLATE }, now);
  }

  delete(id: string): void {
    if (this.get(id).builtin)
      throw new SwitchboardError('INVALID_REQUEST', 'the default template can be edited but not deleted');
    this.prepare('DELETE FROM summary_templates WHERE id = ?').run(id);
  }
}
