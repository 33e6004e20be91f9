import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnswerRuns } from '../../../electron/engine/app-api/answer-runs.ts';
import { cleanTitle, createChatHandlers } from '../../../electron/engine/app-api/chat.ts';
import type { ChatSendEvent } from '../../../electron/engine/contract/api.ts';
import { openStore, type Store } from '../../../electron/engine/store/store.ts';
import { type EngineOnFake, startEngineOnFakeOpenAI } from '../meetings/engine-on-fake.ts';
import { tempDirsRemovedAfterEach } from '../store/helpers.ts';

const ANSWER = 'One two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen.';

const tempDir = tempDirsRemovedAfterEach();
let fake: EngineOnFake;
let store: Store;
let chat: ReturnType<typeof createChatHandlers>;
let runs: AnswerRuns;

beforeAll(async () => {
  // Slow enough that a window can look away and come back while the answer is written.
  fake = await startEngineOnFakeOpenAI({ text: ANSWER, tokenDelayMs: 40 });
  store = openStore({ file: join(tempDir(), 'sb.db') });
  runs = new AnswerRuns();
  chat = createChatHandlers({ store, chat: (request, options) => fake.engine.chat(request, options), runs });
});
afterAll(async () => {
  await runs.close();
  store.close();
  await fake.close();
});

type Of<T extends ChatSendEvent['type']> = Extract<ChatSendEvent, { type: T }>;

async function collect(events: AsyncIterable<ChatSendEvent>): Promise<ChatSendEvent[]> {
  const out: ChatSendEvent[] = [];
  for await (const event of events) out.push(event);
  return out;
}

const textOf = (events: ChatSendEvent[]) =>
  events.map((event) => (event.type === 'text' ? event.text : event.type === 'resume' ? event.text : '')).join('');

/** Sends a question and follows it until the first words arrive, then looks away (the follower leaves). */
async function askAndLookAway(content: string, conversationId?: string): Promise<Of<'conversation'>> {
  const window = new AbortController();
  let ids: Of<'conversation'> | undefined;
  for await (const event of chat['chat.send']({ content, conversationId }, { signal: window.signal })) {
    if (event.type === 'conversation') ids = event;
    if (event.type === 'text') window.abort();
  }
  return ids!;
}

describe('answers the engine writes whether or not a window follows them', () => {
  it('go on after the window looks away; coming back shows the text so far, then the rest, and the whole answer is saved', async () => {
    const ids = await askAndLookAway('Count for me');

    const listed = await chat['conversations.list']({});
    expect(listed.find((c) => c.id === ids.conversationId)?.answering).toBe(true);
    const open = await chat['conversations.get']({ id: ids.conversationId });
    expect(open.answeringMessageId).toBe(ids.assistantMessageId);

    const back = await collect(
      chat['chat.watch']({ conversationId: ids.conversationId }, { signal: new AbortController().signal }),
    );
    expect(back[0]).toMatchObject({ type: 'resume', assistantMessageId: ids.assistantMessageId });
    expect((back[0] as Of<'resume'>).text.length).toBeGreaterThan(0);
    expect(textOf(back)).toBe(ANSWER);
    expect(back.find((event) => event.type === 'saved')).toMatchObject({ message: { content: ANSWER } });

    await runs.get(ids.conversationId)?.done;
    const after = await chat['conversations.get']({ id: ids.conversationId });
    expect(after.answeringMessageId).toBeUndefined();
    expect(after.messages.at(-1)).toMatchObject({ role: 'assistant', content: ANSWER });
    expect(after.messages.at(-1)?.error).toBeUndefined();
    // Nothing is being written now: watching ends at once.
    expect(
      await collect(
        chat['chat.watch']({ conversationId: ids.conversationId }, { signal: new AbortController().signal }),
      ),
    ).toEqual([]);
  }, 30_000);

  it('completes and is saved even when no window ever comes back', async () => {
    const ids = await askAndLookAway('Count again');
    await runs.get(ids.conversationId)?.done;
    expect(store.conversations.message(ids.assistantMessageId)).toMatchObject({ content: ANSWER });
  }, 30_000);

  it('refuses a second question while one is answered, and stop saves what was written, marked as stopped', async () => {
    const ids = await askAndLookAway('Count slowly');
    await expect(
      collect(
        chat['chat.send'](
          { conversationId: ids.conversationId, content: 'Faster' },
          { signal: new AbortController().signal },
        ),
      ),
    ).rejects.toThrow(/still being written/);

    await chat['chat.stop']({ conversationId: ids.conversationId });
    const stopped = store.conversations.message(ids.assistantMessageId);
    expect(stopped.error?.code).toBe('CANCELLED');
    expect(stopped.content.length).toBeGreaterThan(0);
    expect(ANSWER.startsWith(stopped.content)).toBe(true);
    expect(stopped.content).not.toBe(ANSWER);
  }, 30_000);
});

