import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../electron/engine/config/errors.ts';
import { loadConfig } from '../../../electron/engine/config/load.ts';
import type { EngineConfig } from '../../../electron/engine/config/types.ts';

function tempFile(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sb-config-')), name);
  writeFileSync(file, text);
  return file;
}

/** The facts about providers that all three forms must agree on. */
function essentials(config: EngineConfig) {
  return config.providers.map((p) => ({
    id: p.id,
    vendor: p.vendor,
    kind: p.kind,
    keys: p.keys,
    baseUrl: p.baseUrl,
    defaultModel: p.defaultModel,
    enabled: p.enabled,
  }));
}

function problems(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected a ConfigError');
}

const env = { GROQ_API_KEY: 'gsk_test_key_123456', ANTHROPIC_API_KEY: 'sk-ant-test-abcdef' };

describe('the three configuration forms', () => {
  it('providers.yaml, providers.json and the environment produce the same providers', () => {
    const yaml = tempFile(
      'providers.yaml',
      `providers:
  groq:
    type: groq
    api_key: \${GROQ_API_KEY}
    default_model: llama-3.1-8b-instant
  anthropic:
    type: anthropic
    api_key: \${ANTHROPIC_API_KEY}
    default_model: claude-3-5-haiku-latest
`,
    );
    const json = tempFile(
      'providers.json',
      JSON.stringify({
        providers: [
          { name: 'groq', type: 'groq', api_key_env: 'GROQ_API_KEY', default_model: 'llama-3.1-8b-instant' },
          {
            name: 'anthropic',
            type: 'anthropic',
            api_key_env: 'ANTHROPIC_API_KEY',
            default_model: 'claude-3-5-haiku-latest',
          },
        ],
        manager: { fallback_enabled: true, load_balancing: false },
      }),
    );
    const fromYaml = essentials(loadConfig({ file: yaml, env }));
    const fromJson = essentials(loadConfig({ file: json, env }));
    const fromEnv = essentials(loadConfig({ env }));
    expect(fromJson).toEqual(fromYaml);
    // The environment alone lists vendors in its own order; compare as sets.
    const byId = (list: typeof fromYaml) => [...list].sort((a, b) => a.id.localeCompare(b.id));
    expect(byId(fromEnv)).toEqual(byId(fromYaml));
    expect(fromYaml.map((p) => p.id)).toEqual(['local', 'groq', 'anthropic']);
    expect(fromYaml.find((p) => p.id === 'groq')?.keys).toEqual(['gsk_test_key_123456']);
  });

  it('with no keys and no file only the local provider exists', () => {
    const config = loadConfig({ env: {} });
    expect(config.providers.map((p) => p.id)).toEqual(['local']);
    expect(config.providers[0]?.onMachine).toBe(true);
  });

  it('merges defaults < file < environment', () => {
    const file = tempFile(
      'providers.yaml',
      `cloud_fallback: true
strategy: round_robin
providers:
  groq:
    api_key: file-key-000000
    priority: 5
    rate_limit: { requests_per_minute: 30 }
    retry: { max_attempts: 4, backoff_factor: 2 }
    timeout: 12
strategies:
  code_generation:
    provider: groq
    model: llama-3.3-70b
    fallback_providers: [local]
`,
    );
    const config = loadConfig({
      file,
      env: { GROQ_API_KEY: 'env-key-111111', GROQ_PRIORITY: '1', CLOUD_FALLBACK: 'false', PROVIDER_STRATEGY: 'cost' },
    });
    const groq = config.providers.find((p) => p.id === 'groq')!;
    expect(groq.keys).toEqual(['env-key-111111']);
    expect(groq.priority).toBe(1);
    expect(groq.limits.rpm).toBe(30);
    expect(groq.retry).toEqual({ attempts: 4, backoffFactor: 2 });
    expect(groq.timeoutMs).toBe(12_000);
    expect(config.cloudFallback).toBe(false);
    expect(config.strategy).toBe('least_cost');
    expect(config.profiles.code_generation).toMatchObject({
      provider: 'groq',
      model: 'llama-3.3-70b',
      fallbackProviders: ['local'],
    });
  });

  it('reads the seeds environment variables for chains, local models and custom endpoints', () => {
    const config = loadConfig({
      env: {
        OPENAI_API_KEY: 'sk-one-aaaaaaaa,sk-two-bbbbbbbb',
        CUSTOM_PROVIDER_NAME: 'lab',
        CUSTOM_PROVIDER_BASE_URL: 'http://10.1.2.3:8000/v1',
        CUSTOM_PROVIDER_API_KEY: 'lab-key-12345678',
        PRIMARY_PROVIDER: 'openai',
        SECONDARY_PROVIDER: 'lab',
        FALLBACK_PROVIDER: 'local',
        LOCAL_PRIORITY: '3',
        LOCAL_LLM_MODEL: 'stories260K',
        LOCAL_QUANTIZATION: '8bit',
        LOCAL_DEVICE: 'cpu',
        OLLAMA_BASE_URL: 'http://127.0.0.1:11434',
        AZURE_OPENAI_API_KEY: 'az-key-12345678',
        AZURE_OPENAI_ENDPOINT: 'https://example.openai.azure.com',
        AZURE_OPENAI_API_VERSION: '2024-06-01',
      },
    });
    expect(config.providers.find((p) => p.id === 'openai')?.keys).toEqual(['sk-one-aaaaaaaa', 'sk-two-bbbbbbbb']);
    expect(config.providers.find((p) => p.id === 'lab')).toMatchObject({
      kind: 'openai-compatible',
      baseUrl: 'http://10.1.2.3:8000/v1',
      onMachine: false,
    });
    expect(config.providers.find((p) => p.id === 'ollama')).toMatchObject({ kind: 'ollama', onMachine: true });
    expect(config.providers.find((p) => p.id === 'azure')?.azure?.apiVersion).toBe('2024-06-01');
    expect(config.profiles.default).toMatchObject({ provider: 'openai', fallbackProviders: ['lab', 'local'] });
    expect(config.local).toMatchObject({ priority: 3, llmModel: 'stories260K', quantization: '8bit', device: 'cpu' });
  });
});

