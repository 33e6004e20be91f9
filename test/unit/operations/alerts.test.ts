import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../../../electron/engine/config/errors.ts';
import { loadConfig } from '../../../electron/engine/config/load.ts';
import type { OperationalEventRecord } from '../../../electron/engine/contract/operations.ts';
import { alertPayload } from '../../../electron/engine/operations/webhook.ts';

function configFile(content: object): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sb-alerts-')), 'providers.yaml');
  writeFileSync(file, stringify(content));
  return file;
}

describe('alerts: in providers.yaml', () => {
  it('reads webhook_url, events and format', () => {
    const file = configFile({
      alerts: { webhook_url: 'https://hooks.example.com/T0/B0/x', events: ['breaker.open'], format: 'slack' },
    });
    expect(loadConfig({ file, env: {} }).alerts).toEqual({
      webhookUrl: 'https://hooks.example.com/T0/B0/x',
      events: ['breaker.open'],
      format: 'slack',
    });
  });

  it('refuses an event Switchboard never emits, naming the ones it does', () => {
    const file = configFile({ alerts: { webhook_url: 'https://hooks.example.com/x', events: ['breaker.opened'] } });
    let error: unknown;
    try {
      loadConfig({ file, env: {} });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('alerts.events');
    expect((error as ConfigError).message).toContain('breaker.open');
  });
});

describe('the webhook payload', () => {
  const record: OperationalEventRecord = {
    id: 7,
    event: 'health.down',
    time: '2026-12-01T10:00:00.000Z',
    summary: 'groq is down',
    data: { providerId: 'groq' },
  };

  it('is the event record as /api/events streams it, or what a Slack incoming webhook shows', () => {
    expect(alertPayload(record, 'json')).toEqual(record);
    expect(alertPayload(record, 'slack')).toEqual({ text: 'Switchboard — health.down: groq is down' });
  });
});
