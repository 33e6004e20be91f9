import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Replaces a benchmark's own `## <title>` section of bench/RESULTS.md (or appends it), leaving the rest. */
export async function writeResultsSection(title: string, section: string): Promise<void> {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'RESULTS.md');
  const current = existsSync(file) ? await readFile(file, 'utf8') : '# Benchmark results\n';
  const heading = `## ${title}\n`;
  const start = current.indexOf(heading);
  const next = start === -1 ? -1 : current.indexOf('\n## ', start + 1);
  const before = start === -1 ? `${current.trimEnd()}\n\n` : current.slice(0, start);
  const after = next === -1 ? '' : `\n${current.slice(next + 1)}`;
  await writeFile(file, `${before}${section.trimEnd()}\n${after}`);
}
