#!/usr/bin/env node
// The CLI runs the engine's TypeScript directly (Node ≥ 22.18 strips types), so the checkout needs no build step.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(
    `switchboard: Node ${process.versions.node} is too old; run it through npm/npx in the checkout (Node 22 comes with the dev dependencies)\n`,
  );
  process.exit(1);
}
const { main } = await import('../electron/engine/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
