import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An alert webhook receiver on 127.0.0.1 (what Slack's incoming webhooks or an on-call tool expose): it
 * records each POST's JSON body and answers with the next status of `statuses` (200 once they run out).
 */
export interface FakeWebhook {
  url: string;
  /** Every POST, in order, with the status it was answered with. */
  readonly posts: { body: unknown; status: number }[];
  close(): Promise<void>;
}

export async function startFakeWebhook(statuses: number[] = []): Promise<FakeWebhook> {
  const posts: { body: unknown; status: number }[] = [];
  const queue = [...statuses];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const status = queue.shift() ?? 200;
      posts.push({ body: JSON.parse(Buffer.concat(chunks).toString('utf8')), status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'server error');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/switchboard`,
    posts,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
