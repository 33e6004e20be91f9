import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// `npm run lint` of the real project, run over a small tree laid out like the project's layers: a clean one
// passes, and each deliberate violation of DESIGN.md's arrows makes it fail, naming the rule.
const ROOT = resolve(import.meta.dirname, '../../..');
const PROJECT_FILES = ['package.json', 'tsconfig.json', 'biome.json', '.dependency-cruiser.mjs'];

const CLEAN_TREE: Record<string, string> = {
  'electron/engine/contract/api.ts': 'export interface Answer {\n  text: string;\n}\n',
  'electron/engine/engine.ts':
    "import { tokens } from '../../native/llama/index.ts';\nimport type { Answer } from './contract/api.ts';\n\nexport const answer = (text: string): Answer => ({ text: text + tokens(text) });\n",
  'native/llama/index.ts': 'export const tokens = (text: string): number => text.length;\n',
  'electron/main/index.ts': "import { answer } from '../engine/engine.ts';\n\nexport const hello = answer('hello');\n",
  'renderer/src/view.ts':
    "import type { Answer } from '#contract/api.ts';\n\nexport const show = (answer: Answer): string => answer.text;\n",
};

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-layers-'));
  for (const file of PROJECT_FILES) copyFileSync(join(ROOT, file), join(dir, file));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeTree(CLEAN_TREE);
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writeTree(files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
}

function lint(): { status: number | null; output: string } {
  const run = spawnSync('npm', ['run', 'lint', '--silent'], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('npm run lint keeps the layers of DESIGN.md', () => {
  it('passes a tree that keeps them', () => {
    const { status, output } = lint();
    expect(output).toContain('no dependency violations found');
    expect(status).toBe(0);
  }, 120_000);

  it.each<{ name: string; rule: string; files: Record<string, string> }>([
    {
      name: 'an upward import from native/ into the engine',
      rule: 'native-not-upward',
      files: {
        'native/llama/index.ts':
          "import type { Answer } from '../../electron/engine/contract/api.ts';\n\nexport const tokens = (text: string): number => text.length;\nexport type Seen = Answer;\n",
      },
    },
    {
      name: 'a circle',
      rule: 'no-circular',
      files: {
        'electron/engine/contract/api.ts':
          "import type { Hello } from './hello.ts';\n\nexport interface Answer {\n  text: Hello;\n}\n",
        'electron/engine/contract/hello.ts':
          "import type { Answer } from './api.ts';\n\nexport type Hello = string;\nexport type Echo = Answer;\n",
      },
    },
    {
      name: "the engine importing 'electron'",
      rule: 'engine-without-electron',
      files: {
        'electron/engine/engine.ts':
          "import { app } from 'electron';\n\nexport const answer = (text: string): string => app.name + text;\n",
      },
    },
    {
      name: 'the renderer reaching past the contract',
      rule: 'renderer-only-contract',
      files: {
        'renderer/src/view.ts':
          "import { answer } from '../../electron/engine/engine.ts';\n\nexport const show = answer;\n",
      },
    },
    {
      name: 'the renderer touching Node',
      rule: 'renderer-without-node',
      files: {
        'renderer/src/view.ts': "import { readFileSync } from 'node:fs';\n\nexport const show = readFileSync;\n",
      },
    },
    {
      name: 'the contract importing a layer',
      rule: 'contract-is-common',
      files: {
        'electron/engine/contract/api.ts':
          "import { tokens } from '../../../native/llama/index.ts';\n\nexport interface Answer {\n  text: string;\n}\nexport const count = tokens;\n",
      },
    },
    {
      name: 'accounting importing routing',
      rule: 'accounting-below-routing',
      files: {
        'electron/engine/routing/types.ts': 'export interface Candidate {\n  model: string;\n}\n',
        'electron/engine/accounting/budget.ts':
          "import type { Candidate } from '../routing/types.ts';\n\nexport type Charged = Candidate;\n",
      },
    },
    {
      name: 'the configuration importing the providers',
      rule: 'config-at-the-bottom',
      files: {
        'electron/engine/providers/types.ts': "export type ProviderKind = 'ollama';\n",
        'electron/engine/config/vendors.ts':
          "import type { ProviderKind } from '../providers/types.ts';\n\nexport type VendorKind = ProviderKind;\n",
      },
    },
    {
      name: 'core importing routing',
      rule: 'engine-core-is-common',
      files: {
        'electron/engine/routing/clock.ts': 'export const now = (): number => 0;\n',
        'electron/engine/core/clock.ts': "import { now } from '../routing/clock.ts';\n\nexport const start = now;\n",
      },
    },
  ])(
    'fails on $name, naming the rule',
    ({ rule, files }) => {
      writeTree(files);
      const { status, output } = lint();
      expect(output).toContain(`error ${rule}:`);
      expect(status).not.toBe(0);
    },
    120_000,
  );
});
