import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { staticFile } from '../../../electron/engine/server/static.ts';
import { resolveUpload } from '../../../electron/engine/server/uploads.ts';

const ROOT = resolve('/srv/ui');

describe('file names from requests stay inside their folder', () => {
  it('maps UI paths into the UI folder', () => {
    expect(staticFile(ROOT, '/assets/app.js')).toBe(join(ROOT, 'assets', 'app.js'));
    expect(staticFile(ROOT, '/')).toBe(ROOT);
    expect(staticFile(ROOT, '/a/../b.js')).toBe(join(ROOT, 'b.js'));
  });

  it.each([
    '/../etc/passwd',
    '/%2e%2e/etc/passwd',
    '/..%2f..%2fetc%2fpasswd',
    '/a/%2e%2e/%2e%2e/x',
    '/..%5cx',
    '/x%00.js',
  ])('refuses %s', (path) => {
    expect(() => staticFile(ROOT, path)).toThrow(/not allowed/);
  });

  it('refuses malformed escapes', () => {
    expect(() => staticFile(ROOT, '/%E0%A4%A')).toThrow(/URL encoding/);
  });

  it('resolves only upload ids the server made', () => {
    const id = 'switchboard-upload-0f8fad5b-d9cb-469f-a165-70867728950e.wav';
    expect(resolveUpload('/data/uploads', id)).toBe(join('/data/uploads', id));
    for (const bad of ['../../etc/passwd', `${id}/../../x`, 'switchboard-upload-x.wav', `/abs/${id}`]) {
      expect(() => resolveUpload('/data/uploads', bad)).toThrow(/not an upload id/);
    }
  });
});
