import { describe, expect, it } from 'vitest';
import { createWindowOptions } from '../../../electron/main/window-options.ts';

describe('createWindowOptions', () => {
  const options = createWindowOptions({ preloadPath: '/app/out/preload/index.cjs', dark: false });
  const web = options.webPreferences ?? {};

  it('isolates the page from Node and from the preload, and sandboxes it', () => {
    expect(web.contextIsolation).toBe(true);
    expect(web.sandbox).toBe(true);
    expect(web.nodeIntegration).toBe(false);
    expect(web.nodeIntegrationInWorker).toBe(false);
    expect(web.nodeIntegrationInSubFrames).toBe(false);
  });

  it('keeps the same-origin policy and refuses insecure content, webviews and experimental features', () => {
    expect(web.webSecurity).toBe(true);
    expect(web.allowRunningInsecureContent).toBe(false);
    expect(web.webviewTag).toBe(false);
    expect(web.experimentalFeatures).toBe(false);
    expect(web.navigateOnDragDrop).toBe(false);
  });

  it('turns the spellchecker off: Chromium would download its dictionaries, traffic no cloud switch governs', () => {
    expect(web.spellcheck).toBe(false);
  });

  it('loads the preload it was given and nothing else', () => {
    expect(web.preload).toBe('/app/out/preload/index.cjs');
    expect(Object.keys(web)).not.toContain('additionalArguments');
  });

  it('opens at 1280×800 and never shrinks below 800×600, the layouts the panes are made for', () => {
    expect([options.width, options.height]).toEqual([1280, 800]);
    expect([options.minWidth, options.minHeight]).toEqual([800, 600]);
  });

  it('paints the theme background before the first frame', () => {
    expect(createWindowOptions({ preloadPath: 'p', dark: true }).backgroundColor).not.toBe(options.backgroundColor);
    expect(options.show).toBe(false);
  });
});
