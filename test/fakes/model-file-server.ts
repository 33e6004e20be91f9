import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize, sep } from 'node:path';

export interface ServedRequest {
  /** File path relative to the root. */
  file: string;
  range?: string;
  status: number;
}

/**
 * A real HTTP server on 127.0.0.1 that serves a folder in Hugging Face's URL layout
 * (`/<owner>/<repo>/resolve/<revision>/<path>` → `<root>/<path>`), with Range requests, and faults
 * on demand: a connection cut mid-file, wrong bytes. Missing files answer 404.
 */
export interface ModelFileServer {
  /** What hf: URIs resolve against. */
  baseUrl: string;
  requests: ServedRequest[];
  /** The next response for `file` sends `afterBytes` of its body, then the connection is destroyed. */
  cutNext(file: string, afterBytes: number): void;
  /** Every response for `file` carries its bytes inverted (same length, wrong content) until reset(). */
  corrupt(file: string): void;
  /** Every request for `file` answers this HTTP status (e.g. 401 for a gated repository) until reset(). */
  failWith(file: string, status: number): void;
  /** Forgets faults and recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

export async function startModelFileServer(root: string): Promise<ModelFileServer> {
  const cuts = new Map<string, number>();
  const corrupted = new Set<string>();
  const failures = new Map<string, number>();
  const requests: ServedRequest[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const match = /^\/[^/]+\/[^/]+\/resolve\/[^/]+\/(.+)$/.exec(decodeURIComponent(url.pathname));
    const file = match ? normalize(match[1]!) : '';
    const record = (status: number) => requests.push({ file, range: req.headers.range, status });
    const absolute = join(root, file);
    const size =
      file && !file.startsWith('..') && absolute.startsWith(root + sep) ? await fileSize(absolute) : undefined;
    if (size === undefined) {
      record(404);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Entry not found');
      return;
    }
    const failure = failures.get(file);
    if (failure !== undefined) {
      record(failure);
      res.writeHead(failure, { 'content-type': 'text/plain' }).end('refused');
      return;
    }
    let start = 0;
    let end = size - 1;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      start = Number(range[1]);
      if (range[2]) end = Math.min(Number(range[2]), size - 1);
      if (start >= size) {
        record(416);
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return;
      }
    }
    const status = range ? 206 : 200;
    record(status);
    res.writeHead(status, {
      'content-type': 'application/octet-stream',
      'content-length': String(end - start + 1),
      'accept-ranges': 'bytes',
      ...(range ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    });
    const cut = cuts.get(file);
    if (cut !== undefined || corrupted.has(file)) {
      let body = (await readFile(absolute)).subarray(start, end + 1);
      if (corrupted.has(file)) body = Buffer.from(body.map((byte) => byte ^ 0xff));
      if (cut !== undefined) {
        cuts.delete(file);
        // Let the bytes reach the client before the connection dies, as when a network drops mid-file.
        res.write(body.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 50));
        return;
      }
      res.end(body);
      return;
    }
    createReadStream(absolute, { start, end }).pipe(res);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => res.destroy(error as Error));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    cutNext: (file, afterBytes) => cuts.set(normalize(file), afterBytes),
    corrupt: (file) => corrupted.add(normalize(file)),
    failWith: (file, status) => failures.set(normalize(file), status),
    reset: () => {
      failures.clear();
      cuts.clear();
      corrupted.clear();
      requests.length = 0;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : undefined;
  } catch {
    return undefined;
  }
}
