import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigSource } from '../../../electron/engine/config/source.ts';
import { Engine } from '../../../electron/engine/engine.ts';
import { FAKE_OPENAI_KEY, type FakeOptions, type FakeServer, startFakeOpenAI } from '../../fakes/providers.ts';
import { cloudAdapters } from '../../support/cloud-adapters.ts';

export interface EngineOnFake {
  engine: Engine;
  fake: FakeServer;
  /** The text of every prompt the fake received since request number `from`. */
  promptsSince(from: number): string[];
  close(): Promise<void>;
}

/** A real Engine whose only usable provider is the fake OpenAI server (real HTTP on 127.0.0.1). */
export async function startEngineOnFakeOpenAI(options: FakeOptions = {}): Promise<EngineOnFake> {
  const fake = await startFakeOpenAI({ apiKey: FAKE_OPENAI_KEY, ...options });
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-engine-'));
  const config = join(dataDir, 'providers.yaml');
  writeFileSync(
    config,
    `cloud_fallback: true
# The fake is the only provider: these tests are about what it is sent, so meeting text may go to it.
meetings_cloud: true
local:
  enabled: false
providers:
  fakeai:
    type: custom
    base_url: ${fake.url}/v1
    api_key: ${FAKE_OPENAI_KEY}
    default_model: gpt-4o-mini
    retry: { max_attempts: 1 }
`,
  );
  const engine = new Engine(
    new ConfigSource({ file: config, env: {}, overridesFile: join(dataDir, 'settings.json') }),
    cloudAdapters,
  );
  return {
    engine,
    fake,
    promptsSince: (from) =>
      fake.requests.slice(from).map((request) => {
        const body = request.body as { messages: { content: string }[] };
        return body.messages.map((message) => message.content).join('\n');
      }),
    close: async () => {
      await engine.close();
      await fake.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
