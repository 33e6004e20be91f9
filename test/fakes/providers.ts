/** The fake cloud providers, one per wire protocol, and their fault plans. */
export { FAKE_ANTHROPIC_KEY, startFakeAnthropic } from './anthropic.ts';
export { always, type Fault, type FaultKind, type FaultPlan, faultMix, faultSequence } from './faults.ts';
export { FAKE_GEMINI_KEY, startFakeGemini } from './gemini.ts';
export type { FakeOptions, FakeServer, RecordedRequest } from './http-fake.ts';
export { startFakeOllama } from './ollama.ts';
export { FAKE_OPENAI_KEY, startFakeOpenAI, startFloodingOpenAI } from './openai.ts';
