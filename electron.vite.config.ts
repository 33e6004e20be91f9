import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import type { UserConfig } from 'vite';

// Native add-ons and the libraries that load them must stay real files next to their binaries
// (electron-builder unpacks them from the asar), so main never bundles them.
const NATIVE_MODULES = ['better-sqlite3', 'node-llama-cpp', 'onnxruntime-node', '@huggingface/transformers', 'sharp'];

/**
 * The renderer alone, as a plain Vite config: `electron-vite build` uses it for the app, and the
 * end-to-end suite builds just this for browser mode (`switchboard serve` serves out/renderer).
 */
export const rendererConfig = {
  root: resolve(import.meta.dirname, 'renderer'),
  // Relative asset URLs: the same build is loaded from app:// by Electron and from http:// by `switchboard serve`.
  base: './',
  plugins: [react()],
  build: {
    outDir: resolve(import.meta.dirname, 'out/renderer'),
    emptyOutDir: true,
    // electron-vite leaves bundles unminified; browser mode downloads this one over HTTP.
    minify: true,
    rolldownOptions: { input: { index: resolve(import.meta.dirname, 'renderer/index.html') } },
  },
} satisfies UserConfig;

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      externalizeDeps: { include: NATIVE_MODULES },
      rolldownOptions: {
        input: { index: resolve(import.meta.dirname, 'electron/main/index.ts') },
        external: NATIVE_MODULES,
      },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // A sandboxed preload is loaded as a classic script: CommonJS, one file, nothing but 'electron' required.
      externalizeDeps: false,
      isolatedEntries: true,
      rolldownOptions: {
        input: { index: resolve(import.meta.dirname, 'electron/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: rendererConfig,
});
