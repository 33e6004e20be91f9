/**
 * The one permission the app asks for is the microphone (recording a meeting), and only for its own
 * pages. Everything else — camera, geolocation, notifications, clipboard reads, MIDI… — is refused.
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
