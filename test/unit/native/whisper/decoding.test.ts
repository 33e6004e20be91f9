import { Tensor } from '@huggingface/transformers';
import { describe, expect, it } from 'vitest';
import { type DecodedPiece, UtteranceDecoder, type UtterancePlan } from '../../../../native/whisper/decoding.ts';

// whisper-tiny.en's vocabulary: text below <|endoftext|>, 1501 timestamps from <|0.00|>.
const EOS = 50256;
const TS = 50363;
const VOCAB = 51864;
const PROMPT = [50257];

/**
 * Greedy decoding as transformers.js does it, with the model's preferences replaced by `prefer(step)`:
 * the token the "model" likes best at each step.
 */
function decode(plans: UtterancePlan[], prefer: (step: number) => number) {
  const finished: { index: number; pieces: DecodedPiece[] }[] = [];
  const decoder = new UtteranceDecoder(plans, { eos: EOS, timestampBegin: TS }, PROMPT.length, (index, pieces) =>
    finished.push({ index, pieces: structuredClone(pieces) }),
  );
  const ids = PROMPT.map(BigInt);
  for (let step = 0; step < UtteranceDecoder.maxNewTokens(plans); step++) {
    const scores = new Float32Array(VOCAB).map((_, i) => -((i * 7919) % 97) / 10);
    scores[prefer(step)] = 10;
    const out = decoder._call([ids], new Tensor('float32', scores, [1, VOCAB]));
    const data = out.data as Float32Array;
    let best = 0;
    for (let t = 1; t < data.length; t++) if (data[t]! > data[best]!) best = t;
    ids.push(BigInt(best));
    if (best === EOS) break;
  }
  return { tokens: ids.slice(PROMPT.length).map(Number), finished };
}

const plans: UtterancePlan[] = [
  { startStep: 0, endStep: 100, maxTokens: 12 },
  { startStep: 150, endStep: 400, maxTokens: 20 },
];

describe('UtteranceDecoder', () => {
  it('ends a decoder stuck repeating one word at the utterance budget, then goes on to the next', () => {
    const { tokens, finished } = decode(plans, () => 1000);
    expect(tokens[0]).toBe(TS + 0);
    expect(tokens.indexOf(TS + 100)).toBe(13); // start, 12 words, end
    expect(tokens[14]).toBe(TS + 150);
    expect(tokens.at(-2)).toBe(TS + 400);
    expect(tokens.at(-1)).toBe(EOS);
    expect(finished.map((f) => f.index)).toEqual([0, 1]);
    expect(finished[0]!.pieces).toMatchObject([{ startStep: 0, endStep: 100, tokens: Array(12).fill(1000) }]);
  });

  it('turns the model asking to stop early into the utterance end', () => {
    // Two words, then end of text: the voice-activity end timestamp is written instead.
    const { tokens, finished } = decode(plans, (step) => (step < 3 ? 500 + step : EOS));
    expect(tokens.slice(0, 4)).toEqual([TS + 0, 501, 502, TS + 100]);
    // Every detected utterance gets at least one token of text before it may end.
    expect(finished[1]!.pieces[0]!.tokens).toHaveLength(1);
    expect(tokens.at(-1)).toBe(EOS);
  });

  it('keeps the timestamps the model splits at inside the utterance and in order', () => {
    // The model wants a timestamp before its start (step 1 → 0.02 s), then at 1.00 s inside it.
    const { finished } = decode([{ startStep: 10, endStep: 200, maxTokens: 30 }], (step) =>
      step === 2 ? TS + 1 : step === 4 ? TS + 50 : 700 + step,
    );
    const [piece1, piece2] = finished[0]!.pieces;
    expect(piece1).toMatchObject({ startStep: 10, endStep: 50 });
    expect(piece2).toMatchObject({ startStep: 50, endStep: 200 });
    expect(piece1!.logprobs).toHaveLength(piece1!.tokens.length);
  });
});
