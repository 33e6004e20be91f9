import { EventEmitter, once } from 'node:events';
import { MessageChannel } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import type { OperationalEventRecord } from '../../../electron/engine/contract/operations.ts';
import { OperationsFeed } from '../../../electron/engine/operations/feed.ts';
import type { StreamPortMessage } from '../../../electron/main/ipc-channels.ts';
import { forwardOperationalEvents, notifyOperationalWarnings } from '../../../electron/main/operations-bridge.ts';

/**
 * The desktop app's side of operational events, without Electron: the engine's feed (the real one, over
 * an emitter standing in for the Engine) forwarded down a real MessagePort to the page, and the warnings
 * turned into desktop notifications while the window is in the background.
 */
function feedOverEmitter() {
  const engine = new EventEmitter();
  return { engine, feed: new OperationsFeed(engine) };
}

describe('operational events in the desktop app', () => {
  it('main forwards every event down the page’s port, and stops when the page closes it', async () => {
    const { engine, feed } = feedOverEmitter();
    const { port1: page, port2: main } = new MessageChannel();
    const posted: StreamPortMessage[] = [];
    forwardOperationalEvents(feed, {
      postMessage: (message) => {
        posted.push(message);
        main.postMessage(message);
      },
      on: (event, listener) => main.on(event, listener),
      start: () => main.start(),
    });
    const received: StreamPortMessage[] = [];
    page.on('message', (message: StreamPortMessage) => received.push(message));

    engine.emit('breaker.open', { key: 'groq/llama', providerId: 'groq', model: 'llama', from: 'closed' });
    engine.emit('config.rejected', { file: 'providers.yaml', message: 'providers.groq.priority: expected a number' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(received.map((m) => m.type === 'event' && (m.value as OperationalEventRecord).event)).toEqual([
      'breaker.open',
      'config.rejected',
    ]);
    expect((received[0] as { value: OperationalEventRecord }).value.summary).toMatch(/circuit breaker opened for groq/);

    const closed = once(main, 'close');
    page.close();
    await closed;
    engine.emit('health.down', { providerId: 'groq', from: 'healthy', to: 'down', health: {} });
    // The page is gone: main no longer posts to its port.
    expect(posted).toHaveLength(2);
    feed.close();
  });

  it('warnings become desktop notifications in words, only while the window is in the background, once a minute at most', () => {
    const { engine, feed } = feedOverEmitter();
    const shown: { title: string; body: string }[] = [];
    let focused = false;
    let now = 0;
    notifyOperationalWarnings(feed, {
      windowFocused: () => focused,
      labelOf: (id) => (id === 'groq' ? 'Groq' : id),
      show: (title, body) => shown.push({ title, body }),
      now: () => now,
    });
    const down = { providerId: 'groq', from: 'healthy', to: 'down', health: {} };

    engine.emit('health.down', down);
    expect(shown).toEqual([{ title: 'Groq cannot be reached', body: expect.stringMatching(/other providers/) }]);
    expect(shown[0]!.body).not.toMatch(/health\.down|groq\b/);

    engine.emit('health.down', down);
    now = 30_000;
    engine.emit('health.down', down);
    expect(shown).toHaveLength(1);

    // Good news is not a desktop notification; the page's toast says it.
    engine.emit('health.up', { ...down, from: 'down', to: 'healthy' });
    expect(shown).toHaveLength(1);

    focused = true;
    now = 120_000;
    engine.emit('health.down', down);
    expect(shown).toHaveLength(1);

    focused = false;
    engine.emit('budget.exhausted', {
      scope: 'global',
      period: 'daily',
      limitUsd: 1,
      spentUsd: 1.02,
      level: 'exceeded',
    });
    expect(shown[1]).toEqual({
      title: 'The daily budget is spent',
      body: expect.stringContaining('all cloud providers reached $1.02 of $1.00'),
    });
    feed.close();
  });
});
