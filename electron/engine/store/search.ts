import { z } from 'zod';
import type { SearchHit } from '../contract/api.ts';
import type { Database } from './database.ts';

/**
 * Turns what a person typed into an FTS5 query that cannot raise a syntax error: every word becomes a
 * quoted string (so AND, OR, NEAR, quotes, colons, stars and brackets are plain text), "quoted phrases"
 * stay phrases, and the last word also matches as a prefix so results follow typing. Terms are ANDed.
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
  if (parts.length === 0) return undefined;
  const endsInWord = /[\p{L}\p{N}_]$/u.test(input);
  if (endsInWord) parts[parts.length - 1] = `${parts[parts.length - 1]}*`;
  return parts.join(' ');
}

const hitRow = z.object({
  id: z.string(),
  title: z.string(),
  snippet: z.string(),
  timestamp: z.number().nullable(),
  rank: z.number(),
});

const SNIPPET = `'[[', ']]', '…', 16`;

const QUERIES = {
  meeting: [
    // Segments: where in which meeting the words were said.
    `SELECT m.id AS id, m.title AS title, snippet(segments_fts, 0, ${SNIPPET}) AS snippet,
       s.start_seconds AS timestamp, segments_fts.rank AS rank
     FROM segments_fts JOIN segments s ON s.rowid = segments_fts.rowid JOIN meetings m ON m.id = s.meeting_id
     WHERE segments_fts MATCH @query ORDER BY segments_fts.rank LIMIT @limit`,
    // Titles.
    `SELECT m.id AS id, m.title AS title, highlight(meetings_fts, 0, '[[', ']]') AS snippet,
       NULL AS timestamp, meetings_fts.rank AS rank
     FROM meetings_fts JOIN meetings m ON m.rowid = meetings_fts.rowid
     WHERE meetings_fts MATCH @query ORDER BY meetings_fts.rank LIMIT @limit`,
  ],
  chat: [
    `SELECT c.id AS id, c.title AS title, snippet(messages_fts, 0, ${SNIPPET}) AS snippet,
       NULL AS timestamp, messages_fts.rank AS rank
     FROM messages_fts JOIN messages msg ON msg.rowid = messages_fts.rowid JOIN conversations c ON c.id = msg.conversation_id
     WHERE messages_fts MATCH @query ORDER BY messages_fts.rank LIMIT @limit`,
  ],
} as const;

/** Full-text search over meeting transcripts, meeting titles and chat messages, best (bm25) first. */
export class SearchIndex {
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  search(input: string, limit = 20): SearchHit[] {
    const query = toFtsQuery(input);
    if (query === undefined) return [];
    const hits: SearchHit[] = [];
    for (const [kind, statements] of Object.entries(QUERIES) as [SearchHit['kind'], readonly string[]][]) {
      for (const sql of statements) {
        for (const raw of this.db.prepare(sql).all({ query, limit })) {
          hits.push({ kind, ...hitRow.parse(raw) });
        }
      }
    }
    // bm25 scores are negative, more negative is better; ties keep meetings before chats.
    return hits.sort((a, b) => a.rank - b.rank).slice(0, limit);
  }
}
