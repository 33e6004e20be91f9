/**
 * The one permission the app asks for is the microphone (recording a meeting), and only for its own
 * pages (the system's audio for a call comes through displayCaptureFor below). Everything else — camera, geolocation, notifications, clipboard reads, MIDI… — is refused.
 */
export interface PermissionRequest {
  permission: string;
  /** URL of the frame that asks. */
  requestingUrl: string;
  /** For 'media': which devices ('audio', 'video'). */
  mediaTypes?: readonly string[];
}

export function isPermissionAllowed(request: PermissionRequest, isAppUrl: (url: string) => boolean): boolean {
  if (!isAppUrl(request.requestingUrl)) return false;
  if (request.permission !== 'media') return false;
  const types = request.mediaTypes ?? [];
  // A permission *check* carries no media types; a request must ask for audio only.
  return types.every((type) => type === 'audio');
}

/**
 * What a screen-share request from the app's own page gets: the system's audio (loopback) for recording
 * the other side of a call, with a screen as the video Chromium insists on (the recorder drops it).
 * Windows and macOS only; on Linux the recorder takes the PulseAudio/PipeWire monitor of the output as an
 * input device instead, and other pages get nothing.
 */
export function displayCaptureFor(
  requestingUrl: string,
  isAppUrl: (url: string) => boolean,
  platform: NodeJS.Platform = process.platform,
): 'loopback' | undefined {
  return isAppUrl(requestingUrl) && (platform === 'win32' || platform === 'darwin') ? 'loopback' : undefined;
}
