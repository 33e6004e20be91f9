/**
 * What the built engine (out/main/engine.js, bundled by electron-vite beside the desktop app's main)
 * offers: the app's services from the paths alone, in plain Node, without Electron.
 */
export { type AppServices, createAppServices } from './bootstrap.ts';
export { resolvePaths } from './config/paths.ts';
