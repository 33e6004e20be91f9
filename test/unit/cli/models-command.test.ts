import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerModelsCommand } from '../../../electron/engine/cli/commands/models.ts';
import { type ModelFileServer, startModelFileServer } from '../../fakes/model-file-server.ts';
import { STORIES_260K_SHA256, storiesGguf } from '../native/models/shared-data.ts';

let server: ModelFileServer;
let modelsDir: string;
let stdout: string;
let stderr: string;

beforeAll(async () => {
  // Lay the shared file out where the catalog's stories260k URI points (hf:ggml-org/models/tinyllamas/…).
  const root = mkdtempSync(join(tmpdir(), 'hf-'));
  mkdirSync(join(root, 'tinyllamas'));
  symlinkSync(storiesGguf(), join(root, 'tinyllamas', 'stories260K.gguf'));
  server = await startModelFileServer(root);
});
afterAll(() => server.close());

beforeEach(() => {
  modelsDir = mkdtempSync(join(tmpdir(), 'cli-models-'));
  stdout = '';
  stderr = '';
  vi.stubEnv('HF_ENDPOINT', server.baseUrl);
  vi.stubEnv('LOCAL_QUANTIZATION', '4bit');
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    stderr += String(chunk);
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

async function run(...argv: string[]): Promise<void> {
  const program = new Command('switchboard').exitOverride();
  registerModelsCommand(
    program,
    () => ({ modelsDir }),
    () => Promise.reject(new Error('catalog models need no engine')),
  );
  await program.parseAsync(argv, { from: 'user' });
}

describe('switchboard models', () => {
  it('pulls a catalog model with progress on stderr, then lists and removes it', async () => {
    await run('models', 'pull', 'stories260k');
    expect(stderr).toMatch(/pulling stories260k {2}1\.2 MB \/ 1\.2 MB {2}100%/);
    expect(stdout).toMatch(/^stories260k \(F32, 1\.2 MB\) → .*gguf\/stories260K\.gguf\n$/);
    const path = join(modelsDir, 'gguf', 'stories260K.gguf');
    expect(createHash('sha256').update(readFileSync(path)).digest('hex')).toBe(STORIES_260K_SHA256);

    stdout = '';
    await run('models', 'list', '--json');
    expect(JSON.parse(stdout)).toEqual([
      expect.objectContaining({ id: 'stories260k', kind: 'llm', quantisation: 'F32', sizeBytes: 1185376, path }),
    ]);

    stdout = '';
    await run('models', 'rm', 'stories260k');
    expect(stdout).toBe('removed stories260k (1.2 MB freed)\n');
    stdout = '';
    await run('models', 'list');
    expect(stdout).toMatch(/no models installed/);
  });

  it('imports a GGUF from disk and shows it in the table', async () => {
    await run('models', 'import', storiesGguf(), '--id', 'tiny-stories', '--link');
    expect(stdout).toMatch(/^tiny-stories \(llm, 1\.2 MB\) → /);
    stdout = '';
    await run('models', 'list');
    expect(stdout.split('\n')[0]).toMatch(/^ID\s+KIND\s+QUANT\s+SIZE\s+PATH$/);
    expect(stdout).toMatch(/tiny-stories\s+llm\s+-\s+1\.2 MB/);
  });

  it('shows the catalog with the default quantisation marked', async () => {
    await run('models', 'catalog', '--kind', 'llm');
    expect(stdout).toMatch(/qwen2\.5-7b-instruct\s+llm\s+7\.6B\s+Q4_K_M\*,Q8_0,F16\s+4\.7 GB/);
    expect(stdout).not.toMatch(/whisper/);
    stdout = '';
    vi.stubEnv('LOCAL_QUANTIZATION', '8bit');
    await run('models', 'catalog', '--kind', 'whisper');
    expect(stdout).toMatch(/whisper-large-v3-turbo\s+whisper\s+809M\s+q4,q8\*,fp16/);
  });

  it('recommends a model for this machine as JSON', async () => {
    await run('models', 'recommend', '--json');
    const { hardware, recommendation } = JSON.parse(stdout);
    expect(hardware.backend).toBe('cpu');
    expect(recommendation.runsOn).toBe('cpu');
    expect(recommendation.neededBytes).toBeLessThanOrEqual(hardware.ram.freeBytes);
    expect(recommendation.quantisation).toBe('Q4_K_M');
  });

  it('explains a pull of an unknown model', async () => {
    await expect(run('models', 'pull', 'gpt-5')).rejects.toThrow(/gpt-5 is not in the model catalog/);
  });
});