describe('bad configuration', () => {
  it('reports every problem at once, with file, path and what to do', () => {
    const file = tempFile(
      'providers.yaml',
      `providers:
  mystery:
    type: skynet
    api_key: x
  groq:
    api_key: \${NOT_SET_ANYWHERE}
    rate_limit: { requests_per_minute: -5 }
  custom_one:
    type: custom
    base_url: not a url
  openai:
    type: openai
`,
    );
    const found = problems(() => loadConfig({ file, env: {} }));
    expect(found).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^providers\.mystery\.type: unknown type "skynet": use one of .*openai/),
        expect.stringMatching(/^providers\.groq\.api_key: environment variable NOT_SET_ANYWHERE is not set/),
        expect.stringMatching(
          /^providers\.groq\.rate_limit\.requests_per_minute: requests_per_minute cannot be negative/,
        ),
        expect.stringMatching(/^providers\.custom_one\.base_url: must be a full URL/),
        expect.stringMatching(/^providers\.openai\.api_key: missing API key: set api_key: \$\{OPENAI_API_KEY\}/),
      ]),
    );
    try {
      loadConfig({ file, env: {} });
    } catch (error) {
      expect((error as ConfigError).message).toContain(file);
    }
  });

  it('names an unset variable only where the provider is switched on', () => {
    const file = tempFile(
      'providers.yaml',
      `providers:\n  groq:\n    enabled: false\n    api_key: \${GROQ_KEY_UNSET}\n`,
    );
    expect(loadConfig({ file, env: {} }).providers.find((p) => p.id === 'groq')?.enabled).toBe(false);
  });

  it('rejects a misspelt setting, a profile naming an unknown provider and malformed YAML', () => {
    const misspelt = tempFile('providers.yaml', 'providers:\n  groq:\n    api_key: k-12345678\n    prioirty: 1\n');
    expect(problems(() => loadConfig({ file: misspelt, env: {} }))).toEqual([
      expect.stringMatching(/unknown setting "prioirty"/),
    ]);
    const unknown = tempFile('providers.yaml', 'strategies:\n  default:\n    provider: nowhere\n');
    expect(problems(() => loadConfig({ file: unknown, env: {} }))).toEqual([
      expect.stringMatching(/names provider "nowhere", which is not configured/),
    ]);
    const broken = tempFile('providers.yaml', 'providers:\n  groq: [unclosed\n');
    expect(problems(() => loadConfig({ file: broken, env: {} }))).toEqual([expect.stringMatching(/not valid yaml/i)]);
  });

  it('reports bad environment values by variable name', () => {
    expect(problems(() => loadConfig({ env: { CLOUD_FALLBACK: 'maybe', PROVIDER_TIMEOUT: 'soon' } }))).toEqual([
      'CLOUD_FALLBACK: "maybe" is not true or false',
      'PROVIDER_TIMEOUT: "soon" is not a number',
    ]);
  });
});

