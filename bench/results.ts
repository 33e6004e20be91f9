import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The `### ` blocks of a section's text, each up to the next one: the runs and topics recorded in it. */
function subsections(text: string): { heading: string; block: string }[] {
  const starts = [...text.matchAll(/^### .*$/gm)].map((match) => match.index ?? 0);
  return starts.map((start, i) => {
    const block = text.slice(start, starts[i + 1] ?? text.length);
    return { heading: block.slice(0, block.indexOf('\n') + 1 || block.length).trim(), block };
  });
}

/**
 * Writes a benchmark's own `## <title>` section of bench/RESULTS.md (or appends it), leaving the rest. The
 * new text replaces the section's description and its subsections of the same headings; the section's
 * other `### ` subsections — earlier runs, each under its own dated heading — are kept below it, so a new
 * run never wipes the history recorded before it.
 */
export async function writeResultsSection(title: string, section: string): Promise<void> {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'RESULTS.md');
  const current = existsSync(file) ? await readFile(file, 'utf8') : '# Benchmark results\n';
  const heading = `## ${title}\n`;
  const start = current.indexOf(heading);
  const next = start === -1 ? -1 : current.indexOf('\n## ', start + 1);
  const before = start === -1 ? `${current.trimEnd()}\n\n` : current.slice(0, start);
  const after = next === -1 ? '' : `\n${current.slice(next + 1)}`;
  const old = start === -1 ? '' : current.slice(start, next === -1 ? current.length : next + 1);
  const written = new Set(subsections(section).map((sub) => sub.heading));
  const kept = subsections(old)
    .filter((sub) => !written.has(sub.heading))
    .map((sub) => `\n${sub.block.trimEnd()}\n`)
    .join('');
  await writeFile(file, `${before}${section.trimEnd()}\n${kept}${after}`);
}
