import { LogitsProcessor, type Tensor } from '@huggingface/transformers';

/** Whisper's timestamp tokens step by 20 ms, from 0.00 s to 30.00 s. */
export const TIMESTAMP_SECONDS = 0.02;

/** One utterance of a window, in timestamp steps from the window start, and its token budget. */
export interface UtterancePlan {
  startStep: number;
  endStep: number;
  /** Tokens it may use between its start and end timestamps (the hallucination-loop guard). */
  maxTokens: number;
}

/** A finished utterance: its text pieces split where the model put timestamp pairs. */
export interface DecodedPiece {
  startStep: number;
  endStep: number;
  tokens: number[];
  /** Natural-log probability of each token of `tokens`, under the distribution it was chosen from. */
  logprobs: number[];
  /**
   * For each token, the timestamp step the model found most likely at the step that chose it, where it put
   * clear weight on timestamps at all (whisper.cpp's token-level timestamps); undefined elsewhere.
   */
  times: (number | undefined)[];
}

/** whisper.cpp's thresholds: the best timestamp's probability, and all timestamps' together. */
const TIMESTAMP_PROBABILITY = 0.01;
const TIMESTAMPS_PROBABILITY = 0.01;

interface Vocabulary {
  /** <|endoftext|>: every id below it is text. */
  eos: number;
  /** The first timestamp token (<|0.00|>). */
  timestampBegin: number;
}

type Phase = 'start' | 'text-required' | 'text' | 'mid-start' | 'finished';

/**
 * Decodes a window utterance by utterance in one sequence, in Whisper's timestamp format:
 *
 *   <|s₀|> text… [<|m|><|m|> text…] <|e₀|> <|s₁|> text… <|e₁|> … <|endoftext|>
 *
 * The start and end timestamps of each utterance are forced to the voice-activity boundaries; between them
 * the model writes text and may split it at timestamps of its own choosing, which are held inside the
 * utterance and in order. When the model wants to stop (a later timestamp, or end of text) the utterance's
 * end timestamp is written instead; when it has used its token budget, too. So every utterance gets text,
 * timestamps are always valid, and one encoder pass serves the whole window while the decoder keeps the
 * earlier utterances as context. Greedy decoding picks the argmax of what this returns, which is how the
 * chosen token's probability is known here.
 */
export class UtteranceDecoder extends LogitsProcessor {
  private readonly plans: UtterancePlan[];
  private readonly vocabulary: Vocabulary;
  private readonly promptLength: number;
  private readonly onUtterance: (index: number, pieces: DecodedPiece[]) => void;
  private utterance = 0;
  private phase: Phase = 'start';
  private used = 0;
  private pieces: DecodedPiece[] = [];
  private expected = -1;
  private expectedLogprob = 0;
  private expectedTime: number | undefined;

  constructor(
    plans: UtterancePlan[],
    vocabulary: Vocabulary,
    promptLength: number,
    onUtterance: (index: number, pieces: DecodedPiece[]) => void,
  ) {
    super();
    this.plans = plans;
    this.vocabulary = vocabulary;
    this.promptLength = promptLength;
    this.onUtterance = onUtterance;
  }

  /**
   * Ends the sequence at the next step (cancellation): Whisper's generate() does not pass custom stopping
   * criteria on, but end of text always stops it.
   */
  stop(): void {
    this.phase = 'finished';
  }

  /** Tokens the whole window may generate: each utterance's budget, its timestamps, and the final EOS. */
  static maxNewTokens(plans: UtterancePlan[]): number {
    return plans.reduce((sum, plan) => sum + plan.maxTokens + 3, 1);
  }

  override _call(inputIds: bigint[][], logits: Tensor): Tensor {
    const ids = inputIds[0]!;
    if (ids.length > this.promptLength) this.consume(Number(ids.at(-1)));
    // Batch size is 1: the tensor's data is this step's scores over the vocabulary.
    const scores = logits.data as Float32Array;
    this.expectedTime = this.likelyTimestamp(scores);
    this.constrain(scores);
    this.remember(scores);
    return logits;
  }

