import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../../electron/engine/store/store.ts';
import { tempDirsRemovedAfterEach } from './helpers.ts';

const tempDir = tempDirsRemovedAfterEach();

describe('conversations', () => {
  it('persist across reopening with what each answer cost', () => {
    const file = join(tempDir(), 'sb.db');
    const store = openStore({ file });
    const chat = store.conversations.create('Trip', 1);
    store.conversations.addMessage(chat.id, 'user', 'Plan a trip', 2);
    const answer = store.conversations.addMessage(chat.id, 'assistant', '', 3);
    store.conversations.recordAnswer(answer.id, {
      content: 'Go to Lisbon.',
      providerId: 'groq',
      model: 'llama-3.1-8b',
      inputTokens: 12,
      outputTokens: 4,
      costUsd: 0.0001,
      latencyMs: 250.4,
      fallbackDepth: 1,
    });
    store.close();

    const reopened = openStore({ file });
    const view = reopened.conversations.get(chat.id);
    expect(view).toMatchObject({ title: 'Trip', messageCount: 2, updatedAt: 3 });
    expect(view.messages[1]).toEqual({
      id: answer.id,
      role: 'assistant',
      content: 'Go to Lisbon.',
      createdAt: 3,
      providerId: 'groq',
      model: 'llama-3.1-8b',
      inputTokens: 12,
      outputTokens: 4,
      costUsd: 0.0001,
      latencyMs: 250,
      fallbackDepth: 1,
    });
    reopened.conversations.rename(chat.id, 'Lisbon trip');
    expect(reopened.conversations.list()).toEqual([
      { id: chat.id, title: 'Lisbon trip', updatedAt: 3, messageCount: 2 },
    ]);
    reopened.conversations.delete(chat.id);
    expect(reopened.conversations.list()).toEqual([]);
    expect(reopened.db.prepare('SELECT count(*) AS n FROM messages').get()).toEqual({ n: 0 });
    expect(() => reopened.conversations.get(chat.id)).toThrow(/NOT_FOUND/);
    reopened.close();
  });

  it('keeps an error on the message it belongs to', () => {
    const store = openStore({ file: join(tempDir(), 'sb.db') });
    const chat = store.conversations.create('x');
    const answer = store.conversations.addMessage(chat.id, 'assistant', '');
    store.conversations.recordAnswer(answer.id, {
      content: 'partial',
      error: {
        code: 'STREAM_INTERRUPTED',
        message: 'STREAM_INTERRUPTED: the connection dropped',
        providerId: 'openai',
      },
    });
    expect(store.conversations.message(answer.id).error).toEqual({
      code: 'STREAM_INTERRUPTED',
      message: 'STREAM_INTERRUPTED: the connection dropped',
      providerId: 'openai',
    });
    store.close();
  });
});
