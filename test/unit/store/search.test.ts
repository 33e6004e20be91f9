import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toFtsQuery } from '../../../electron/engine/store/search.ts';
import { openStore } from '../../../electron/engine/store/store.ts';
import { tempDirsRemovedAfterEach } from './helpers.ts';

const tempDir = tempDirsRemovedAfterEach();
const standupText = resolve(import.meta.dirname, '../../../..', 'shared', 'audio', 'standup.txt');

function standupLines(): string[] {
  try {
    return readFileSync(standupText, 'utf8').trim().split('\n');
  } catch {
    throw new Error(`shared test data missing: ${standupText} (the checkout needs ../shared beside the repo)`);
  }
}

describe('full-text search', () => {
  it('finds a phrase from the standup with its meeting and the time it was said', () => {
    const store = openStore({ file: join(tempDir(), 'sb.db') });
    const other = store.meetings.create({ title: 'Design sync', status: 'done' });
    store.meetings.replaceSegments(other.id, [
      { index: 0, start: 0, end: 4, text: 'We talked about colours.', speaker: null, confidence: null },
    ]);
    const standup = store.meetings.create({ title: 'Weekly planning', status: 'done' });
    // One line per turn, 0.8 s of silence between turns, as standup.wav was made.
    store.meetings.replaceSegments(
      standup.id,
      standupLines().map((text, index) => ({
        index,
        start: index * 8,
        end: index * 8 + 7.2,
        text,
        speaker: null,
        confidence: null,
      })),
    );

    const hits = store.search.search('installer still fails');
    expect(hits[0]).toMatchObject({ kind: 'meeting', id: standup.id, title: 'Weekly planning', timestamp: 8 });
    expect(hits[0]?.snippet).toContain('[[installer]] [[still]] [[fails]]');

    const phrase = store.search.search('"route summaries to the local model"');
    expect(phrase).toHaveLength(1);
    expect(phrase[0]).toMatchObject({ id: standup.id, timestamp: 40 });

    expect(store.search.search('planning')[0]).toMatchObject({ id: standup.id });
    store.close();
  });

  it('never raises on FTS syntax typed by a user', () => {
    const store = openStore({ file: join(tempDir(), 'sb.db') });
    const meeting = store.meetings.create({ title: 'Syntax', status: 'done' });
    store.meetings.replaceSegments(meeting.id, [
      { index: 0, start: 3, end: 5, text: 'NEAR the "end" of AND OR text: col*', speaker: null, confidence: null },
    ]);
    for (const query of [
      '"',
      'AND',
      'OR NOT',
      'NEAR(',
      'col:',
      '*',
      'end"',
      '(((',
      "it's",
      '^start',
      '-x',
      '{a b}',
      '"""',
    ]) {
      expect(() => store.search.search(query)).not.toThrow();
    }
    expect(store.search.search('AND OR')[0]).toMatchObject({ id: meeting.id, timestamp: 3 });
    expect(store.search.search('text:')[0]).toMatchObject({ id: meeting.id });
    expect(store.search.search('?!')).toEqual([]);
    store.close();
  });

  it('follows edits: renamed meetings, deleted meetings and chat messages', () => {
    const store = openStore({ file: join(tempDir(), 'sb.db') });
    const meeting = store.meetings.create({ title: 'Kickoff', status: 'done' });
    store.meetings.update(meeting.id, { title: 'Retrospective' });
    expect(store.search.search('kickoff')).toEqual([]);
    expect(store.search.search('retrospective')[0]).toMatchObject({ id: meeting.id });
    store.meetings.delete(meeting.id);
    expect(store.search.search('Retrospective')).toEqual([]);

    const chat = store.conversations.create('Cooking');
    const answer = store.conversations.addMessage(chat.id, 'assistant', 'placeholder');
    store.conversations.recordAnswer(answer.id, { content: 'Simmer the risotto slowly.' });
    expect(store.search.search('placeholder')).toEqual([]);
    expect(store.search.search('risotto')[0]).toMatchObject({
      kind: 'chat',
      id: chat.id,
      title: 'Cooking',
      timestamp: null,
    });
    store.close();
  });

  it('quotes every term and keeps typed phrases', () => {
    expect(toFtsQuery('hello world')).toBe('"hello" "world"');
    expect(toFtsQuery('say "good morning" ')).toBe('"say" "good morning"');
    expect(toFtsQuery('NEAR(a b)')).toBe('"NEAR" "a" "b"');
    expect(toFtsQuery('"')).toBeUndefined();
  });
});
