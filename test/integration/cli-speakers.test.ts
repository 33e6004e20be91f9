import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type NodeCue, parseSync } from 'subtitle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportMeeting, loadMeetingDocument, type MeetingBundle } from '../../electron/engine/meetings/export.ts';
import { openStore } from '../../electron/engine/store/store.ts';
import { findCatalogEntry, loadCatalog } from '../../native/models/catalog.ts';
import { ModelStore } from '../../native/models/model-store.ts';
import { generateDiarizationModels } from '../../scripts/diarization-onnx/generate.ts';
import { type ModelFileServer, startModelFileServer } from '../fakes/model-file-server.ts';
import { runCli, type TestDataDir, testDataDir } from '../support/cli.ts';
import { type ToneTurn, writeToneMeeting } from '../support/speaker-tones.ts';

/**
 * Speakers, as a person gets them: `models pull` downloads the catalog's diarization model (from a
 * local server in Hugging Face's layout, serving generated models of the real interface: see
 * scripts/diarization-onnx), `meetings speakers` finds who spoke when in a recording, `rename-speaker`
 * names them, and every export carries the names.
 */

const CATALOG_ID = 'speakers-pyannote-wespeaker';
let root: string;
let server: ModelFileServer;
let data: TestDataDir;
let models: { segmentation: string; embedding: string };

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'hf-diarization-'));
  models = await generateDiarizationModels(join(root, 'generated'));
  // Where the catalog's hf: URIs point (the server maps /<owner>/<repo>/resolve/main/<file> to <root>/<file>).
  const variant = findCatalogEntry(loadCatalog(), CATALOG_ID);
  if (variant?.kind !== 'diarization') throw new Error(`the catalog has no diarization model ${CATALOG_ID}`);
  const [int8] = variant.quantisations;
  copyFileSync(models.segmentation, join(root, int8!.segmentation.uri.split('/').pop()!));
  copyFileSync(models.embedding, join(root, int8!.embedding.uri.split('/').pop()!));
  server = await startModelFileServer(root);
  data = testDataDir();
});
afterAll(async () => {
  await server?.close();
  data?.remove();
  rmSync(root, { recursive: true, force: true });
});

describe('switchboard models pull (a diarization model)', () => {
  it('downloads both files into the model folder, resuming a download cut mid-file', async () => {
    const segmentationFile = 'model.int8.onnx';
    const half = Math.floor(readFileSync(models.segmentation).length / 2);
    server.cutNext(segmentationFile, half);
    const pulled = await runCli([...data.args, 'models', 'pull', CATALOG_ID], { HF_ENDPOINT: server.baseUrl });
    expect(pulled.code, pulled.stderr).toBe(0);
    const folder = join(data.dir, 'models', 'diarization', CATALOG_ID);
    expect(readFileSync(join(folder, 'segmentation.onnx'))).toEqual(readFileSync(models.segmentation));
    expect(readFileSync(join(folder, 'embedding.onnx'))).toEqual(readFileSync(models.embedding));
    const resumed = server.requests.filter((request) => request.file === segmentationFile && request.range);
    expect(
      resumed.map((request) => request.range),
      JSON.stringify(server.requests),
    ).toEqual([`bytes=${half}-`]);

    const listed = await runCli([...data.args, 'models', 'list', '--json']);
    expect(JSON.parse(listed.stdout)).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: CATALOG_ID, kind: 'diarization' })]),
    );
  }, 240_000);

  it('checks each file against the sha256 the catalog gives, and deletes one that does not match', async () => {
    const catalog = loadCatalog();
    const entry = findCatalogEntry(catalog, CATALOG_ID);
    if (entry?.kind !== 'diarization') throw new Error('no diarization entry');
    const sha = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
    entry.quantisations[0]!.segmentation.sha256 = sha(models.segmentation);
    entry.quantisations[0]!.embedding.sha256 = sha(models.embedding);
    const modelsDir = mkdtempSync(join(tmpdir(), 'diarization-sha-'));
    const store = new ModelStore({ modelsDir, catalog, hfBaseUrl: server.baseUrl, quantization: '4bit' });
    server.corrupt('model.int8.onnx');
    await expect(store.pull(CATALOG_ID, { retries: 0 })).rejects.toThrow(
      /checksum mismatch .*the downloaded file was deleted/,
    );
    server.reset();
    const installed = await store.pull(CATALOG_ID, { retries: 0 });
    expect(installed).toMatchObject({ id: CATALOG_ID, kind: 'diarization' });
    rmSync(modelsDir, { recursive: true, force: true });
  }, 60_000);
});

