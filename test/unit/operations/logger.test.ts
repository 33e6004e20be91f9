import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { UsageEvent } from '../../../electron/engine/accounting/types.ts';
import { redactSecrets } from '../../../electron/engine/contract/errors.ts';
import { OpsLogger } from '../../../electron/engine/operations/logger.ts';

/**
 * The log file as `serve` and the desktop app write it (serve's own lines are covered through a real
 * process in test/integration/operations-events.test.ts): rotation keeps a bounded number of files, the
 * files are the owner's alone, and the desktop's in-process requests are logged as request lines.
 */

const SECRET = 'sk-provider-key-abcdef123456';
const redact = (line: string) => redactSecrets(line, [SECRET]);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sb-logger-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function usage(overrides: Partial<UsageEvent> = {}): UsageEvent {
  return {
    id: 'usage-1',
    time: Date.now(),
    kind: 'chat',
    providerId: 'openai',
    model: 'gpt-4o-mini',
    keyId: '…3456',
    profile: 'default',
    strategy: 'priority',
    inputTokens: 12,
    outputTokens: 7,
    tokensEstimated: false,
    costUsd: 0.0000062,
    latencyMs: 41,
    outcome: 'success',
    fallbackDepth: 0,
    ...overrides,
  };
}

const linesOf = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('the log file', () => {
  it('rotates at the size limit and keeps only the newest files, each 0600 in a 0700 folder', async () => {
    const path = join(dir, 'data', 'logs', 'desktop.log');
    const logger = new OpsLogger({ file: { path, maxBytes: 1024, keep: 2 }, redact });
    for (let i = 0; i < 60; i++)
      logger.note('info', 'test.line', `line ${i} of sixty, long enough to fill a file soon`);
    await logger.close();

    const files = readdirSync(join(dir, 'data', 'logs')).sort();
    expect(files).toEqual(['desktop.log', 'desktop.log.1', 'desktop.log.2']);
    for (const name of files) {
      const file = join(dir, 'data', 'logs', name);
      expect(statSync(file).mode & 0o777, name).toBe(0o600);
      // Rotated once past the limit: never more than the limit and the line that crossed it.
      expect(statSync(file).size, name).toBeLessThan(1024 + 200);
    }
    expect(statSync(join(dir, 'data', 'logs')).mode & 0o777).toBe(0o700);
    // The newest lines are in the current file, the older ones in .1, then .2; the oldest are gone.
    expect(linesOf(path).at(-1)).toMatchObject({
      level: 'info',
      event: 'test.line',
      msg: expect.stringContaining('line 59 '),
    });
    const kept = files.flatMap((name) => linesOf(join(dir, 'data', 'logs', name)));
    expect(kept.some((line) => String(line.msg).startsWith('line 0 '))).toBe(false);
  });

  it('takes a file that already existed with a looser mode back to 0600', async () => {
    const path = join(dir, 'logs', 'serve.log');
    mkdirSync(join(dir, 'logs'), { mode: 0o755 });
    writeFileSync(path, '', { mode: 0o644 });
    const logger = new OpsLogger({ file: { path }, redact });
    logger.note('info', 'test.line', 'hello');
    await logger.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'logs')).mode & 0o777).toBe(0o700);
  });

  it('logs the desktop app’s routed requests as request lines, and never a key', async () => {
    const path = join(dir, 'logs', 'desktop.log');
    const logger = new OpsLogger({ file: { path }, redact });
    logger.usage(usage());
    logger.usage(usage({ id: 'usage-2', outcome: 'error', errorCode: 'ALL_PROVIDERS_FAILED', fallbackDepth: 1 }));
    logger.note('error', 'desktop.error', `upstream said: Incorrect API key provided: ${SECRET}`, {
      authorization: `Bearer ${SECRET}`,
    });
    await logger.close();

    const [answered, failed, error] = linesOf(path);
    expect(answered).toMatchObject({
      level: 'info',
      event: 'request',
      id: 'usage-1',
      route: 'chat',
      outcome: 'success',
      provider: 'openai',
      model: 'gpt-4o-mini',
      provider_key: '…3456',
      fallback_depth: 0,
      tokens_in: 12,
      tokens_out: 7,
      cost_usd: 0.0000062,
    });
    expect(failed).toMatchObject({
      level: 'warn',
      event: 'request',
      error_code: 'ALL_PROVIDERS_FAILED',
      fallback_depth: 1,
    });
    expect(error).toMatchObject({ level: 'error', event: 'desktop.error', authorization: '[redacted]' });
    expect(readFileSync(path, 'utf8')).not.toContain(SECRET);
  });
});
