import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type NodeCue, parseSync } from 'subtitle';
import { describe, expect, it } from 'vitest';
import { exportMeeting, importBundle, loadMeetingDocument } from '../../../electron/engine/meetings/export.ts';
import { openStore, type Store } from '../../../electron/engine/store/store.ts';
import { tempDirsRemovedAfterEach } from '../store/helpers.ts';

const tempDir = tempDirsRemovedAfterEach();

function seeded(): { store: Store; id: string } {
  const store = openStore({ file: join(tempDir(), 'sb.db') });
  const meeting = store.meetings.create({
    title: 'Weekly planning: Q3 / "beta"',
    createdAt: Date.UTC(2026, 10, 20, 9, 30),
    sourceFile: 'standup.wav',
    audioFile: 'abc.wav',
    language: 'en',
    status: 'done',
    durationSeconds: 3725.5,
  });
  store.meetings.replaceSegments(meeting.id, [
    { index: 0, start: 0, end: 5.88, text: "Good morning everyone. Let's start.", speaker: 'Ana', confidence: 0.9 },
    {
      index: 1,
      start: 7.12,
      end: 14.58,
      text: 'The beta build is ready,\nbut the installer --> fails <sometimes> & more.',
      speaker: null,
      confidence: null,
    },
    { index: 2, start: 3600.25, end: 3725.5, text: 'Thanks everyone.', speaker: 'Bo', confidence: 0.5 },
  ]);
  store.meetings.saveSummary(meeting.id, {
    model: 'local/stories',
    template: 'tpl {{transcript}}',
    summary: 'Planning of the release.',
    actionItems: [
      { text: 'Fix the installer by Wednesday', owner: 'Bo' },
      { text: 'Switch summaries to the local model', owner: null },
    ],
    decisions: ['Route summaries to the local model by default'],
    createdAt: 42,
  });
  return { store, id: meeting.id };
}

describe('meeting export', () => {
  it('writes SRT that a subtitle parser reads back with the same times and text', () => {
    const { store, id } = seeded();
    const file = exportMeeting(loadMeetingDocument(store.meetings, id), 'srt');
    expect(file).toMatchObject({ filename: 'weekly-planning-q3-beta.srt', mimeType: 'application/x-subrip' });
    const cues = parseSync(file.content).filter((node): node is NodeCue => node.type === 'cue');
    expect(cues.map((cue) => [cue.data.start, cue.data.end])).toEqual([
      [0, 5880],
      [7120, 14580],
      [3600250, 3725500],
    ]);
    expect(cues[0]?.data.text).toBe("Ana: Good morning everyone. Let's start.");
    expect(cues[1]?.data.text).toBe('The beta build is ready, but the installer --> fails <sometimes> & more.');
    store.close();
  });

  it('writes WebVTT that a subtitle parser reads back, speakers as voice tags', () => {
    const { store, id } = seeded();
    const file = exportMeeting(loadMeetingDocument(store.meetings, id), 'vtt');
    expect(file.content.startsWith('WEBVTT\n\n')).toBe(true);
    const cues = parseSync(file.content).filter((node): node is NodeCue => node.type === 'cue');
    expect(cues).toHaveLength(3);
    expect(cues[2]?.data).toMatchObject({ start: 3600250, end: 3725500, text: '<v Bo>Thanks everyone.' });
    expect(cues[1]?.data.text).toBe(
      'The beta build is ready, but the installer --&gt; fails &lt;sometimes&gt; &amp; more.',
    );
    store.close();
  });

  it('writes Markdown with the summary, owned action items, decisions and a timed transcript', () => {
    const { store, id } = seeded();
    const { content } = exportMeeting(loadMeetingDocument(store.meetings, id), 'md');
    expect(content).toContain('# Weekly planning: Q3 / "beta"');
    expect(content).toContain('- Duration: 1:02:05');
    expect(content).toContain('- [ ] Fix the installer by Wednesday — Bo\n- [ ] Switch summaries to the local model\n');
    expect(content).toContain('## Decisions\n\n- Route summaries to the local model by default');
    expect(content).toContain('**[1:00:00]** Bo: Thanks everyone.');
    const txt = exportMeeting(loadMeetingDocument(store.meetings, id), 'txt').content;
    expect(txt.split('\n').slice(2, 4)).toEqual([
      "[0:00] Ana: Good morning everyone. Let's start.",
      expect.stringMatching(/^\[0:07\] The beta/),
    ]);
    store.close();
  });

  it('round-trips a whole meeting through the JSON bundle, with its own copy of the recording', async () => {
    const { store, id } = seeded();
    const audioDir = join(tempDir(), 'audio');
    mkdirSync(audioDir);
    writeFileSync(join(audioDir, 'abc.wav'), 'RIFF…');
    const json = exportMeeting(loadMeetingDocument(store.meetings, id), 'json').content;

    // Another machine: the transcript and summary come in, the recording (not in the bundle) does not.
    const other = openStore({ file: join(tempDir(), 'other.db') });
    const imported = await importBundle(other.meetings, json, { audioDir: join(tempDir(), 'audio') });
    expect(imported).toMatchObject({ id, audioFile: null });
    expect(exportMeeting(loadMeetingDocument(other.meetings, imported.id), 'json').content).toBe(
      json.replace('"audioFile": "abc.wav"', '"audioFile": null'),
    );
    expect(other.search.search('installer')[0]).toMatchObject({ id, timestamp: 7.12 });

    // The same library, which already has the meeting: a second one, same content, its own recording.
    const again = await importBundle(store.meetings, json, { audioDir });
    expect(again.id).not.toBe(id);
    expect(again.audioFile).toBe(`${again.id}.wav`);
    expect(readFileSync(join(audioDir, again.audioFile!), 'utf8')).toBe('RIFF…');
    expect(loadMeetingDocument(store.meetings, again.id).segments).toEqual(
      loadMeetingDocument(store.meetings, id).segments,
    );
    await expect(importBundle(store.meetings, '{"format":"other"}', { audioDir })).rejects.toThrow(
      /not a Switchboard meeting export/,
    );
    await expect(importBundle(store.meetings, 'WEBVTT', { audioDir })).rejects.toThrow(/not JSON/);
    await expect(
      importBundle(store.meetings, json, { audioDir, audioPath: join(audioDir, 'missing.wav') }),
    ).rejects.toThrow(/^AUDIO_INVALID: .*missing\.wav cannot be read/);
    other.close();
    store.close();
  });
});
