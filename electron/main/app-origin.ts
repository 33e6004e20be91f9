import { join, normalize, sep } from 'node:path';

/**
 * The renderer is served from a privileged custom scheme instead of file://, so it has a real origin
 * ('self' in the CSP means only our files) and no access to the rest of the disk.
 */
export const APP_SCHEME = 'app';
export const APP_HOST = 'switchboard';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;
export const APP_ENTRY_URL = `${APP_ORIGIN}/index.html`;

/** True for URLs of the app itself: the custom scheme, or the dev server while developing. */
export function isAppUrl(url: string, devServerUrl?: string): boolean {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.protocol === `${APP_SCHEME}:` && parsed.host === APP_HOST) return true;
  if (!devServerUrl) return false;
  return parsed.origin === new URL(devServerUrl).origin;
}

/** Links a user may open in their browser: plain web pages only, never file:, javascript: or custom schemes. */
export function isExternalWebUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

/** Maps an app:// URL path to a file under the renderer build, or undefined if it points outside it. */
export function rendererFileFor(rendererDir: string, pathname: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const file = join(rendererDir, normalize(decoded).replace(/^[/\\]+/, '') || 'index.html');
  return file.startsWith(rendererDir + sep) ? file : undefined;
}

const MEETING_AUDIO_PATH = '/media/meetings/';

/** Where the desktop app's audio player loads a meeting's recording (served by the app protocol). */
export function meetingAudioUrl(meetingId: string): string {
  return `${APP_ORIGIN}${MEETING_AUDIO_PATH}${encodeURIComponent(meetingId)}`;
}

/** The meeting id a media URL path names, or undefined for any other path. */
export function meetingIdFromMediaPath(pathname: string): string | undefined {
  if (!pathname.startsWith(MEETING_AUDIO_PATH)) return undefined;
  try {
    const id = decodeURIComponent(pathname.slice(MEETING_AUDIO_PATH.length));
    return id && !id.includes('/') ? id : undefined;
  } catch {
    return undefined;
  }
}
