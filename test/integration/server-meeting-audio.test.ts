import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorized, type Stack, startStack } from './server-harness.ts';

const JFK = resolve(import.meta.dirname, '../../../shared/audio/jfk.wav');
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ server: { meetingAudioFile: (id) => (id === 'm1' ? JFK : undefined) } });
});
afterAll(() => stack.close());

describe('meeting audio for the player', () => {
  it('serves the stored file, and byte ranges so a click can seek', async () => {
    const bytes = readFileSync(JFK);
    const whole = await fetch(`${stack.server.url}/api/app/audio/m1`, { headers: authorized() });
    expect(whole.status).toBe(200);
    expect(whole.headers.get('content-type')).toBe('audio/wav');
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);

    const part = await fetch(`${stack.server.url}/api/app/audio/m1`, {
      headers: authorized({ range: 'bytes=100-199' }),
    });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100-199/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(100, 200))).toBe(true);
  });

  it('needs the token, and knows only meetings the store names', async () => {
    expect((await fetch(`${stack.server.url}/api/app/audio/m1`)).status).toBe(401);
    expect((await fetch(`${stack.server.url}/api/app/audio/unknown`, { headers: authorized() })).status).toBe(404);
    const traversal = await fetch(`${stack.server.url}/api/app/audio/..%2F..%2Fetc%2Fpasswd`, {
      headers: authorized(),
    });
    expect(traversal.status).toBe(404);
  });
});
