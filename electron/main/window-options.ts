import type { BrowserWindowConstructorOptions } from 'electron';

export interface WindowOptionsInput {
  preloadPath: string;
  iconPath?: string;
  /** Paint the window in the theme's background before the first frame, so there is no white flash. */
  dark: boolean;
}

/**
 * The main window's options. Pure, so a unit test can hold the security settings to account
 * without launching Electron: the renderer is a web page with no Node, isolated from the preload,
 * sandboxed, and bound by the same-origin policy.
 */
export function createWindowOptions({
  preloadPath,
  iconPath,
  dark,
}: WindowOptionsInput): BrowserWindowConstructorOptions {
  return {
    width: 1280,
    height: 800,
    minWidth: 800,
    minHeight: 600,
    show: false,
    title: 'Switchboard',
    backgroundColor: dark ? '#15171c' : '#ffffff',
    ...(iconPath ? { icon: iconPath } : {}),
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      // Chromium downloads spellchecker dictionaries from Google: traffic no cloud switch governs.
      spellcheck: false,
    },
  };
}