describe('switchboard meetings speakers and rename-speaker', () => {
  it('marks who spoke when, names them per meeting, and every export carries the names', async () => {
    // A meeting whose recording alternates two voices, with one transcript segment per turn.
    const recording = join(data.dir, 'tones.wav');
    const turns: ToneTurn[] = writeToneMeeting(recording, [
      { voice: 'A', seconds: 4 },
      { voice: 'B', seconds: 3 },
      { voice: 'A', seconds: 5 },
      { voice: 'B', seconds: 2.5 },
      { voice: 'A', seconds: 3 },
    ]);
    const store = openStore({ file: join(data.dir, 'switchboard.db') });
    const meeting = store.meetings.create({ title: 'Two voices', status: 'done', sourceFile: 'tones.wav' });
    mkdirSync(join(data.dir, 'audio'), { recursive: true });
    copyFileSync(recording, join(data.dir, 'audio', `${meeting.id}.wav`));
    store.meetings.update(meeting.id, { audioFile: `${meeting.id}.wav` });
    store.meetings.replaceSegments(
      meeting.id,
      turns.map((turn, index) => ({
        index,
        start: turn.start,
        end: turn.end,
        text: `Line ${index + 1} by voice ${turn.voice}.`,
        speaker: null,
        confidence: null,
      })),
    );
    const other = store.meetings.create({ title: 'Another meeting', status: 'done' });
    store.meetings.replaceSegments(other.id, [
      { index: 0, start: 0, end: 1, text: 'Hello.', speaker: 'Speaker 1', confidence: null },
    ]);
    store.close();

    const found = await runCli([...data.args, 'meetings', 'speakers', meeting.id]);
    expect(found.code, found.stderr).toBe(0);
    expect(found.stderr).toContain('Found 2 speakers');
    const lines = found.stdout.split('\n').filter((line) => line.startsWith('['));
    expect(lines).toEqual(
      turns.map((turn, i) =>
        expect.stringContaining(`${turn.voice === 'A' ? 'Speaker 1' : 'Speaker 2'}: Line ${i + 1}`),
      ),
    );

    for (const [speaker, name] of [
      ['Speaker 1', 'Ada'],
      ['Speaker 2', 'Bo'],
    ] as const) {
      const renamed = await runCli([...data.args, 'meetings', 'rename-speaker', meeting.id, speaker, name]);
      expect(renamed.code, renamed.stderr).toBe(0);
    }
    const nameOf = (voice: 'A' | 'B') => (voice === 'A' ? 'Ada' : 'Bo');

    const exported = async (format: string) =>
      (await runCli([...data.args, 'meetings', 'export', meeting.id, '--format', format])).stdout;
    const vtt = parseSync(await exported('vtt')).filter((node): node is NodeCue => node.type === 'cue');
    expect(vtt.map((cue) => cue.data.text)).toEqual(
      turns.map((turn, i) => `<v ${nameOf(turn.voice)}>Line ${i + 1} by voice ${turn.voice}.`),
    );
    const bundle = JSON.parse(await exported('json')) as MeetingBundle;
    expect(bundle.segments.map((segment) => segment.speaker)).toEqual(turns.map((turn) => nameOf(turn.voice)));
    // The other formats render from the same stored transcript (a CLI run each would add minutes, not coverage).
    const after = openStore({ file: join(data.dir, 'switchboard.db') });
    const document = loadMeetingDocument(after.meetings, meeting.id);
    const srt = parseSync(exportMeeting(document, 'srt').content).filter(
      (node): node is NodeCue => node.type === 'cue',
    );
    expect(srt.map((cue) => cue.data.text)).toEqual(
      turns.map((turn, i) => `${nameOf(turn.voice)}: Line ${i + 1} by voice ${turn.voice}.`),
    );
    expect(exportMeeting(document, 'md').content).toContain('**[0:04]** Bo: Line 2 by voice B.');
    expect(exportMeeting(document, 'txt').content).toContain('[0:00] Ada: Line 1 by voice A.');
    after.close();

    // Names belong to their meeting: the other meeting's Speaker 1 is still Speaker 1.
    const untouched = openStore({ file: join(data.dir, 'switchboard.db') });
    expect(untouched.meetings.segments(other.id)[0]!.speaker).toBe('Speaker 1');
    untouched.close();
    const unknown = await runCli([...data.args, 'meetings', 'rename-speaker', meeting.id, 'Speaker 7', 'Cy']);
    expect(unknown.stderr).toBe(
      `switchboard: NOT_FOUND: nobody called "Speaker 7" speaks in meeting ${meeting.id}; its speakers are: Ada, Bo\n`,
    );
  }, 400_000);
});
