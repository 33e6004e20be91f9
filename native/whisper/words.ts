export interface TimedWord {
  word: string;
  start: number;
  end: number;
}

export interface TimedTokens {
  tokens: number[];
  /**
   * For each token, the time (s) of the timestamp token the model found most likely at the step that
   * produced it, when it was confident enough to say; undefined otherwise.
   */
  times: (number | undefined)[];
  start: number;
  end: number;
}

/**
 * Word timestamps from token-level ones, the way whisper.cpp made them before it had DTW: at every step
 * Whisper also scores the timestamp tokens, and where it puts clear weight on one, that time anchors the
 * word the step began. Anchors must fall inside the segment and move forward; the words between anchors
 * share the time between them in proportion to their length in characters, which is how long speech
 * takes to say them to a first approximation. A word ends where the next begins.
 */
export function timeWords(piece: TimedTokens, decode: (tokens: number[]) => string): TimedWord[] {
  const words: { tokens: number[]; anchor: number | undefined }[] = [];
  piece.tokens.forEach((token, i) => {
    const current = words.at(-1);
    // Byte-level BPE marks a word's start with a leading space; punctuation joins the word before it.
    if (!current || decode([token]).startsWith(' ')) words.push({ tokens: [token], anchor: piece.times[i] });
    else current.tokens.push(token);
  });
  const texts = words.map((w) => decode(w.tokens).trim());
  const kept = words.map((w, i) => ({ ...w, text: texts[i]! })).filter((w) => w.text.length > 0);
  // Anchors that are usable: inside the segment, after the previous usable one.
  let last = piece.start;
  const anchors = kept.map((w, i) => {
    const ok = w.anchor !== undefined && w.anchor >= last && w.anchor < piece.end && (i > 0 || w.anchor >= piece.start);
    if (!ok) return undefined;
    last = w.anchor!;
    return w.anchor;
  });
  anchors[0] ??= piece.start;
  const starts: number[] = [];
  for (let i = 0; i < kept.length; ) {
    const from = anchors[i]!;
    let next = i + 1;
    while (next < kept.length && anchors[next] === undefined) next++;
    const until = next < kept.length ? anchors[next]! : piece.end;
    const lengths = kept.slice(i, next).map((w) => w.text.length);
    const total = lengths.reduce((a, b) => a + b, 0);
    let at = from;
    for (const length of lengths) {
      starts.push(at);
      at += ((until - from) * length) / total;
    }
    i = next;
  }
  const ms = (seconds: number) => Math.round(seconds * 1000) / 1000;
  return kept.map((w, i) => ({ word: w.text, start: ms(starts[i]!), end: ms(starts[i + 1] ?? piece.end) }));
}
