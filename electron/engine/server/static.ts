import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { decodePathSegment, type RequestContext } from './http.ts';
import { HttpError } from './problems.ts';

/**
 * The UI may load only its own files and talk only to this server: the same policy the Electron
 * window has in production (electron/main/csp.ts), so the app behaves alike in both.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "media-src 'self' blob: mediastream:",
  "connect-src 'self'",
  "worker-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-src 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.wasm': 'application/wasm',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The file a URL path names inside `root`, or HttpError 403 when it would leave the folder
 * (`..`, encoded or not, backslashes, NUL). Paths without an extension are the single-page app's routes.
 */
export function staticFile(root: string, urlPath: string): string {
  const decoded = decodePathSegment(urlPath);
  if (decoded.includes('\0') || decoded.includes('\\'))
    throw new HttpError(403, 'forbidden_path', 'that path is not allowed');
  const base = resolve(root);
  const target = resolve(join(base, decoded));
  if (target !== base && !target.startsWith(base + sep))
    throw new HttpError(403, 'forbidden_path', 'that path is not allowed');
  return target;
}

export async function serveStatic(ctx: RequestContext, root: string): Promise<void> {
  let file = staticFile(root, ctx.path);
  let info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) {
    // The app's own routes (/meetings/…) load the app; a missing asset is a plain 404.
    if (extname(file) !== '' && !info?.isDirectory())
      throw new HttpError(404, 'not_found', `${ctx.path} does not exist`);
    file = join(resolve(root), 'index.html');
    info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      throw new HttpError(404, 'not_found', `the UI is not built (no ${file}): run \`npm run build\` first`);
    }
  }
  const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
  const html = type.startsWith('text/html');
  ctx.res.writeHead(200, {
    'content-type': type,
    'content-length': info.size,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    // HTML is never cached: the login code in its URL must not outlive the visit.
    'cache-control': html ? 'no-store' : 'no-cache',
    ...(html ? { 'content-security-policy': CONTENT_SECURITY_POLICY, 'x-frame-options': 'DENY' } : {}),
  });
  if (ctx.method === 'HEAD') {
    ctx.res.end();
    return;
  }
  await pipeline(createReadStream(file), ctx.res);
}
