/**
 * The Content-Security-Policy every app response carries. Only our own scripts run; nothing is
 * fetched from the network (the engine makes every outside request, in main, under the user's
 * cloud-fallback switch); media may come from blobs (microphone recordings) and the app's own audio.
 */
export interface CspOptions {
  /** The Vite dev server while developing: its origin and its HMR websocket are allowed, and inline styles it injects. */
  devServerUrl?: string;
}

export function buildContentSecurityPolicy({ devServerUrl }: CspOptions = {}): string {
  const dev = devServerUrl ? new URL(devServerUrl) : undefined;
  const devOrigin = dev ? ` ${dev.origin}` : '';
  const devSocket = dev ? ` ws://${dev.host}` : '';
  const directives: [string, string][] = [
    ['default-src', "'none'"],
    ['script-src', `'self'${devOrigin}`],
    ['style-src', `'self'${devOrigin}${dev ? " 'unsafe-inline'" : ''}`],
    ['img-src', "'self' data: blob:"],
    ['font-src', "'self' data:"],
    ['media-src', "'self' blob: mediastream:"],
    ['connect-src', `'self'${devOrigin}${devSocket}`],
    ['worker-src', "'self'"],
    ['object-src', "'none'"],
    ['base-uri', "'none'"],
    ['form-action', "'none'"],
    ['frame-src', "'none'"],
    ['frame-ancestors', "'none'"],
  ];
  return directives.map(([name, value]) => `${name} ${value}`).join('; ');
}
