import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureRendererBuilt, repoRoot } from './harness.ts';

const assets = join(repoRoot, 'out', 'renderer', 'assets');

beforeAll(() => ensureRendererBuilt(), 180_000);

describe('the renderer bundle', () => {
  it('carries no zod and no input schema: validation is the engine’s, the page downloads only what it runs', () => {
    const code = readdirSync(assets)
      .filter((name) => name.endsWith('.js'))
      .map((name) => readFileSync(join(assets, name), 'utf8'))
      .join('\n');
    expect(code.length).toBeGreaterThan(0);
    // zod's issue codes are string literals that survive minification; the schemas' own messages too.
    for (const marker of ['invalid_type', 'too_small', 'ZodError', 'use letters, digits, dot, dash or underscore']) {
      expect(code, marker).not.toContain(marker);
    }
  });
});
