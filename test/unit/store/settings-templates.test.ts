import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openStore } from '../../../electron/engine/store/store.ts';
import { DEFAULT_SUMMARY_TEMPLATE, TRANSCRIPT_PLACEHOLDER } from '../../../electron/engine/store/templates.ts';
import { tempDirsRemovedAfterEach } from './helpers.ts';

const tempDir = tempDirsRemovedAfterEach();

describe('settings', () => {
  it('keeps JSON values by key across reopening and checks them against the reader’s schema', () => {
    const file = join(tempDir(), 'sb.db');
    const store = openStore({ file });
    store.settings.set('ui.theme', 'dark');
    store.settings.set('budgets', { daily: 2.5, hardStop: 'local_only' });
    store.close();
    const reopened = openStore({ file });
    expect(reopened.settings.get('ui.theme', z.enum(['dark', 'light']))).toBe('dark');
    expect(reopened.settings.get('budgets', z.object({ daily: z.number(), hardStop: z.string() }))).toEqual({
      daily: 2.5,
      hardStop: 'local_only',
    });
    expect(() => reopened.settings.get('ui.theme', z.number())).toThrow(
      /CONFIG_INVALID: the stored setting "ui.theme"/,
    );
    expect(reopened.settings.get('missing', z.string())).toBeUndefined();
    reopened.settings.delete('ui.theme');
    expect(reopened.settings.keys()).toEqual(['budgets']);
    reopened.close();
  });
});

describe('summary templates', () => {
  it('ships an editable default, keeps the user’s edits on reopening, and can put the default back', () => {
    const file = join(tempDir(), 'sb.db');
    const store = openStore({ file });
    expect(store.templates.get()).toMatchObject({ id: 'default', builtin: true, prompt: DEFAULT_SUMMARY_TEMPLATE });
    const edited = `Summarise in German.\n${TRANSCRIPT_PLACEHOLDER}`;
    store.templates.update('default', { prompt: edited });
    const own = store.templates.create('Decisions only', `List the decisions.\n${TRANSCRIPT_PLACEHOLDER}`);
    store.close();

    const reopened = openStore({ file });
    expect(reopened.templates.get().prompt).toBe(edited);
    expect(reopened.templates.list().map((t) => t.name)).toEqual(['Default', 'Decisions only']);
    expect(() => reopened.templates.create('Broken', 'no placeholder')).toThrow(/must say where the transcript goes/);
    expect(() => reopened.templates.delete('default')).toThrow(/can be edited but not deleted/);
    reopened.templates.delete(own.id);
    expect(reopened.templates.resetDefault().prompt).toBe(DEFAULT_SUMMARY_TEMPLATE);
    reopened.close();
  });
});
