import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { type RequestContext, tooLarge } from './http.ts';
import { HttpError } from './problems.ts';

/** Room for the multipart framing and the text fields around the file. */
const MULTIPART_OVERHEAD_BYTES = 64 * 1024;

/** Audio (and the video containers people record audio in) by extension, for clients that send no type. */
export const AUDIO_EXTENSIONS = new Set([
  '.wav',
  '.mp3',
  '.mpga',
  '.mpeg',
  '.m4a',
  '.mp4',
  '.aac',
  '.ogg',
  '.oga',
  '.opus',
  '.webm',
  '.flac',
  '.aiff',
  '.aif',
  '.wma',
  '.caf',
]);

export interface ReceivedFile {
  path: string;
  filename: string;
  mimeType: string;
  bytes: number;
}

export interface ReceivedUpload {
  fields: Record<string, string>;
  file?: ReceivedFile;
}

function isAudio(filename: string, mimeType: string): boolean {
  if (mimeType.startsWith('audio/')) return true;
  return AUDIO_EXTENSIONS.has(extname(filename).toLowerCase());
}

/**
 * Reads a multipart body: text fields into a record, the `file` field (audio only) streamed to a new
 * file in `dir`. A file past the configured upload limit is refused with 413 and the partial file removed.
 */
export async function receiveUpload(ctx: RequestContext, options: { dir: string }): Promise<ReceivedUpload> {
  const limit = ctx.limits.uploadBytes;
  const type = ctx.req.headers['content-type'] ?? '';
  if (!type.toLowerCase().startsWith('multipart/form-data')) {
    throw new HttpError(415, 'unsupported_media_type', 'send the audio as multipart/form-data with a "file" field');
  }
  if (Number(ctx.req.headers['content-length']) > limit + MULTIPART_OVERHEAD_BYTES) {
    throw tooLarge(ctx, limit, 'upload');
  }
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  const fields: Record<string, string> = {};
  let file: ReceivedFile | undefined;
  const writes: Promise<void>[] = [];
  let refusal: HttpError | undefined;
  let fail: (error: Error) => void = () => {};

  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: ctx.req.headers,
      limits: { fileSize: limit, files: 1, fields: 50, fieldSize: 64 * 1024 },
    });
  } catch (error) {
    // busboy refuses a Content-Type it cannot read (no boundary) before any byte: the client's mistake.
    throw new HttpError(
      400,
      'invalid_request',
      `the multipart body cannot be read (${(error as Error).message}): send Content-Type: multipart/form-data; boundary=…, as curl -F and HTTP libraries do`,
    );
  }
  parser.on('field', (name, value) => {
    // A list field (`name[]`, repeated: OpenAI's timestamp_granularities[]) keeps every value, comma-joined.
    fields[name] = name.endsWith('[]') && fields[name] ? `${fields[name]},${value}` : value;
  });
  parser.on('file', (name, stream, info) => {
    if (name !== 'file' || file) {
      stream.resume();
      return;
    }
    if (!isAudio(info.filename ?? '', info.mimeType)) {
      refusal ??= new HttpError(
        415,
        'unsupported_media_type',
        `"${info.filename}" is not audio (${info.mimeType}): upload wav, mp3, m4a, ogg, webm or flac`,
        'file',
      );
      stream.resume();
      return;
    }
    const received: ReceivedFile = {
      path: join(options.dir, `switchboard-upload-${randomUUID()}${extname(info.filename ?? '').toLowerCase()}`),
      filename: info.filename ?? 'audio',
      mimeType: info.mimeType,
      bytes: 0,
    };
    file = received;
    stream.on('data', (chunk: Buffer) => {
      received.bytes += chunk.length;
    });
    stream.on('limit', () => {
      // Stop reading at once: the rest of an oversized body is not worth receiving.
      ctx.req.unpipe(parser);
      stream.destroy();
      fail(tooLarge(ctx, limit, 'upload'));
    });
    const write = pipeline(stream, createWriteStream(received.path, { mode: 0o600 }));
    // Awaited below; a failure before then (disk full) must not become an unhandled rejection.
    write.catch(() => {});
    writes.push(write);
  });

  const finished = new Promise<void>((resolve, reject) => {
    fail = reject;
    parser.on('close', resolve);
    parser.on('error', (error: Error) =>
      reject(new HttpError(400, 'invalid_request', `the multipart body is malformed: ${error.message}`)),
    );
    ctx.req.on('error', reject);
  });
  ctx.req.pipe(parser);
  try {
    await finished;
    await Promise.all(writes);
  } catch (error) {
    await Promise.allSettled(writes);
    await removeUpload(file);
    throw error;
  }
  if (refusal) {
    await removeUpload(file);
    throw refusal;
  }
  return { fields, file };
}

export async function removeUpload(file: ReceivedFile | undefined): Promise<void> {
  if (file) await rm(file.path, { force: true });
}
