import { extname, join, normalize, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { net, protocol } from 'electron';
import { APP_HOST, APP_SCHEME } from './app-origin.ts';

/** Must run before `app.whenReady()`: gives app:// an origin, fetch, and media streaming (seeking in <audio>). */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
  ]);
}

/** Maps an app:// URL path to a file under the renderer build, or undefined if it points outside it. */
export function rendererFileFor(rendererDir: string, pathname: string): string | undefined {
  const relative = normalize(decodeURIComponent(pathname)).replace(/^[/\\]+/, '');
  const file = join(rendererDir, relative || 'index.html');
  return file.startsWith(rendererDir + sep) ? file : undefined;
}

/** Serves the renderer build on app://switchboard/, each response carrying the CSP. */
export function serveRenderer(rendererDir: string, contentSecurityPolicy: string): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    const file = url.host === APP_HOST ? rendererFileFor(rendererDir, url.pathname) : undefined;
    if (!file) return new Response('Not found', { status: 404 });
    // Client-side routes have no extension: they all load the app shell.
    const response = await net.fetch(pathToFileURL(extname(file) ? file : join(rendererDir, 'index.html')).toString());
    const headers = new Headers(response.headers);
    headers.set('Content-Security-Policy', contentSecurityPolicy);
    headers.set('X-Content-Type-Options', 'nosniff');
    return new Response(response.body, { status: response.status, headers });
  });
}
