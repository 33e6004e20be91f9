/**
 * The floor any Node gateway stands on here: node:http in, an undici Pool out, the request's bytes
 * forwarded and the answer's bytes sent back — no routing, no accounting, no validation. A separate
 * process, as each gateway is, so the bench can tell what Switchboard adds from what the extra hop
 * itself costs on this host. With `busy-poll`, it polls for a lone request as Switchboard's server does
 * (server/busy-poll.ts, its default window): what that alone is worth to any Node gateway.
 * Usage: floor.ts <upstream-url> [busy-poll]; prints `READY <url>`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { DEFAULT_BUSY_POLL_MS } from '../../electron/engine/config/normalize.ts';
import { BusyPoll } from '../../electron/engine/server/busy-poll.ts';

const [upstream, mode] = process.argv.slice(2);
if (!upstream) throw new Error('usage: floor.ts <upstream-url> [busy-poll]');
const busyPoll = new BusyPoll(() => (mode === 'busy-poll' ? DEFAULT_BUSY_POLL_MS : 0));
const pool = new Pool(upstream, { connections: 512, pipelining: 1, headersTimeout: 0, bodyTimeout: 0 });
const UPSTREAM_AUTH = 'Bearer sk-bench-upstream-key-0000';

const server = createServer({ noDelay: true, keepAliveTimeout: 60_000 }, (req, res) => {
  busyPoll.started();
  res.once('close', () => busyPoll.ended());
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    // The model as the upstream knows it: the one field a gateway must change.
    const body = Buffer.from(Buffer.concat(chunks).toString('utf8').replace('"upstream/bench-model"', '"bench-model"'));
    pool
      .request({
        method: 'POST',
        path: '/v1/chat/completions',
        headers: { 'content-type': 'application/json', authorization: UPSTREAM_AUTH },
        body,
      })
      .then(async ({ statusCode, headers, body: answer }) => {
        res.writeHead(statusCode, { 'content-type': String(headers['content-type'] ?? 'application/json') });
        for await (const chunk of answer) res.write(chunk);
        res.end();
      })
      .catch(() => res.destroy());
  });
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
