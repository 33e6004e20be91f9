import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../electron/engine/server/server.ts';
import { type Stack, startStack, TOKEN } from './server-harness.ts';

/**
 * Which pages and names may reach the API: the Host check holds beyond loopback (with the names the
 * operator allowed), and the session cookie works only for requests from the app's own origin.
 */

const JFK = resolve(import.meta.dirname, '../../../shared/audio/jfk.wav');
const CLI = resolve(import.meta.dirname, '../../bin/switchboard.mjs');

/** Raw HTTP, so the Host header is exactly what the test says. */
function get(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: string; cookie?: string }> {
  return new Promise((done, fail) => {
    const req = httpRequest({ hostname: '127.0.0.1', port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', fail);
    req.end();
  });
}

async function signIn(stack: Stack): Promise<string> {
  const code = new URL(stack.server.loginUrl()).searchParams.get('code');
  const response = await fetch(`${stack.server.url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code }),
  });
  return (response.headers.get('set-cookie') ?? '').split(';')[0]!;
}

describe('the session cookie works only for the app’s own pages', () => {
  let stack: Stack;
  let cookie: string;
  let port: number;
  beforeAll(async () => {
    stack = await startStack({ server: { meetingAudioFile: (id) => (id === 'm1' ? JFK : undefined) } });
    cookie = await signIn(stack);
    port = Number(new URL(stack.server.url).port);
  });
  afterAll(() => stack.close());

  it('serves meeting audio to the app’s own page (Sec-Fetch-Site: same-origin)', async () => {
    const own = await get(port, '/api/app/audio/m1', {
      host: `127.0.0.1:${port}`,
      cookie,
      'sec-fetch-site': 'same-origin',
    });
    expect(own.status).toBe(200);
  });

  it('refuses meeting audio to a page on another port of 127.0.0.1, which is the same site', async () => {
    for (const site of ['same-site', 'cross-site', 'none']) {
      const response = await get(port, '/api/app/audio/m1', {
        host: `127.0.0.1:${port}`,
        cookie,
        'sec-fetch-site': site,
      });
      expect(response.status, `Sec-Fetch-Site: ${site}`).toBe(401);
    }
  });

  it('refuses an app API call carrying the cookie from another origin', async () => {
    const response = await fetch(`${stack.server.url}/api/app/call/settings.get`, {
      method: 'POST',
      headers: { cookie, origin: 'http://127.0.0.1:1', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(response.status).toBe(401);
  });
});

describe('beyond loopback, the Host check stays on with the names the operator allowed', () => {
  let stack: Stack;
  let port: number;
  beforeAll(async () => {
    stack = await startStack({ server: { host: '0.0.0.0', allowedHosts: ['switchboard.lan'] } });
    port = Number(new URL(stack.server.url).port);
  });
  afterAll(() => stack.close());

  it('answers requests addressed to an allowed name and to loopback', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await get(port, '/v1/models', { ...auth, host: `switchboard.lan:${port}` })).status).toBe(200);
    expect((await get(port, '/v1/models', { ...auth, host: `127.0.0.1:${port}` })).status).toBe(200);
  });

  it('refuses any other Host, even with the token (DNS rebinding)', async () => {
    const response = await get(port, '/v1/models', {
      authorization: `Bearer ${TOKEN}`,
      host: `attacker.example:${port}`,
    });
    expect(response.status).toBe(403);
  });

  it('will not listen beyond loopback without a list of names', async () => {
    await expect(createServer({ engine: stack.engine, token: TOKEN, host: '0.0.0.0', port: 0 })).rejects.toThrow(
      /allowedHosts|--allow-host/,
    );
  });
});

describe('switchboard serve --host', { timeout: 180_000 }, () => {
  it('refuses a non-loopback address without --allow-host, saying what to add', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-serve-host-'));
    try {
      const run = spawnSync(
        process.execPath,
        [CLI, '--data-dir', dataDir, 'serve', '--host', '0.0.0.0', '--port', '0', '--no-ui'],
        { encoding: 'utf8', timeout: 60_000, env: { ...process.env, SWITCHBOARD_CONFIG: '' } },
      );
      expect(run.status).not.toBe(0);
      expect(run.stderr).toMatch(/--allow-host NAME/);
      expect(run.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
