import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cancelledError, isAbortError, LocalModelError } from './errors.ts';

export interface DownloadProgress {
  /** The file being written (its final path). */
  file: string;
  receivedBytes: number;
  totalBytes?: number;
  bytesPerSecond: number;
  etaSeconds?: number;
  /** Bytes already on disk from an earlier, interrupted download. */
  resumedFromBytes: number;
}

export interface DownloadOptions {
  url: string;
  destination: string;
  sha256?: string;
  signal?: AbortSignal;
  onProgress?: (progress: DownloadProgress) => void;
  /** Network failures to recover from (by resuming) before giving up. */
  retries?: number;
  retryDelayMs?: number;
  /** Least time between two progress events. */
  progressIntervalMs?: number;
}

export interface DownloadResult {
  bytes: number;
  sha256: string;
  resumedFromBytes: number;
}

/** The file a download writes into until it is complete and verified; kept on failure so the next try resumes. */
export function partialPathOf(destination: string): string {
  return `${destination}.part`;
}

class NetworkFailure extends Error {}

/**
 * Downloads a URL to a file: resumes a partial file with an HTTP Range request, retries network
 * failures by resuming, verifies the sha256 when one is given (a mismatch deletes the partial file),
 * and stops on the signal (keeping the partial file for a later resume).
 */
export async function downloadFile(options: DownloadOptions): Promise<DownloadResult> {
  const retries = options.retries ?? 3;
  await mkdir(dirname(options.destination), { recursive: true });
  for (let attempt = 0; ; attempt++) {
    try {
      return await downloadOnce(options);
    } catch (error) {
      if (options.signal?.aborted || isAbortError(error)) throw cancelledError(error);
      if (!(error instanceof NetworkFailure)) throw error;
      if (attempt >= retries) {
        throw new LocalModelError(
          'CONNECTION_FAILED',
          `${error.message}; the partial download is kept, run the same pull again to resume`,
          { cause: error.cause },
        );
      }
      await sleep((options.retryDelayMs ?? 500) * (attempt + 1), undefined, { signal: options.signal }).catch(
        (abort: unknown) => {
          throw cancelledError(abort);
        },
      );
    }
  }
}

async function downloadOnce(options: DownloadOptions): Promise<DownloadResult> {
  const { url, destination, signal } = options;
  const partial = partialPathOf(destination);
  let offset = await sizeOf(partial);

  let response = await request(url, offset, signal);
  if (response.status === 416 && offset > 0) {
    // The partial file is not a prefix of this file (it is as long or longer): start over.
    await response.body?.cancel();
    await rm(partial, { force: true });
    offset = 0;
    response = await request(url, 0, signal);
  }
  if (response.status === 404) {
    await response.body?.cancel();
    throw new LocalModelError('NOT_FOUND', `no file at ${url} (HTTP 404): check the model id and quantisation`);
  }
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    throw new LocalModelError(
      'NOT_FOUND',
      `${url} refused the download (HTTP ${response.status}): the repository may be gated or private; download the file in a browser and use \`switchboard models import\``,
    );
  }
  if (response.status !== 200 && response.status !== 206) {
    await response.body?.cancel();
    throw new LocalModelError('BAD_RESPONSE', `${url} answered HTTP ${response.status} ${response.statusText}`);
  }
  if (response.status === 200 && offset > 0) offset = 0; // the server ignored the Range request
  if (response.status === 206 && rangeStart(response) !== offset) {
    await response.body?.cancel();
    throw new LocalModelError('BAD_RESPONSE', `${url} answered a different byte range than asked for`);
  }
  const length = Number(response.headers.get('content-length'));
  const totalBytes = Number.isFinite(length) && length > 0 ? offset + length : undefined;

  const hash = createHash('sha256');
  if (offset > 0) await hashFile(partial, hash);
  const handle = await open(partial, offset > 0 ? 'a' : 'w');
  const started = performance.now();
  let received = offset;
  let lastReport = 0;
  const report = (force: boolean) => {
    const now = performance.now();
    if (!options.onProgress || (!force && now - lastReport < (options.progressIntervalMs ?? 100))) return;
    lastReport = now;
    const seconds = (now - started) / 1000;
    const bytesPerSecond = seconds > 0 ? (received - offset) / seconds : 0;
    options.onProgress({
      file: destination,
      receivedBytes: received,
      totalBytes,
      bytesPerSecond,
      etaSeconds: totalBytes !== undefined && bytesPerSecond > 0 ? (totalBytes - received) / bytesPerSecond : undefined,
      resumedFromBytes: offset,
    });
  };
  try {
    if (!response.body) throw new NetworkFailure(`${url} sent no body`);
    const reader = response.body.getReader();
    for (;;) {
      const { done, value: chunk } = await reader.read();
      if (done) break;
      hash.update(chunk);
      await handle.write(chunk);
      received += chunk.byteLength;
      report(false);
    }
  } catch (error) {
    if (signal?.aborted || isAbortError(error)) throw cancelledError(error);
    if (error instanceof NetworkFailure) throw error;
    throw new NetworkFailure(
      `the connection to ${new URL(url).host} broke after ${received} of ${totalBytes ?? '?'} bytes`,
      {
        cause: error,
      },
    );
  } finally {
    await handle.close();
  }
  report(true);

  if (totalBytes !== undefined && received !== totalBytes) {
    throw new NetworkFailure(`the download of ${url} ended after ${received} of ${totalBytes} bytes`);
  }
  const digest = hash.digest('hex');
  if (options.sha256 && digest !== options.sha256.toLowerCase()) {
    await rm(partial, { force: true });
    throw new LocalModelError(
      'BAD_RESPONSE',
      `checksum mismatch for ${url}: expected sha256 ${options.sha256}, got ${digest}; the downloaded file was deleted, pull again`,
    );
  }
  await rename(partial, destination);
  return { bytes: received, sha256: digest, resumedFromBytes: offset };
}

async function request(url: string, offset: number, signal: AbortSignal | undefined): Promise<Response> {
  try {
    return await fetch(url, { headers: offset > 0 ? { range: `bytes=${offset}-` } : {}, signal, redirect: 'follow' });
  } catch (error) {
    if (signal?.aborted || isAbortError(error)) throw error;
    throw new NetworkFailure(`${new URL(url).host} could not be reached (${(error as Error).message})`, {
      cause: error,
    });
  }
}

function rangeStart(response: Response): number | undefined {
  const match = /^bytes (\d+)-/.exec(response.headers.get('content-range') ?? '');
  return match ? Number(match[1]) : undefined;
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function hashFile(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}
