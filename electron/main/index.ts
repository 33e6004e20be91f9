import { join } from 'node:path';
import {
  app,
  BrowserWindow,
  desktopCapturer,
  dialog,
  Menu,
  Notification,
  nativeTheme,
  session,
  shell,
  type WebContents,
} from 'electron';
import { createAppServices } from '../engine/bootstrap.ts';
import { resolvePaths } from '../engine/config/paths.ts';
import { fileKeyProvider } from '../engine/store/secrets.ts';
import { APP_ENTRY_URL, isAppUrl, isExternalWebUrl, meetingAudioUrl } from './app-origin.ts';
import { buildContentSecurityPolicy } from './csp.ts';
import { logUncaughtErrors, startDesktopLog } from './desktop-log.ts';
import { registerIpc } from './ipc.ts';
import { buildMenuTemplate } from './menu.ts';
import { notifyOperationalWarnings } from './operations-bridge.ts';
import { displayCaptureFor, isPermissionAllowed } from './permissions.ts';
import { registerAppScheme, serveAppProtocol } from './protocol.ts';
import { adoptLegacyDesktopKeys, keyringNote } from './safe-storage-key.ts';
import { createUploadSaver } from './uploads.ts';
import { createWindowOptions } from './window-options.ts';

// electron-vite sets this while developing; a packaged app always loads its own files.
const devServerUrl = !app.isPackaged ? process.env.ELECTRON_RENDERER_URL : undefined;
const isOwnUrl = (url: string) => isAppUrl(url, devServerUrl);
const contentSecurityPolicy = buildContentSecurityPolicy({ devServerUrl });

let mainWindow: BrowserWindow | null = null;

function lockDownSession(): void {
  const ses = session.defaultSession;
  // Chromium downloads spellchecker dictionaries from Google: off for the session as well as the window.
  ses.setSpellCheckerEnabled(false);
  ses.webRequest.onHeadersReceived((details, callback) => {
    const headers = { ...details.responseHeaders };
    if (isOwnUrl(details.url)) headers['Content-Security-Policy'] = [contentSecurityPolicy];
    callback({ responseHeaders: headers });
  });
  ses.setPermissionRequestHandler((webContents, permission, callback, details) => {
    const mediaTypes = 'mediaTypes' in details ? details.mediaTypes : undefined;
    callback(isPermissionAllowed({ permission, requestingUrl: webContents.getURL(), mediaTypes }, isOwnUrl));
  });
  ses.setPermissionCheckHandler((_webContents, permission, requestingOrigin) =>
    isPermissionAllowed({ permission, requestingUrl: requestingOrigin }, isOwnUrl),
  );
  // Recording the other side of a call: getDisplayMedia answered with the system's audio (loopback).
  ses.setDisplayMediaRequestHandler((request, callback) => {
    const audio = displayCaptureFor(request.frame?.url ?? '', isOwnUrl);
    if (!audio) return callback({});
    void desktopCapturer.getSources({ types: ['screen'] }).then(
      (sources) => callback(sources[0] ? { video: sources[0], audio } : {}),
      () => callback({}),
    );
  });
}

function openExternally(url: string): void {
  if (isExternalWebUrl(url)) void shell.openExternal(url);
}

/**
 * Every web contents (the window, and any the app or Chromium creates later) shows the app and
 * nothing else: links open in the user's browser, other navigation and new windows are dropped.
 */
function guardContents(contents: WebContents): void {
  contents.setWindowOpenHandler(({ url }) => {
    openExternally(url);
    return { action: 'deny' };
  });
  contents.on('will-navigate', (event, url) => {
    if (isOwnUrl(url)) return;
    event.preventDefault();
    openExternally(url);
  });
  contents.on('will-redirect', (event, url) => {
    if (!isOwnUrl(url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
}

function createMainWindow(): BrowserWindow {
  const window = new BrowserWindow(
    createWindowOptions({
      preloadPath: join(import.meta.dirname, '../preload/index.cjs'),
      iconPath: app.isPackaged ? undefined : join(import.meta.dirname, '../../resources/icons/icon.png'),
      dark: nativeTheme.shouldUseDarkColors,
    }),
  );
  window.once('ready-to-show', () => window.show());
  void window.loadURL(devServerUrl ?? APP_ENTRY_URL);
  return window;
}

async function start(): Promise<void> {
  await app.whenReady();
  const paths = resolvePaths();
  const { logger: log, follow } = startDesktopLog(paths.dataDir);
  logUncaughtErrors(log);
  log.note(
    'info',
    'desktop.started',
    `Switchboard ${app.getVersion()} starting (Electron ${process.versions.electron}, data in ${paths.dataDir})`,
  );
  const services = await createAppServices(paths, {
    watchConfig: true,
    runQueue: true,
    checkpointOffThread: true,
    // The one key store of the app, `switchboard serve` and the CLI (see safe-storage-key.ts).
    keyProvider: fileKeyProvider(join(paths.dataDir, 'secret.key'), keyringNote()),
    audioUrl: (meeting) => (meeting.audioFile ? meetingAudioUrl(meeting.id) : null),
    // No terminal to see it on: an alert the webhook never took is a line of the log.
    onAlertFailure: (message) => log.note('error', 'alert.undelivered', message),
  });
  follow(services);
  adoptLegacyDesktopKeys(services.store, paths.dataDir);
  services.engine.source.reload();
  lockDownSession();
  serveAppProtocol({
    rendererDir: join(import.meta.dirname, '../renderer'),
    contentSecurityPolicy,
    meetingAudioFile: (meetingId) => services.queue.audioPathOf(meetingId),
  });
  registerIpc({
    handlers: services.appApi,
    isAppUrl: isOwnUrl,
    saveUpload: createUploadSaver(services.uploadsDir, () => services.engine.config.bodyLimits.uploadBytes),
    operations: services.operations,
  });
  notifyOperationalWarnings(services.operations, {
    windowFocused: () => mainWindow?.isFocused() ?? false,
    labelOf: (providerId) => services.engine.listProviders().find((p) => p.id === providerId)?.label ?? providerId,
    show: (title, body) => {
      if (Notification.isSupported()) new Notification({ title, body }).show();
    },
  });
  Menu.setApplicationMenu(
    Menu.buildFromTemplate(
      buildMenuTemplate(process.platform, Boolean(devServerUrl), {
        openDataFolder: () => void shell.openPath(paths.dataDir),
        openExternal: openExternally,
      }),
    ),
  );
  mainWindow = createMainWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) mainWindow = createMainWindow();
  });
  let closing = false;
  app.on('before-quit', (event) => {
    if (closing) return;
    closing = true;
    event.preventDefault();
    // Stop llama/whisper workers and flush the database before the process goes.
    log.note('info', 'desktop.quitting', 'Switchboard quitting');
    void services
      .close()
      .catch((error: unknown) =>
        log.note(
          'error',
          'desktop.close_failed',
          `closing the engine failed: ${error instanceof Error ? error.message : String(error)}`,
        ),
      )
      .finally(() => log.close().finally(() => app.quit()));
  });
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  registerAppScheme();
  app.on('second-instance', () => {
    if (!mainWindow) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  app.on('web-contents-created', (_event, contents) => guardContents(contents));
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  start().catch((error: unknown) => {
    // The log may not be open yet (the data dir is what failed): the console always is.
    const reason = error instanceof Error ? error.message : String(error);
    console.error('Switchboard could not start:', reason);
    // A desktop user sees no terminal: an invalid providers.yaml, say, is shown with every problem listed.
    dialog.showErrorBox('Switchboard could not start', reason);
    app.exit(1);
  });
}
