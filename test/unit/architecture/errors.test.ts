/**
 * Error codes are one closed type (src/errors/codes.ts): docs/spec/errors.md lists exactly
 * those codes with their exit statuses (generated from the same table), every code the source
 * names is in it, and lint forbids a plain `throw new Error` anywhere but invariant().
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, isErrorCode, MkError } from '../../../src/errors/index.js';
// @ts-expect-error -- a plain .mjs script without types
import { renderErrorsPage } from '../../../scripts/errors-doc.mjs';

const root = fileURLToPath(new URL('../../..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

describe('error codes', () => {
  it('docs/spec/errors.md lists exactly the codes of the type, with their exit statuses', () => {
    const page = readFileSync(join(root, 'docs/spec/errors.md'), 'utf8');
    const listed = [...page.matchAll(/^\| `([A-Z]+)` \| (\d+) \|/gm)].map((m) => [m[1], Number(m[2])]);
    expect(listed).toEqual(Object.entries(ERROR_CODES).map(([c, v]) => [c, v.exit]));
    expect(page, "regenerate it: 'npm run build && node scripts/errors-doc.mjs'").toBe(renderErrorsPage(ERROR_CODES));
  });

  it('every code the source passes to an error is in the type, and each says what to do', () => {
    const named = new Set<string>();
    for (const f of sources(join(root, 'src'))) {
      for (const m of readFileSync(f, 'utf8').matchAll(/(?:MkError\(|super\(|, )'(E[A-Z]+)'/g)) named.add(m[1]!);
    }
    expect(named.size).toBeGreaterThan(30);
    for (const c of named) expect(isErrorCode(c), `${c} is used in src/ but not in ERROR_CODES`).toBe(true);
    for (const [c, v] of Object.entries(ERROR_CODES)) {
      expect(v.what.length, c).toBeGreaterThan(10);
      expect(v.todo.length, c).toBeGreaterThan(5);
    }
    // The code decides the exit status.
    expect(new MkError('EUSAGE', 'x').exitCode).toBe(2);
    expect(new MkError('ENOSPC', 'x').exitCode).toBe(74);
    expect(isErrorCode('toString')).toBe(false);
  });

  it('lint refuses a plain Error outside invariant(), and allows it there', async () => {
    // The project's own config, with only the rule under test and without type information (the
    // texts below stand in for files that exist). With the type-aware parse, one CI run saw no
    // message at all for the first text, which never happened here; the rule needs no types.
    const eslint = new ESLint({
      cwd: root,
      ruleFilter: ({ ruleId }) => ruleId === 'no-restricted-syntax',
      overrideConfig: [{ files: ['**/*.ts'], languageOptions: { parserOptions: { project: false, projectService: false } } }],
    });
    const [bad] = await eslint.lintText("export function f(): never {\n  throw new Error('oops');\n}\n", { filePath: join(root, 'src/util/version.ts') });
    expect(bad!.messages.map((m) => m.ruleId)).toContain('no-restricted-syntax');
    expect(bad!.messages.find((m) => m.ruleId === 'no-restricted-syntax')!.message).toMatch(/MkError with a code/);
    const [typeError] = await eslint.lintText("export const e = new TypeError('x');\n", { filePath: join(root, 'src/api/install.ts') });
    expect(typeError!.messages.map((m) => m.ruleId)).toContain('no-restricted-syntax');
    const [allowed] = await eslint.lintText(readFileSync(join(root, 'src/errors/invariant.ts'), 'utf8'), { filePath: join(root, 'src/errors/invariant.ts') });
    expect(allowed!.messages).toEqual([]);
    const [good] = await eslint.lintText("import { MkError } from '../errors/index.js';\nexport function f(): never {\n  throw new MkError('EUSAGE', 'bad');\n}\n", {
      filePath: join(root, 'src/util/version.ts'),
    });
    expect(good!.messages).toEqual([]);
  });
});
