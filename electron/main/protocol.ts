import { extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { net, protocol } from 'electron';
import { APP_HOST, APP_SCHEME, meetingIdFromMediaPath, rendererFileFor } from './app-origin.ts';

/** Must run before `app.whenReady()`: gives app:// an origin, fetch, and media streaming (seeking in <audio>). */
export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
  ]);
}

export interface AppProtocolOptions {
  rendererDir: string;
  contentSecurityPolicy: string;
  /** The recording of a meeting, for app://switchboard/media/meetings/<id>; undefined when it has none. */
  meetingAudioFile(meetingId: string): string | undefined;
}

function notFound(): Response {
  return new Response('Not found', { status: 404 });
}

/** Serves the renderer build and meetings' audio on app://switchboard/, each page carrying the CSP. */
export function serveAppProtocol({ rendererDir, contentSecurityPolicy, meetingAudioFile }: AppProtocolOptions): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    if (url.host !== APP_HOST) return notFound();
    const meetingId = meetingIdFromMediaPath(url.pathname);
    if (meetingId !== undefined) {
      const audio = meetingAudioFile(meetingId);
      // Range requests pass through, so the player can seek without reading the whole file.
      return audio ? net.fetch(pathToFileURL(audio).toString(), { headers: request.headers }) : notFound();
    }
    const file = rendererFileFor(rendererDir, url.pathname);
    if (!file) return notFound();
    // Client-side routes have no extension: they all load the app shell.
    const response = await net.fetch(pathToFileURL(extname(file) ? file : join(rendererDir, 'index.html')).toString());
    const headers = new Headers(response.headers);
    headers.set('Content-Security-Policy', contentSecurityPolicy);
    headers.set('X-Content-Type-Options', 'nosniff');
    return new Response(response.body, { status: response.status, headers });
  });
}
