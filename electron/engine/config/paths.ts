import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Where Switchboard keeps its files. Flags beat environment beats the platform default. */
export interface PathOptions {
  dataDir?: string;
  modelsDir?: string;
  config?: string;
}

export interface ResolvedPaths {
  dataDir: string;
  modelsDir: string;
  /** The providers file to read, if any: providers.yaml/.yml/.json in the data dir unless named. */
  configFile?: string;
  databaseFile: string;
}

function defaultDataDir(): string {
  const home = homedir();
  if (process.platform === 'darwin') return join(home, 'Library', 'Application Support', 'Switchboard');
  if (process.platform === 'win32') return join(process.env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'Switchboard');
  return join(process.env.XDG_DATA_HOME ?? join(home, '.local', 'share'), 'switchboard');
}

export function resolvePaths(options: PathOptions = {}, env: NodeJS.ProcessEnv = process.env): ResolvedPaths {
  const dataDir = resolve(options.dataDir ?? env.SWITCHBOARD_DATA_DIR ?? defaultDataDir());
  const modelsDir = resolve(options.modelsDir ?? env.SWITCHBOARD_MODELS_DIR ?? join(dataDir, 'models'));
  const named = options.config ?? env.SWITCHBOARD_CONFIG;
  return {
    dataDir,
    modelsDir,
    configFile: named ? resolve(named) : undefined,
    databaseFile: join(dataDir, 'switchboard.db'),
  };
}
