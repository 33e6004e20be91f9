import type { ProviderConfig } from '../config/provider-config.ts';
import { requiredOnFirstUse } from '../core/required-on-first-use.ts';

const priceCatalog = requiredOnFirstUse<typeof import('@pydantic/genai-prices')>('@pydantic/genai-prices');

/** USD per million tokens. */
export interface TokenPrice {
  inputPerMTok: number;
  outputPerMTok: number;
  /** Where the figure came from. */
  source: 'override' | 'catalog' | 'on-machine';
}

/** What prices need of a provider: who it is, what it charges (overrides) and whether it runs here. */
export type PricedProvider = Pick<ProviderConfig, 'id' | 'vendor' | 'prices' | 'contextWindows'> & {
  onMachine?: boolean;
};

// Our vendor names where @pydantic/genai-prices spells them differently; vendors it does not know
// (custom, huggingface, replicate) are matched by model name alone.
const CATALOG_PROVIDER: Record<string, string | undefined> = {
  openai: 'openai',
  azure: 'azure',
  anthropic: 'anthropic',
  gemini: 'google',
  groq: 'groq',
  together: 'together',
  openrouter: 'openrouter',
};

const UNKNOWN = null;
const ON_MACHINE: TokenPrice = Object.freeze({ inputPerMTok: 0, outputPerMTok: 0, source: 'on-machine' });

interface CatalogEntry {
  price: TokenPrice | null;
  contextWindow?: number;
  /** Tiered (long-context) or time-dependent prices: real costs go through calcPrice with the real usage. */
  variable?: boolean;
}

/**
 * Prices and context windows per provider+model: the provider's own overrides first (ProviderConfig
 * .prices, by model or '*'), then @pydantic/genai-prices; models on this machine cost nothing.
 * Catalog look-ups take 0.1–1 ms, so each provider+model is looked up once and kept (the set is
 * bounded by the models configured and used, and capped).
 */
export class PriceBook {
  private readonly cache = new Map<string, Map<string, CatalogEntry>>();
  private entries = 0;
  private static readonly MAX_ENTRIES = 5_000;

  private entry(provider: PricedProvider, model: string): CatalogEntry {
    let byModel = this.cache.get(provider.id);
    if (!byModel) {
      byModel = new Map();
      this.cache.set(provider.id, byModel);
    }
    let entry = byModel.get(model);
    if (entry) return entry;
    entry = this.lookUp(provider, model);
    if (this.entries >= PriceBook.MAX_ENTRIES) this.clear();
    this.entries++;
    byModel.set(model, entry);
    return entry;
  }

  private lookUp(provider: PricedProvider, model: string): CatalogEntry {
    if (provider.onMachine) return { price: ON_MACHINE };
    const override = provider.prices[model] ?? provider.prices['*'];
    if (override) return { price: { ...override, source: 'override' } };
    const providerId = CATALOG_PROVIDER[provider.vendor];
    const options = providerId ? { providerId } : {};
    try {
      const { calcPrice } = priceCatalog();
      const input = calcPrice({ input_tokens: 1_000_000 }, model, options);
      if (!input) return { price: UNKNOWN };
      const output = calcPrice({ output_tokens: 1_000_000 }, model, options);
      const flat =
        typeof input.model_price.input_mtok === 'number' && typeof input.model_price.output_mtok === 'number';
      return {
        price: { inputPerMTok: input.total_price, outputPerMTok: output?.total_price ?? 0, source: 'catalog' },
        contextWindow: input.model.context_window,
        variable: !flat || Array.isArray(input.model.prices),
      };
    } catch {
      return { price: UNKNOWN };
    }
  }

  /** The price of a provider's model, or undefined when neither an override nor the catalog knows it. */
  price(provider: PricedProvider, model: string): TokenPrice | undefined {
    return this.entry(provider, model).price ?? undefined;
  }

  /** Estimated USD for a call; undefined when the price is unknown. */
  estimate(provider: PricedProvider, model: string, inputTokens: number, outputTokens: number): number | undefined {
    const price = this.price(provider, model);
    if (!price) return undefined;
    return (inputTokens * price.inputPerMTok + outputTokens * price.outputPerMTok) / 1_000_000;
  }

  /**
   * What a finished call cost. Models with tiered or dated catalog prices go through calcPrice with
   * the real usage (long-context surcharges apply); flat prices are linear, without calcPrice's
   * fraction of a millisecond per call.
   */
  cost(provider: PricedProvider, model: string, inputTokens: number, outputTokens: number): number {
    const entry = this.entry(provider, model);
    const price = entry.price;
    if (!price) return 0;
    if (entry.variable) {
      const providerId = CATALOG_PROVIDER[provider.vendor];
      const result = priceCatalog().calcPrice(
        { input_tokens: inputTokens, output_tokens: outputTokens },
        model,
        providerId ? { providerId } : {},
      );
      if (result) return result.total_price;
    }
    return (inputTokens * price.inputPerMTok + outputTokens * price.outputPerMTok) / 1_000_000;
  }

  /** The model's context window in tokens: the provider's contextWindows, else the catalog's. */
  contextWindow(provider: PricedProvider, model: string): number | undefined {
    return (
      provider.contextWindows[model] ?? (provider.onMachine ? undefined : this.entry(provider, model).contextWindow)
    );
  }

  clear(): void {
    this.cache.clear();
    this.entries = 0;
  }
}
