import { describe, expect, it } from 'vitest';
import { nestsDeeperThan } from '../../../electron/engine/server/http.ts';

const deeper = (text: string, limit: number) => nestsDeeperThan(Buffer.from(text), limit);

describe('the JSON nesting limit', () => {
  it('counts objects and arrays, in any mix', () => {
    expect(deeper('{"a":[{"b":[1]}]}', 4)).toBe(false);
    expect(deeper('{"a":[{"b":[1]}]}', 3)).toBe(true);
    expect(deeper(`${'['.repeat(50_000)}${']'.repeat(50_000)}`, 128)).toBe(true);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(deeper(JSON.stringify({ text: '[[[[{{{{', quoted: 'say "[[[[" twice \\ [[[[' }), 2)).toBe(false);
    expect(deeper(JSON.stringify({ text: 'ünïcödé [[[[ 🎧' }), 1)).toBe(false);
  });

  it('measures depth, not the number of brackets', () => {
    const wide = JSON.stringify(Array.from({ length: 10_000 }, () => [[1]]));
    expect(deeper(wide, 3)).toBe(false);
  });
});
