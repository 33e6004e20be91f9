import type { Statement } from 'better-sqlite3';
import { z } from 'zod';
import type { SearchHit } from '../contract/api.ts';
import type { Database } from './database.ts';

/**
 * Turns what a person typed into an FTS5 query that cannot raise a syntax error: every word becomes a
 * quoted string (so AND, OR, NEAR, quotes, colons, stars and brackets are plain text), "quoted phrases"
 * stay phrases. Terms are ANDed. No automatic prefix matching: a short prefix expands to hundreds of
 * terms and made queries ten times slower on a large library (bench/store.ts).
 * Returns undefined when nothing searchable is left (only punctuation).
 */
export function toFtsQuery(input: string): string | undefined {
  const parts: string[] = [];
  // Odd quotes are closed at the end of the input: `say "hello` searches the phrase "hello".
  const pieces = input.split('"');
  pieces.forEach((piece, index) => {
    const words = piece.match(/[\p{L}\p{N}_]+/gu) ?? [];
    if (words.length === 0) return;
    if (index % 2 === 1) parts.push(`"${words.join(' ')}"`);
    else for (const word of words) parts.push(`"${word}"`);
  });
  return parts.length === 0 ? undefined : parts.join(' ');
}

const hitRow = z.object({
  rowid: z.number(),
  id: z.string(),
  title: z.string(),
  timestamp: z.number().nullable(),
  rank: z.number(),
});

/**
 * A query matching a large part of the library (a common word) would have bm25 computed for every
 * matching row. Ranking instead among the newest RANK_WINDOW matches keeps every query fast; ranking is
 * exact for queries with fewer matches, which is nearly every query a person types.
 */
export const RANK_WINDOW = 500;

interface Source {
  kind: SearchHit['kind'];
  /** Ranked candidates: the newest RANK_WINDOW matches, ranked, joined to what a hit shows. */
  hits: string;
  /** The snippet of one matching row. */
  snippet: string;
}

function source(kind: SearchHit['kind'], fts: string, join: string, columns: string, snippet: string): Source {
  return {
    kind,
    // Rank inside the window, keep the best @limit, and only then join them to their rows.
    hits: `SELECT c.rowid AS rowid, ${columns}, c.rank AS rank
      FROM (SELECT rowid, rank FROM (
        SELECT rowid, bm25(${fts}) AS rank FROM ${fts} WHERE ${fts} MATCH @query ORDER BY rowid DESC LIMIT ${RANK_WINDOW}
      ) ORDER BY rank LIMIT @limit) c
      ${join} ORDER BY c.rank`,
    snippet: `SELECT ${snippet} AS snippet FROM ${fts} WHERE ${fts} MATCH @query AND rowid = @rowid`,
  };
}

const SOURCES: Source[] = [
  // Segments: where in which meeting the words were said.
  source(
    'meeting',
    'segments_fts',
    'JOIN segments s ON s.rowid = c.rowid JOIN meetings m ON m.id = s.meeting_id',
    'm.id AS id, m.title AS title, s.start_seconds AS timestamp',
    `snippet(segments_fts, 0, '[[', ']]', '…', 16)`,
  ),
  source(
    'meeting',
    'meetings_fts',
    'JOIN meetings m ON m.rowid = c.rowid',
    'm.id AS id, m.title AS title, NULL AS timestamp',
    `highlight(meetings_fts, 0, '[[', ']]')`,
  ),
  source(
    'chat',
    'messages_fts',
    'JOIN messages msg ON msg.rowid = c.rowid JOIN conversations conv ON conv.id = msg.conversation_id',
    'conv.id AS id, conv.title AS title, NULL AS timestamp',
    `snippet(messages_fts, 0, '[[', ']]', '…', 16)`,
  ),
];

interface PreparedSource {
  kind: SearchHit['kind'];
  hits: Statement;
  snippet: Statement;
}

/** Full-text search over meeting transcripts, meeting titles and chat messages, best (bm25) first. */
export class SearchIndex {
  private readonly statements: PreparedSource[];

  constructor(db: Database) {
    this.statements = SOURCES.map((s) => ({ kind: s.kind, hits: db.prepare(s.hits), snippet: db.prepare(s.snippet) }));
  }

  search(input: string, limit = 20): SearchHit[] {
    const query = toFtsQuery(input);
    if (query === undefined) return [];
    const ranked: { source: PreparedSource; row: z.infer<typeof hitRow> }[] = [];
    for (const source of this.statements) {
      for (const raw of source.hits.all({ query, limit })) ranked.push({ source, row: hitRow.parse(raw) });
    }
    // bm25 scores are negative, more negative is better; the sort is stable, so ties keep meetings first.
    ranked.sort((a, b) => a.row.rank - b.row.rank);
    // Snippets only for the hits returned: building one reads the row's text again. The rowid is bound
    // as an integer: FTS5 ignores a `rowid = ?` filter given a REAL, which a JS number binds as, and
    // would answer with the first matching row of any meeting.
    return ranked.slice(0, limit).map(({ source, row }) => {
      const { snippet } = source.snippet.get({ query, rowid: BigInt(row.rowid) }) as { snippet: string };
      return { kind: source.kind, id: row.id, title: row.title, snippet, timestamp: row.timestamp, rank: row.rank };
    });
  }
}
