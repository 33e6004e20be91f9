// Preloaded into a CLI run (NODE_OPTIONS=--import=…): writes the npm packages the process loaded, one a
// line, to the file SWITCHBOARD_TEST_LOADED_PACKAGES names, when it exits.
import { writeFileSync } from 'node:fs';
import { registerHooks } from 'node:module';

const packages = new Set();
registerHooks({
  load(url, context, nextLoad) {
    const name = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
    if (name) packages.add(name);
    return nextLoad(url, context);
  },
});
process.on('exit', () => writeFileSync(process.env.SWITCHBOARD_TEST_LOADED_PACKAGES, [...packages].join('\n')));