describe('regenerate and edit', () => {
  it('regenerate answers with the model chosen now', async () => {
    const ids = await askAndLookAway('Which model are you?');
    await runs.get(ids.conversationId)?.done;
    const before = fake.fake.requests.length;
    await collect(
      chat['chat.regenerate'](
        {
          conversationId: ids.conversationId,
          messageId: ids.assistantMessageId,
          providerId: 'fakeai',
          model: 'gpt-4o',
        },
        { signal: new AbortController().signal },
      ),
    );
    expect(fake.fake.requests.slice(before).map((request) => request.model)).toEqual(['gpt-4o']);
    expect(store.conversations.message(ids.assistantMessageId)).toMatchObject({ model: 'gpt-4o', content: ANSWER });
  }, 30_000);

  it('edit changes the question, drops what came after it, and answers the new question', async () => {
    const ids = await askAndLookAway('First question');
    await runs.get(ids.conversationId)?.done;
    await collect(
      chat['chat.send'](
        { conversationId: ids.conversationId, content: 'Second question' },
        { signal: new AbortController().signal },
      ),
    );
    const before = fake.fake.requests.length;
    const events = await collect(
      chat['chat.edit'](
        { conversationId: ids.conversationId, messageId: ids.userMessageId, content: 'First question, asked better' },
        { signal: new AbortController().signal },
      ),
    );
    expect(events[0]).toMatchObject({ type: 'conversation', userMessageId: ids.userMessageId });
    const { messages } = await chat['conversations.get']({ id: ids.conversationId });
    expect(messages.map((message) => [message.role, message.content])).toEqual([
      ['user', 'First question, asked better'],
      ['assistant', ANSWER],
    ]);
    expect(fake.promptsSince(before)).toEqual(['First question, asked better']);
    await expect(
      collect(
        chat['chat.edit'](
          { conversationId: ids.conversationId, messageId: messages[1]!.id, content: 'not mine' },
          { signal: new AbortController().signal },
        ),
      ),
    ).rejects.toThrow(/only your own messages/);
  }, 30_000);
});

describe('search and titles', () => {
  it('lists a conversation once however many of its messages match', async () => {
    const conversation = store.conversations.create('Harbour notes');
    store.conversations.addMessage(conversation.id, 'user', 'the harbour crane is broken');
    store.conversations.addMessage(conversation.id, 'assistant', 'fix the harbour crane first');
    store.conversations.addMessage(conversation.id, 'user', 'who repairs a harbour crane?');
    const hits = await chat.search({ query: 'harbour crane' });
    expect(hits.filter((hit) => hit.id === conversation.id)).toHaveLength(1);
  });

  it('cleans what a model returns as a title', () => {
    expect(cleanTitle('"Travel plans for April."\nMore text')).toBe('Travel plans for April');
    expect(cleanTitle('\n\nTitle: **Harbour repairs**')).toBe('Harbour repairs');
    expect(cleanTitle('  ')).toBeUndefined();
    expect(cleanTitle('x'.repeat(100))).toHaveLength(60);
  });
});