describe('the seeds’ other shapes', () => {
  it('type: azure_openai with endpoint: and deployment_name:', () => {
    const file = tempFile(
      'providers.yaml',
      `providers:
  azure:
    type: azure_openai
    api_key: az-key-12345678
    endpoint: https://example.openai.azure.com
    deployment_name: prod-gpt4o
    model: gpt-4o
  bare:
    type: azure_openai
    api_key: az-key-12345678
    endpoint: https://other.openai.azure.com
    deployment_name: my-deployment
`,
    );
    const [, azure, bare] = loadConfig({ file, env: {} }).providers;
    expect(azure).toMatchObject({
      vendor: 'azure',
      baseUrl: 'https://example.openai.azure.com',
      defaultModel: 'gpt-4o',
      azure: { deployments: { 'gpt-4o': 'prod-gpt4o' } },
    });
    // A deployment named without a model is asked for by its own name.
    expect(bare).toMatchObject({
      defaultModel: 'my-deployment',
      azure: { deployments: { 'my-deployment': 'my-deployment' } },
    });
  });

  it('says where endpoint: and deployment_name: do not belong', () => {
    const file = tempFile(
      'providers.yaml',
      `providers:
  groq:
    api_key: gsk-12345678
    endpoint: https://api.groq.com/openai/v1
    deployment_name: x
  azure:
    type: azure_openai
    api_key: az-key-12345678
`,
    );
    expect(problems(() => loadConfig({ file, env: {} }))).toEqual([
      expect.stringMatching(
        /^providers\.groq\.endpoint: endpoint is Azure OpenAI's setting: for type groq write base_url/,
      ),
      expect.stringMatching(/^providers\.groq\.deployment_name: deployment_name is Azure OpenAI's setting/),
      'providers.azure.endpoint: endpoint is required for type azure',
    ]);
  });

  it.each([
    ['load_balancing: true', 'round_robin'],
    ['load_balancing: least_cost', 'least_cost'],
    ['load_balancing: { enabled: false, weights: { a: 2 } }', 'fallback'],
    ['load_balancing: { strategy: latency_based }', 'latency'],
    ['load_balancing: { weights: { a: 2 } }', 'weighted_round_robin'],
    ['manager: { load_balancing: true }', 'round_robin'],
    ['strategy: priority\nload_balancing: true', 'priority'],
  ])('%s → %s', (yaml, strategy) => {
    const file = tempFile(
      'providers.yaml',
      `${yaml}\nproviders:\n  a: { type: custom, base_url: http://127.0.0.1:9/v1 }\n`,
    );
    expect(loadConfig({ file, env: {} }).strategy).toBe(strategy);
  });

  it('load_balancing weights set the providers’ weights, unless a provider sets its own', () => {
    const file = tempFile(
      'providers.yaml',
      `load_balancing: { weights: { a: 3, b: 5, ghost: 1 } }
providers:
  a: { type: custom, base_url: http://127.0.0.1:9/v1 }
  b: { type: custom, base_url: http://127.0.0.1:9/v1, weight: 2 }
`,
    );
    expect(problems(() => loadConfig({ file, env: {} }))).toEqual([
      expect.stringMatching(/^load_balancing\.weights\.ghost: provider "ghost" is not configured/),
    ]);
    const fixed = tempFile(
      'providers.yaml',
      `load_balancing: { weights: { a: 3, b: 5 } }
providers:
  a: { type: custom, base_url: http://127.0.0.1:9/v1 }
  b: { type: custom, base_url: http://127.0.0.1:9/v1, weight: 2 }
`,
    );
    const providers = loadConfig({ file: fixed, env: {} }).providers;
    expect(providers.map((p) => [p.id, p.weight])).toEqual([
      ['local', 1],
      ['a', 3],
      ['b', 2],
    ]);
  });

  it('PROVIDER_LOAD_BALANCE turns balancing on or off; PROVIDER_STRATEGY, when set too, names the strategy', () => {
    expect(loadConfig({ env: { PROVIDER_LOAD_BALANCE: 'true' } }).strategy).toBe('round_robin');
    expect(loadConfig({ env: { PROVIDER_LOAD_BALANCE: 'weighted' } }).strategy).toBe('weighted_round_robin');
    expect(loadConfig({ env: { PROVIDER_LOAD_BALANCE: 'off' } }).strategy).toBe('fallback');
    expect(loadConfig({ env: { PROVIDER_LOAD_BALANCE: 'yes', PROVIDER_STRATEGY: 'least_cost' } }).strategy).toBe(
      'least_cost',
    );
    expect(problems(() => loadConfig({ env: { PROVIDER_LOAD_BALANCE: 'lots' } }))).toEqual([
      expect.stringMatching(/^PROVIDER_LOAD_BALANCE: "lots" is not a strategy: use one of fallback/),
    ]);
  });

  it('CUSTOM_PROVIDER_MODEL is the custom endpoint’s model', () => {
    const config = loadConfig({
      env: {
        CUSTOM_PROVIDER_NAME: 'lab',
        CUSTOM_PROVIDER_BASE_URL: 'http://127.0.0.1:9/v1',
        CUSTOM_PROVIDER_MODEL: 'm-7b',
      },
    });
    expect(config.providers.find((p) => p.id === 'lab')).toMatchObject({ defaultModel: 'm-7b', models: ['m-7b'] });
  });
});

describe('nesting', () => {
  it('a providers.json nested thousands of levels deep is one clear problem, not a stack overflow', () => {
    const deep = `{"providers": {}, "strategies": ${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
    expect(problems(() => loadConfig({ file: tempFile('providers.json', deep), env: {} }))).toEqual([
      'strategies.a.a…: nested more than 32 levels deep, far beyond any setting: remove the extra nesting',
    ]);
  });

  it('so is a YAML file the parser cannot walk', () => {
    const deep = `strategies: ${'['.repeat(2000)}${']'.repeat(2000)}\n`;
    expect(problems(() => loadConfig({ file: tempFile('providers.yaml', deep), env: {} }))).toEqual([
      expect.stringMatching(/^: not valid yaml: nested more than 32 levels deep/),
    ]);
  });
});

describe('model_options', () => {
  it('a model’s settings in providers.yaml are merged per model with those made in the app', () => {
    const yaml = tempFile(
      'providers.yaml',
      'model_options:\n  local/stories260K: { context: 2048, temperature: 0.7 }\n  groq/llama: { max_tokens: 512 }\n',
    );
    const config = loadConfig({
      file: yaml,
      env: {},
      overrides: { model_options: { 'local/stories260K': { temperature: 0.2, system_prompt: 'Be brief.' } } },
    });
    expect(config.modelOptions?.['local/stories260K']).toMatchObject({
      contextTokens: 2048,
      temperature: 0.2,
      systemPrompt: 'Be brief.',
    });
    expect(config.modelOptions?.['groq/llama']).toMatchObject({ maxTokens: 512 });
  });

  it('a setting out of range is a problem that says what is allowed', () => {
    const yaml = tempFile('providers.yaml', 'model_options:\n  local/x: { temperature: 3 }\n');
    expect(problems(() => loadConfig({ file: yaml, env: {} }))).toEqual([
      expect.stringContaining('temperature is between 0 and 2'),
    ]);
  });
});
