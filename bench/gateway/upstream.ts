/**
 * A minimal, fast OpenAI-compatible upstream for the gateway benchmark: fixed answers prepared once,
 * so the numbers measure the gateways, not this server. Runs as a child process and prints its URL.
 */
import { createServer } from 'node:http';
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
    const stream = Buffer.concat(chunks).includes('"stream":true');
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
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  process.stdout.write(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}\n`);
});
