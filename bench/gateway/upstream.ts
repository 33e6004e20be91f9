/**
 * A minimal, fast OpenAI-compatible upstream for the gateway benchmark: fixed answers prepared once,
 * so the numbers measure the gateways, not this server. Runs as a child process and prints its URL.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const created = Math.floor(Date.now() / 1000);
const usage = { prompt_tokens: 12, completion_tokens: 10, total_tokens: 22 };
const completion = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion',
    created,
    model: 'bench-model',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: 'The quick brown fox jumps over the lazy dog.', refusal: null },
        logprobs: null,
        finish_reason: 'stop',
      },
    ],
    usage,
  }),
);
const chunk = (delta: unknown, finish: string | null = null, extra: object = {}) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created, model: 'bench-model', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...extra })}\n\n`;
const words = 'The quick brown fox jumps over the lazy dog .'.split(' ');
const frames = [
  chunk({ role: 'assistant', content: '' }),
  ...words.map((word, i) => chunk({ content: i === 0 ? word : ` ${word}` })),
  chunk({}, 'stop'),
  `data: ${JSON.stringify({ id: 'chatcmpl-bench', object: 'chat.completion.chunk', created, model: 'bench-model', choices: [], usage })}\n\n`,
  'data: [DONE]\n\n',
];
const models = Buffer.from(
  JSON.stringify({ object: 'list', data: [{ id: 'bench-model', object: 'model', created, owned_by: 'bench' }] }),
);

const server = createServer({ noDelay: true, keepAliveTimeout: 60_000 }, (req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': models.length });
    res.end(models);
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (data: Buffer) => chunks.push(data));
  req.on('end', () => {
    // A substring test is enough to tell the two request kinds apart, and cheaper than parsing.
    const body = Buffer.concat(chunks);
    const paced = /"bench_pace_ms":\s*(\d+)/.exec(body.toString('latin1'));
    if (paced) {
      sendPaced(res, Number(paced[1]), Number(/"bench_frames":\s*(\d+)/.exec(body.toString('latin1'))?.[1] ?? 20));
      return;
    }
    const stream = body.includes('"stream":true');
    if (!stream) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': completion.length });
      res.end(completion);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const frame of frames) res.write(frame);
    res.end();
  });
});
server.keepAliveTimeout = 60_000;

/**
 * A stream whose frames leave `paceMs` apart, each stamped with the moment it was written (`"t"`, ms
 * since the epoch, sub-millisecond): a client tells from it how long each frame spent on the way.
 */
function sendPaced(res: ServerResponse, paceMs: number, count: number): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  let sent = 0;
  const timer = setInterval(() => {
    if (res.destroyed) {
      clearInterval(timer);
      return;
    }
    const t = performance.timeOrigin + performance.now();
    res.write(
      `data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":${created},"model":"bench-model","choices":[{"index":0,"delta":{"content":" w${sent}"},"logprobs":null,"finish_reason":null}],"t":${t.toFixed(3)}}\n\n`,
    );
    if (++sent < count) return;
    clearInterval(timer);
    res.end(frames.slice(-3).join(''));
  }, paceMs);
}
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});

// The runner ends stdin to stop it.
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
