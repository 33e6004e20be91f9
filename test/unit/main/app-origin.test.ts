import { describe, expect, it } from 'vitest';
import {
  isAppUrl,
  isExternalWebUrl,
  meetingAudioUrl,
  meetingIdFromMediaPath,
  rendererFileFor,
} from '../../../electron/main/app-origin.ts';
import { displayCaptureFor, isPermissionAllowed } from '../../../electron/main/permissions.ts';

describe('app origin', () => {
  it('recognises only the app’s own pages (and the dev server while developing)', () => {
    expect(isAppUrl('app://switchboard/index.html')).toBe(true);
    expect(isAppUrl('app://other/index.html')).toBe(false);
    expect(isAppUrl('https://switchboard/index.html')).toBe(false);
    expect(isAppUrl('file:///etc/passwd')).toBe(false);
    expect(isAppUrl('not a url')).toBe(false);
    expect(isAppUrl('http://localhost:5173/#/chat', 'http://localhost:5173')).toBe(true);
    expect(isAppUrl('http://localhost:5174/', 'http://localhost:5173')).toBe(false);
  });

  it('opens only http(s) links externally', () => {
    expect(isExternalWebUrl('https://example.com/docs')).toBe(true);
    expect(isExternalWebUrl('http://example.com')).toBe(true);
    for (const url of ['file:///etc/passwd', 'javascript:alert(1)', 'smb://host/share', 'app://switchboard/']) {
      expect(isExternalWebUrl(url)).toBe(false);
    }
  });

  it('serves files from the renderer build only, whatever the path says', () => {
    const root = '/app/out/renderer';
    expect(rendererFileFor(root, '/index.html')).toBe('/app/out/renderer/index.html');
    expect(rendererFileFor(root, '/')).toBe('/app/out/renderer/index.html');
    expect(rendererFileFor(root, '/assets/index-abc.js')).toBe('/app/out/renderer/assets/index-abc.js');
    // `..` cannot climb above the root: an absolute path normalises at it.
    for (const path of ['/../main/index.js', '/%2e%2e/%2e%2e/etc/passwd', '/assets/../../../x']) {
      const file = rendererFileFor(root, path);
      expect(file?.startsWith(`${root}/`), path).toBe(true);
    }
    expect(rendererFileFor(root, '/%2e%2e/%2e%2e/etc/passwd')).toBe('/app/out/renderer/etc/passwd');
    for (const path of ['/%00', '/%E0%A4%A']) expect(rendererFileFor(root, path)).toBeUndefined();
  });

  it('round-trips meeting audio URLs and refuses other media paths', () => {
    const url = new URL(meetingAudioUrl('m 1/2'));
    expect(url.protocol).toBe('app:');
    expect(meetingIdFromMediaPath(url.pathname)).toBe(undefined);
    expect(meetingIdFromMediaPath(new URL(meetingAudioUrl('abc-123')).pathname)).toBe('abc-123');
    expect(meetingIdFromMediaPath('/index.html')).toBeUndefined();
  });
});

describe('isPermissionAllowed', () => {
  const own = (url: string) => isAppUrl(url);

  it('grants the microphone to the app’s pages', () => {
    expect(
      isPermissionAllowed({ permission: 'media', requestingUrl: 'app://switchboard/', mediaTypes: ['audio'] }, own),
    ).toBe(true);
  });

  it('refuses the camera, other permissions, and any other origin', () => {
    expect(
      isPermissionAllowed(
        { permission: 'media', requestingUrl: 'app://switchboard/', mediaTypes: ['audio', 'video'] },
        own,
      ),
    ).toBe(false);
    for (const permission of ['geolocation', 'notifications', 'clipboard-read', 'midiSysex', 'openExternal']) {
      expect(isPermissionAllowed({ permission, requestingUrl: 'app://switchboard/' }, own)).toBe(false);
    }
    expect(
      isPermissionAllowed({ permission: 'media', requestingUrl: 'https://evil.example/', mediaTypes: ['audio'] }, own),
    ).toBe(false);
  });

  it('answers a screen share from its own page with the system audio on Windows and macOS only', () => {
    const own = (url: string) => isAppUrl(url);
    expect(displayCaptureFor('app://switchboard/index.html', own, 'win32')).toBe('loopback');
    expect(displayCaptureFor('app://switchboard/index.html', own, 'darwin')).toBe('loopback');
    // Linux records the output's monitor source as an input instead; other pages get nothing.
    expect(displayCaptureFor('app://switchboard/index.html', own, 'linux')).toBeUndefined();
    expect(displayCaptureFor('https://evil.example/', own, 'win32')).toBeUndefined();
  });
});
