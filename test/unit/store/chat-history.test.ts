import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnswerRuns } from '../../../electron/engine/app-api/answer-runs.ts';
import { createChatHandlers } from '../../../electron/engine/app-api/chat.ts';
import type { ChatSendEvent } from '../../../electron/engine/contract/api.ts';
import { openStore, type Store } from '../../../electron/engine/store/store.ts';
import { always } from '../../fakes/providers.ts';
import { type EngineOnFake, startEngineOnFakeOpenAI } from '../meetings/engine-on-fake.ts';
import { tempDirsRemovedAfterEach } from './helpers.ts';

const tempDir = tempDirsRemovedAfterEach();
let fake: EngineOnFake;

beforeAll(async () => {
  fake = await startEngineOnFakeOpenAI({ text: 'Lisbon is lovely in spring.' });
});
afterAll(() => fake.close());

function handlersOn(store: Store) {
  return createChatHandlers({
    store,
    chat: (request, options) => fake.engine.chat(request, options),
    costOf: (_route, usage) => usage.inputTokens * 1e-6 + usage.outputTokens * 2e-6,
    runs: new AnswerRuns(),
  });
}

async function collect(events: AsyncIterable<ChatSendEvent>): Promise<ChatSendEvent[]> {
  const out: ChatSendEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

const signal = new AbortController().signal;

describe('chat history through the app API', () => {
  it('streams ids first, then route, text and finish, then the saved message with its cost and the title the model gave; history persists', async () => {
    const file = join(tempDir(), 'sb.db');
    const store = openStore({ file });
    const chat = handlersOn(store);
    const asked = fake.fake.requests.length;
    const events = await collect(chat['chat.send']({ content: 'Where should I travel in April?' }, { signal }));
    expect(events.map((event) => event.type)).toEqual([
      'conversation',
      'route',
      ...events.slice(2, -3).map(() => 'text'),
      'finish',
      'saved',
      'title',
    ]);
    // The title comes from the model that answered, asked with the question alone.
    expect(events.at(-1)).toMatchObject({ type: 'title', title: 'Lisbon is lovely in spring' });
    expect(fake.promptsSince(asked)).toEqual([
      'Where should I travel in April?',
      expect.stringMatching(/^Write a title of at most six words[^\n]*\nWhere should I travel in April\?$/),
    ]);
    const first = events[0] as Extract<ChatSendEvent, { type: 'conversation' }>;
    const saved = (events.at(-2) as Extract<ChatSendEvent, { type: 'saved' }>).message;
    expect(saved).toMatchObject({
      id: first.assistantMessageId,
      role: 'assistant',
      content: 'Lisbon is lovely in spring.',
      providerId: 'fakeai',
      model: 'gpt-4o-mini',
      fallbackDepth: 0,
    });
    expect(saved.inputTokens).toBeGreaterThan(0);
    expect(saved.costUsd).toBeCloseTo(saved.inputTokens! * 1e-6 + saved.outputTokens! * 2e-6, 12);
    expect(saved.latencyMs).toBeGreaterThanOrEqual(0);

    // A follow-up sends the whole history.
    const before = fake.fake.requests.length;
    await collect(chat['chat.send']({ conversationId: first.conversationId, content: 'And in May?' }, { signal }));
    const sent = (fake.fake.requests[before]!.body as { messages: { role: string; content: string }[] }).messages;
    expect(sent).toEqual([
      { role: 'user', content: 'Where should I travel in April?' },
      { role: 'assistant', content: 'Lisbon is lovely in spring.' },
      { role: 'user', content: 'And in May?' },
    ]);
    store.close();

    const reopened = openStore({ file });
    const list = await handlersOn(reopened)['conversations.list']({});
    expect(list).toEqual([expect.objectContaining({ title: 'Lisbon is lovely in spring', messageCount: 4 })]);
    expect((await handlersOn(reopened).search({ query: 'lovely spring' }))[0]).toMatchObject({
      kind: 'chat',
      id: first.conversationId,
    });
    reopened.close();
  });

  it('regenerates the last answer in place', async () => {
    const store = openStore({ file: join(tempDir(), 'sb.db') });
    const chat = handlersOn(store);
    const first = (await collect(chat['chat.send']({ content: 'Tell me a fact' }, { signal })))[0] as Extract<
      ChatSendEvent,
      { type: 'conversation' }
    >;
    fake.fake.setText('Octopuses have three hearts.');
    try {
      const events = await collect(
        chat['chat.regenerate'](
          { conversationId: first.conversationId, messageId: first.assistantMessageId },
          { signal },
        ),
      );
      expect(events[0]).toEqual({ ...first });
      const view = await chat['conversations.get']({ id: first.conversationId });
      expect(view.messages.map((message) => [message.role, message.content])).toEqual([
        ['user', 'Tell me a fact'],
        ['assistant', 'Octopuses have three hearts.'],
      ]);
      await expect(
        collect(
          chat['chat.regenerate']({ conversationId: first.conversationId, messageId: first.userMessageId }, { signal }),
        ),
      ).rejects.toThrow(/only the last answer/);
    } finally {
      fake.fake.setText('Lisbon is lovely in spring.');
    }
    store.close();
  });

  it('stores the error (and any partial text) on the answer, then rethrows it', async () => {
    const store = openStore({ file: join(tempDir(), 'sb.db') });
    const chat = handlersOn(store);
    fake.fake.setFaults(always({ kind: 'cut', afterChunks: 3 }));
    const events: ChatSendEvent[] = [];
    try {
      await expect(async () => {
        for await (const event of chat['chat.send']({ content: 'Hello?' }, { signal })) events.push(event);
      }).rejects.toThrow(/STREAM_INTERRUPTED|CONNECTION|BAD_RESPONSE/);
    } finally {
      fake.fake.setFaults(undefined);
    }
    const ids = events[0] as Extract<ChatSendEvent, { type: 'conversation' }>;
    const stored = store.conversations.message(ids.assistantMessageId);
    expect(stored.error?.code).toMatch(/STREAM_INTERRUPTED|CONNECTION_FAILED|BAD_RESPONSE/);
    expect(stored.content).toBe(
      events
        .filter((event) => event.type === 'text')
        .map((event) => event.text)
        .join(''),
    );
    // The failed answer is not sent back to the model next time.
    const before = fake.fake.requests.length;
    await collect(chat['chat.send']({ conversationId: ids.conversationId, content: 'Again?' }, { signal }));
    const sent = (fake.fake.requests[before]!.body as { messages: { role: string }[] }).messages;
    expect(sent.map((message) => message.role)).toEqual(['user', 'user']);
    store.close();
  });
});
