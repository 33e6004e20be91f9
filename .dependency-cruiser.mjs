// The layers of DESIGN.md, checked by `npm run lint` (and so by CI). Arrows point one way:
// renderer → contract, main → engine, engine → native, native → libraries. There is no list of
// allowed exceptions: a violation is fixed by moving the shared piece into the contract (inside the engine: core/).
const ENGINE = '^electron/engine/';
const CONTRACT = '^electron/engine/contract/';
// Declarations shared inside the engine (the routing state's interface, the clock): below routing and accounting.
const ENGINE_CORE = '^electron/engine/core/';
const NATIVE = '^native/';
const RENDERER = '^renderer/';
const DESKTOP = '^electron/(main|preload)/';
// The 'electron' package, resolved or not.
const ELECTRON = '(^|/)node_modules/electron/|^electron$';

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules that import each other cannot be understood, tested or loaded one without the other.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'engine-without-electron',
      severity: 'error',
      comment: 'The engine is plain Node: the CLI, the HTTP server and the tests run it without Electron.',
      from: { path: ENGINE },
      to: { path: ELECTRON },
    },
    {
      name: 'engine-not-upward',
      severity: 'error',
      comment: 'The engine never reaches up into the desktop shell or the renderer.',
      from: { path: ENGINE },
      to: { path: `${DESKTOP}|${RENDERER}` },
    },
    {
      name: 'native-not-upward',
      severity: 'error',
      comment: 'native/ wraps libraries; what it shares with the engine lives in the contract or native/ itself.',
      from: { path: NATIVE },
      to: { path: `^electron/|${RENDERER}` },
    },
    {
      name: 'renderer-only-contract',
      severity: 'error',
      comment: 'The renderer reaches the engine through the API client and its types, from the contract.',
      from: { path: RENDERER },
      to: { path: '^(electron|native)/', pathNot: CONTRACT },
    },
    {
      name: 'renderer-without-node',
      severity: 'error',
      comment: 'The renderer runs in a browser page: no Node built-ins, no Electron.',
      from: { path: RENDERER },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'renderer-without-electron',
      severity: 'error',
      comment: 'The renderer runs in a browser page: no Node built-ins, no Electron.',
      from: { path: RENDERER },
      to: { path: ELECTRON },
    },
    {
      name: 'contract-is-common',
      severity: 'error',
      comment:
        'Everything may import the contract (the renderer too), so it imports nothing of the layers and no Node.',
      from: { path: CONTRACT },
      to: {
        pathNot: `${CONTRACT}|^node_modules/zod/`,
      },
    },
    {
      name: 'engine-core-is-common',
      severity: 'error',
      comment: 'Routing, accounting and config share declarations through core/, so it imports none of them.',
      from: { path: ENGINE_CORE },
      to: { path: '^(electron|native|renderer)/', pathNot: `${ENGINE_CORE}|${CONTRACT}` },
    },
    {
      name: 'config-at-the-bottom',
      severity: 'error',
      comment: 'Every layer of the engine reads the configuration; it reads none of them (only core and the contract).',
      from: { path: '^electron/engine/config/' },
      to: { path: '^(electron|native|renderer)/', pathNot: `^electron/engine/config/|${ENGINE_CORE}|${CONTRACT}` },
    },
    {
      name: 'accounting-below-routing',
      severity: 'error',
      comment: 'Routing uses accounting (budgets, ledger, prices); accounting sees only config, core and the contract.',
      from: { path: '^electron/engine/accounting/' },
      to: {
        path: '^(electron|native|renderer)/',
        pathNot: `^electron/engine/(accounting|config)/|${ENGINE_CORE}|${CONTRACT}`,
      },
    },
    {
      name: 'desktop-not-into-renderer',
      severity: 'error',
      comment: 'Electron main and preload share types with the renderer through the contract, not its folder.',
      from: { path: DESKTOP },
      to: { path: RENDERER },
    },
    {
      name: 'resolvable',
      severity: 'error',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(out|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.mjs', '.js', '.cjs', '.json', '.d.ts'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
