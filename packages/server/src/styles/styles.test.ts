// Style files: the format and the rule-based template.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOG_DIR } from '../models/catalog.fixtures.ts';
import { applyStyleTemplate, styleDefinitionSchema } from './styles.service.ts';

const valid = {
  key: 'test-style',
  name: 'Test',
  category: 'illustration',
  description: 'A style for tests.',
  template: '{prompt}, as a test',
};

describe('style files', () => {
  it('has at least 8 committed styles, each valid with a {prompt} slot', async () => {
    const files = (await readdir(path.join(CATALOG_DIR, 'styles'))).filter((f) =>
      f.endsWith('.json'),
    );
    expect(files.length).toBeGreaterThanOrEqual(8);
    const categories = new Set<string>();
    for (const file of files) {
      const raw = JSON.parse(await readFile(path.join(CATALOG_DIR, 'styles', file), 'utf8'));
      const parsed = styleDefinitionSchema.safeParse(raw);
      expect(parsed.success, `${file}: ${parsed.error?.message}`).toBe(true);
      expect(raw.template).toContain('{prompt}');
      expect(`${raw.key}.json`).toBe(file);
      categories.add(raw.category);
    }
    expect(categories.size).toBeGreaterThanOrEqual(3);
  });

  it('rejects a template without {prompt} or with another placeholder', () => {
    const missing = styleDefinitionSchema.safeParse({ ...valid, template: 'as a test' });
    expect(missing.success).toBe(false);
    expect(missing.error?.issues[0]).toMatchObject({
      path: ['template'],
      message: 'must contain the {prompt} slot',
    });
    const typo = styleDefinitionSchema.safeParse({ ...valid, template: '{prompt} in {promt}' });
    expect(typo.error?.issues[0]?.message).toMatch(/\{placeholder\} other than \{prompt\}/);
    expect(styleDefinitionSchema.safeParse({ ...valid, extra: 1 }).success).toBe(false);
    expect(styleDefinitionSchema.safeParse(valid).success).toBe(true);
  });

  it('fills every {prompt} slot with the trimmed prompt', () => {
    expect(applyStyleTemplate('{prompt}, comic', '  a cat ')).toBe('a cat, comic');
    expect(applyStyleTemplate('A: {prompt}. B: {prompt}.', 'x')).toBe('A: x. B: x.');
  });
});
