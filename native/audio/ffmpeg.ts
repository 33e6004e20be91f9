import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { AudioDecodeError } from './errors.ts';

// Not named `require`: the desktop bundle declares one of its own in the same scope.
const requireHere = createRequire(import.meta.url);

/**
 * The static ffmpeg that ships inside npm (@ffmpeg-installer/ffmpeg) when it is installed for this platform,
 * otherwise `ffmpeg` from PATH. In the packed desktop app the binary lies beside the asar archive, not in it.
 */
export function ffmpegPath(): string {
  try {
    const path = (requireHere('@ffmpeg-installer/ffmpeg') as { path: string }).path;
    return path.replace(/([\\/])app\.asar([\\/])/, '$1app.asar.unpacked$2');
  } catch {
    return 'ffmpeg';
  }
}

/** Decodes any container/codec ffmpeg reads to mono float samples at `sampleRate` (one channel, or all mixed). */
export function decodeWithFfmpeg(
  filePath: string,
  sampleRate: number,
  signal?: AbortSignal,
  binary = ffmpegPath(),
  channel?: number,
): Promise<Float32Array> {
  const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-i', filePath, '-vn'];
  // One channel of several (a call recorded as me and them), or all of them mixed down.
  args.push(...(channel === undefined ? ['-ac', '1'] : ['-af', `pan=mono|c0=c${channel}`]));
  args.push('-ar', String(sampleRate), '-f', 'f32le', '-acodec', 'pcm_f32le', 'pipe:1');
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    const chunks: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (error.name === 'AbortError') return reject(error);
      reject(
        new AudioDecodeError(
          error.code === 'ENOENT'
            ? `cannot decode ${filePath}: ffmpeg was not found (install ffmpeg, or convert the file to WAV)`
            : `cannot decode ${filePath}: ffmpeg failed to start (${error.message})`,
          { cause: error },
        ),
      );
    });
    child.on('close', (code) => {
      if (code !== 0) {
        const reason = stderr.trim().split('\n').at(-1) ?? `exit code ${code}`;
        reject(
          new AudioDecodeError(
            `${filePath} is not a readable audio file (${reason}); check that it is not damaged, or convert it to WAV or MP3`,
          ),
        );
        return;
      }
      const bytes = Buffer.concat(chunks);
      // Copy into a fresh buffer: a Float32Array needs 4-byte alignment, which Buffer pools do not promise.
      const samples = new Float32Array(Math.floor(bytes.length / 4));
      new Uint8Array(samples.buffer).set(bytes.subarray(0, samples.length * 4));
      resolve(samples);
    });
  });
}
