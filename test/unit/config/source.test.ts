import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../../electron/engine/config/errors.ts';
import { ConfigSource } from '../../../electron/engine/config/source.ts';

const sources: ConfigSource[] = [];
afterEach(() => {
  for (const source of sources.splice(0)) source.close();
});

function setup(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'sb-source-'));
  const file = join(dir, 'providers.yaml');
  writeFileSync(file, yaml);
  const source = new ConfigSource({ file, env: {}, overridesFile: join(dir, 'settings.json') });
  sources.push(source);
  return { dir, file, source };
}

const good = (priority: number) =>
  `providers:\n  lab:\n    type: custom\n    base_url: http://127.0.0.1:9/v1\n    priority: ${priority}\n`;

describe('hot reload', () => {
  it('applies a good edit and keeps serving the last good configuration after a broken one', async () => {
    const { file, source } = setup(good(5));
    source.watch();
    expect(source.current.providers.find((p) => p.id === 'lab')?.priority).toBe(5);

    const changed = once(source, 'change');
    writeFileSync(file, good(7));
    await changed;
    expect(source.current.providers.find((p) => p.id === 'lab')?.priority).toBe(7);

    const failed = once(source, 'error');
    writeFileSync(file, 'providers:\n  lab:\n    type: custom\n    base_url: nope\n');
    const [error] = (await failed) as [ConfigError];
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('providers.lab.base_url');
    // Still the last good configuration, and the problem is reported for status displays.
    expect(source.current.providers.find((p) => p.id === 'lab')?.priority).toBe(7);
    expect(source.lastError?.message).toContain('must be a full URL');

    const fixed = once(source, 'change');
    writeFileSync(file, good(9));
    await fixed;
    expect(source.current.providers.find((p) => p.id === 'lab')?.priority).toBe(9);
    expect(source.lastError).toBeUndefined();
  });

  it('refuses to start on a file that is broken from the start, rather than running on what is left', () => {
    expect(() => setup('providers: [this is: not valid')).toThrow(/not valid yaml/i);
  });

  it('keeps serving when a reload meets a file the YAML parser cannot even walk', async () => {
    const { file, source } = setup(good(5));
    const failed = once(source, 'error');
    writeFileSync(file, `strategies: ${'['.repeat(2000)}${']'.repeat(2000)}\n`);
    expect(source.reload()).toBe(false);
    const [error] = (await failed) as [ConfigError];
    expect(error.message).toMatch(/nested more than 32 levels deep/);
    expect(source.current.providers.find((p) => p.id === 'lab')?.priority).toBe(5);
  });

  it('reports damaged in-app settings instead of silently forgetting them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-source-'));
    writeFileSync(join(dir, 'settings.json'), '{"cloud_fallback": "sometimes"}');
    expect(() => new ConfigSource({ env: {}, overridesFile: join(dir, 'settings.json') })).toThrow(
      /settings\.json: not valid settings \(cloud_fallback: .*\): fix it, or delete it/,
    );
  });
});

describe('changes made through the engine API', () => {
  it('are validated, kept on disk and survive a restart', () => {
    const { dir, file, source } = setup(good(5));
    source.update((o) => {
      o.cloud_fallback = false;
      o.providers = { lab: { enabled: false, priority: 2 } };
    });
    expect(source.current.cloudFallback).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8'))).toMatchObject({ cloud_fallback: false });

    const restarted = new ConfigSource({ file, env: {}, overridesFile: join(dir, 'settings.json') });
    sources.push(restarted);
    expect(restarted.current.cloudFallback).toBe(false);
    expect(restarted.current.providers.find((p) => p.id === 'lab')).toMatchObject({ enabled: false, priority: 2 });
  });

  it('refuses a change that would break the configuration and keeps the old one', () => {
    const { source } = setup(good(5));
    expect(() =>
      source.update((o) => {
        o.providers = { lab: { rate_limit: { requests_per_minute: -1 } } };
      }),
    ).toThrow(/requests_per_minute cannot be negative/);
    expect(source.current.providers.find((p) => p.id === 'lab')?.limits.rpm).toBeUndefined();
  });
});

describe('settings changed by another process (the CLI beside a running serve)', () => {
  it('apply on the watch; a damaged file keeps the last good settings until it is fixed', async () => {
    const { dir, source } = setup(good(5));
    const settings = join(dir, 'settings.json');
    const other = new ConfigSource({ env: {}, file: join(dir, 'providers.yaml'), overridesFile: settings });
    sources.push(other);
    source.watch();

    const changed = once(source, 'change');
    other.update((o) => {
      o.cloud_fallback = false;
      o.providers = { lab: { priority: 3 } };
    });
    await changed;
    expect(source.current.cloudFallback).toBe(false);
    expect(source.current.providers.find((p) => p.id === 'lab')?.priority).toBe(3);

    const failed = once(source, 'error');
    writeFileSync(settings, '{"cloud_fallback": ');
    const [error, file] = (await failed) as [ConfigError, string];
    expect(error.message).toContain('settings.json: not valid JSON');
    // Reported as the settings file's problem, not the configuration file's.
    expect(file).toBe(settings);
    expect(source.current.providers.find((p) => p.id === 'lab')?.priority).toBe(3);

    const fixed = once(source, 'change');
    writeFileSync(settings, '{"providers": {"lab": {"priority": 4}}}');
    await fixed;
    expect(source.current.providers.find((p) => p.id === 'lab')?.priority).toBe(4);
    expect(source.lastError).toBeUndefined();
    // What this source then changes builds on what the other process wrote.
    source.update((o) => {
      o.cloud_fallback = true;
    });
    expect(JSON.parse(readFileSync(settings, 'utf8'))).toEqual({
      providers: { lab: { priority: 4 } },
      cloud_fallback: true,
    });
  });

  it("are not reloaded again for the source's own writes", async () => {
    const { source } = setup(good(5));
    source.watch();
    let changes = 0;
    source.on('change', () => changes++);
    source.update((o) => {
      o.providers = { lab: { priority: 6 } };
    });
    expect(changes).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect(changes).toBe(1);
  });
});