  /** Moves the state machine past the token the sampler just appended. */
  private consume(token: number): void {
    const plan = this.plans[this.utterance];
    const { timestampBegin } = this.vocabulary;
    if (this.phase === 'finished' || !plan) return;
    if (token !== this.expected) throw new Error(`decoder sampled ${token}, expected ${this.expected}`);
    const step = token - timestampBegin;
    const piece = this.pieces.at(-1);
    switch (this.phase) {
      case 'start':
        this.pieces = [{ startStep: step, endStep: plan.endStep, tokens: [], logprobs: [], times: [] }];
        this.phase = 'text-required';
        return;
      case 'mid-start':
        this.pieces.push({ startStep: step, endStep: plan.endStep, tokens: [], logprobs: [], times: [] });
        this.phase = 'text-required';
        this.used++;
        return;
      default:
        this.used++;
        if (token < timestampBegin) {
          piece!.tokens.push(token);
          piece!.logprobs.push(this.expectedLogprob);
          piece!.times.push(this.expectedTime);
          this.phase = 'text';
        } else if (step === plan.endStep) {
          this.onUtterance(this.utterance, this.pieces);
          this.utterance++;
          this.used = 0;
          this.phase = this.utterance < this.plans.length ? 'start' : 'finished';
        } else {
          piece!.endStep = step;
          this.phase = 'mid-start';
          this.expected = token;
        }
    }
  }

  /** The token the grammar leaves no choice about, if any. */
  private forcedToken(): number | undefined {
    const { eos, timestampBegin } = this.vocabulary;
    const plan = this.plans[this.utterance];
    if (this.phase === 'finished' || !plan) return eos;
    if (this.phase === 'start') return timestampBegin + plan.startStep;
    if (this.phase === 'mid-start') return this.expected;
    if (this.phase === 'text' && this.used >= plan.maxTokens) return timestampBegin + plan.endStep;
    return undefined;
  }

  private constrain(scores: Float32Array): void {
    const forced = this.forcedToken();
    if (forced !== undefined) {
      scores.fill(Number.NEGATIVE_INFINITY);
      scores[forced] = 0;
      return;
    }
    const { eos, timestampBegin } = this.vocabulary;
    const plan = this.plans[this.utterance]!;
    const end = timestampBegin + plan.endStep;
    if (this.phase === 'text-required') {
      scores.fill(Number.NEGATIVE_INFINITY, eos);
      return;
    }
    // The model asking to stop, by end of text or by a timestamp past the utterance, ends the utterance.
    let stop = Math.max(scores[end]!, scores[eos]!);
    for (let t = end + 1; t < scores.length; t++) stop = Math.max(stop, scores[t]!);
    // Timestamps it may split at: after its last one, before the utterance's end, with room left for the
    // pair and a token of text.
    const lastStep = this.pieces.at(-1)!.startStep;
    const splits = this.used + 3 <= plan.maxTokens;
    for (let t = eos; t < scores.length; t++) {
      const step = t - timestampBegin;
      if (!(splits && step > lastStep && step < plan.endStep)) scores[t] = Number.NEGATIVE_INFINITY;
    }
    scores[end] = stop;
  }

  /** The timestamp step the unconstrained model finds most likely here, if it is sure enough of one. */
  private likelyTimestamp(scores: Float32Array): number | undefined {
    const { timestampBegin } = this.vocabulary;
    let top = scores[0]!;
    for (let t = 1; t < scores.length; t++) if (scores[t]! > top) top = scores[t]!;
    let sum = 0;
    let timestamps = 0;
    let best = timestampBegin;
    for (let t = 0; t < scores.length; t++) {
      const s = scores[t]!;
      if (s <= top - 30) continue;
      const p = Math.exp(s - top);
      sum += p;
      if (t >= timestampBegin) {
        timestamps += p;
        if (s > scores[best]!) best = t;
      }
    }
    const bestProbability = scores[best]! > top - 30 ? Math.exp(scores[best]! - top) / sum : 0;
    if (bestProbability < TIMESTAMP_PROBABILITY || timestamps / sum < TIMESTAMPS_PROBABILITY) return undefined;
    return best - timestampBegin;
  }

  /** The sampler takes the argmax; keep which token that is and its log-probability. */
  private remember(scores: Float32Array): void {
    let best = 0;
    for (let t = 1; t < scores.length; t++) if (scores[t]! > scores[best]!) best = t;
    let sum = 0;
    const top = scores[best]!;
    // Tokens 30 nats below the best add under 1e-13 each: skipping their exp() changes nothing measurable
    // and spares most of the vocabulary on a confident step.
    for (const s of scores) if (s > top - 30) sum += Math.exp(s - top);
    this.expected = best;
    this.expectedLogprob = -Math.log(sum);
  }
}

/** exp(mean log-probability) of a piece's tokens: 1 when the model was sure of every token. */
export function confidence(logprobs: number[]): number | null {
  if (logprobs.length === 0) return null;
  return Math.exp(logprobs.reduce((a, b) => a + b, 0) / logprobs.length);
}
