import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServedCli, serveCli, TEST_TOKEN, type TestDataDir, testDataDir } from '../support/cli.ts';

/**
 * Body limits per kind of endpoint, as providers.yaml sets them: JSON routes one, audio uploads their own
 * larger one; a body past its limit is answered 413 with the limit and what to do, without waiting for the rest.
 */

const MB = 1024 * 1024;
let data: TestDataDir;
let serve: ServedCli;

beforeAll(async () => {
  data = testDataDir();
  const config = join(data.dir, 'limits.yaml');
  writeFileSync(config, 'server:\n  max_json_body_mb: 1\n  max_upload_mb: 2\n');
  serve = await serveCli({ ...data, args: [...data.args, '--config', config] });
}, 120_000);
afterAll(async () => {
  await serve.stop();
  data.remove();
});

/** A chat whose one message holds `bytes` characters. */
function chatOf(bytes: number): string {
  return JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a'.repeat(bytes) }] });
}

/** A multipart transcription request carrying `bytes` of (not really) audio. */
function uploadOf(bytes: number): FormData {
  const form = new FormData();
  form.append('model', 'whisper-1');
  form.append('file', new Blob([Buffer.alloc(bytes, 1)], { type: 'audio/wav' }), 'talk.wav');
  return form;
}

/**
 * A multipart audio upload of `total` bytes sent over a raw connection as fast as the server takes it, the
 * answer read as soon as it comes (as curl and fetch do) while the client keeps sending: what the server
 * answered, and how much of the body the connection took before it was closed.
 */
function pushUpload(
  total: number,
  declareLength: boolean,
): Promise<{ status: number; connection?: string; message: string; sent: number }> {
  const { hostname, port } = new URL(serve.url);
  const boundary = 'switchboard-drain-test';
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="talk.wav"\r\nContent-Type: audio/wav\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const chunk = Buffer.alloc(256 * 1024, 1);
  return new Promise((resolve, reject) => {
    let sent = 0;
    let answer: { status: number; connection?: string; message: string } | undefined;
    let closed = false;
    const settle = () => {
      if (answer && closed) resolve({ ...answer, sent });
    };
    const req = httpRequest(
      {
        hostname,
        port,
        method: 'POST',
        path: '/v1/audio/transcriptions',
        headers: {
          authorization: `Bearer ${TEST_TOKEN}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          ...(declareLength ? { 'content-length': head.length + total + tail.length } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (part: string) => {
          text += part;
        });
        res.on('end', () => {
          answer = {
            status: res.statusCode ?? 0,
            connection: res.headers.connection,
            message: (JSON.parse(text) as { error: { message: string } }).error.message,
          };
          settle();
        });
      },
    );
    // The server cutting the connection shows as EPIPE or ECONNRESET on the client's writes: expected here.
    req.on('error', () => {});
    req.on('close', () => {
      closed = true;
      if (!answer) reject(new Error(`the connection closed without an answer after ${sent} bytes`));
      settle();
    });
    req.write(head);
    const pump = () => {
      while (!req.destroyed && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!req.destroyed) req.end(tail);
    };
    pump();
  });
}

async function problem(response: Response): Promise<{ status: number; message: string }> {
  const body = (await response.json()) as { error: { message: string } };
  return { status: response.status, message: body.error.message };
}

describe('request body limits', () => {
  it('JSON routes take up to their limit, and a larger body gets 413 saying the limit and what to do', async () => {
    const post = (path: string, body: string) =>
      serve.fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const fits = await post('/v1/chat/completions', chatOf(0.5 * MB));
    expect(fits.status).not.toBe(413);
    await fits.body?.cancel();

    const refused = await problem(await post('/v1/chat/completions', chatOf(1.5 * MB)));
    expect(refused.status).toBe(413);
    expect(refused.message).toBe(
      'the request body is larger than 1 MB, the most /v1/chat/completions accepts: send less (a shorter conversation, fewer or smaller images, fewer inputs at once), or raise server.max_json_body_mb in providers.yaml',
    );
    // The app API's JSON routes have the same limit.
    expect((await post('/api/app/call/settings.get', `{"pad":"${'a'.repeat(1.5 * MB)}"}`)).status).toBe(413);
  });

  it('audio uploads have their own, larger limit', async () => {
    const upload = (bytes: number) =>
      serve.fetch('/v1/audio/transcriptions', { method: 'POST', body: uploadOf(bytes) });
    // 1.5 MB is past the JSON limit but within the upload limit: refused for what it holds, not its size.
    const within = await upload(1.5 * MB);
    expect(within.status).not.toBe(413);
    await within.body?.cancel();

    const refused = await problem(await upload(3 * MB));
    expect(refused.status).toBe(413);
    expect(refused.message).toContain('the upload is larger than 2 MB, the most /v1/audio/transcriptions accepts');
    expect(refused.message).toContain('raise server.max_upload_mb in providers.yaml');
  });

  it('stops taking in a refused upload after a few MB, whether its length was declared or not', async () => {
    const total = 96 * MB;
    // Declared far past the limit: answered at once, not read, and the connection closes after the answer.
    const declared = await pushUpload(total, true);
    expect(declared).toMatchObject({ status: 413, connection: 'close' });
    expect(declared.message).toContain('the upload is larger than 2 MB');
    // Chunked: refused once 2 MB are in, then drained a little and cut off.
    const chunked = await pushUpload(total, false);
    expect(chunked.status).toBe(413);
    expect(chunked.message).toContain('the upload is larger than 2 MB');
    // What the connection took beyond the server's reads is what the two socket buffers hold: a few MB.
    expect(declared.sent).toBeLessThan(total / 4);
    expect(chunked.sent).toBeLessThan(total / 4);
  }, 60_000);

  it('answers a body streamed past the limit with 413 while the client is still sending', async () => {
    const { hostname, port } = new URL(serve.url);
    const status = await new Promise<number>((resolve, reject) => {
      // Chunked, so the size is known only while reading; the request is never ended.
      const req = httpRequest(
        {
          hostname,
          port,
          method: 'POST',
          path: '/v1/chat/completions',
          headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
          req.destroy();
        },
      );
      req.on('error', (error) => (req.destroyed ? undefined : reject(error)));
      req.write('{"model":"gpt-4o-mini","messages":[{"role":"user","content":"');
      req.write('a'.repeat(1.5 * MB));
    });
    expect(status).toBe(413);
  });
});
