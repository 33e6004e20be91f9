import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const SCRIPT = resolve(import.meta.dirname, '../../../scripts/check-clean-tree.sh');

function git(dir: string, ...args: string[]): void {
  const result = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], {
    cwd: dir,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
}

function check(dir: string) {
  return spawnSync('bash', [SCRIPT, dir], { encoding: 'utf8' });
}

describe("CI's clean-tree check (scripts/check-clean-tree.sh, run by .ci/run after setup and tests)", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'clean-tree-'));
    git(dir, 'init', '-q');
    writeFileSync(join(dir, '.gitignore'), 'test-results/\n');
    writeFileSync(join(dir, 'package-lock.json'), '{}\n');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'start');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('passes on a clean tree, and artefacts in ignored folders keep it clean', () => {
    mkdirSync(join(dir, 'test-results'));
    writeFileSync(join(dir, 'test-results', 'chat.png'), 'png');
    const result = check(dir);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('clean');
  });

  it('fails and names the file when setup rewrote a tracked file', () => {
    writeFileSync(join(dir, 'package-lock.json'), '{"rewritten": true}\n');
    const result = check(dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('package-lock.json');
  });

  it('fails and names the file when a test wrote an untracked file into the tree', () => {
    mkdirSync(join(dir, 'docs', 'screenshots'), { recursive: true });
    writeFileSync(join(dir, 'docs', 'screenshots', 'chat.png'), 'png');
    const result = check(dir);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('docs/screenshots/chat.png');
  });
});
