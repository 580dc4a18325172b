// Writes docs/spec/errors.md from the one list of error codes (src/errors/codes.ts, built into
// dist/ by `npm run build`): `npm run build && node scripts/errors-doc.mjs`. A unit test
// (test/unit/architecture/errors.test.ts) fails when the page and the list differ.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cell = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\|/g, '\\|');

/** The page, from the table of codes: { CODE: { exit, what, todo } }. */
export function renderErrorsPage(codes) {
  const rows = Object.entries(codes).map(([code, c]) => `| \`${code}\` | ${c.exit} | ${cell(c.what)} | ${cell(c.todo)} |`);
  return [
    '# Error codes',
    '',
    'Every error mk raises on purpose carries one of these codes (the closed type `ErrorCode` in',
    '`src/errors/codes.ts`; this page is generated from it by `scripts/errors-doc.mjs`, and a test',
    'keeps the two equal). The code decides the exit status. Scripts switch on the code, never on',
    'the text of the message, which may change.',
    '',
    '## How errors are printed',
    '',
    '- Without `--json`: one line `mk: <what happened>` on stderr, and usually a second line',
    '  `hint: <what to do>`.',
    '- With `--json`: one JSON object on **stdout** (where the result would have been), nothing on',
    '  stderr, and the same exit status:',
    '',
    '  ```json',
    '  {"error": {"code": "ENOTCACHED", "message": "the data of models/m.bin is not in the local cache", "hint": "run \'mk fetch\' for this revision first"}}',
    '  ```',
    '',
    '  `hint` is `null` when there is none. A command that succeeds prints its result object, which',
    '  never has an `error` key.',
    '',
    'Exit statuses: 0 success, 1 the command failed, 2 a usage error (the command line or its',
    'arguments), 70 a bug in mk (`EINTERNAL`), 71 a limit of the system, 73 a file stands where a',
    'folder must be, 74 an input/output failure of the machine, 77 a permission. Verdicts are not',
    'errors: `mk verify <rev>` exits 1 on a mismatch and 3 when the commit was never published,',
    '`mk verify --key` exits 1 when a signature does not hold, each with its full report.',
    '',
    '## Codes',
    '',
    '| code | exit | what happened | what to do |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const { ERROR_CODES } = await import(pathToFileURL(join(root, 'dist', 'errors', 'codes.js')).href);
  writeFileSync(join(root, 'docs', 'spec', 'errors.md'), renderErrorsPage(ERROR_CODES));
}
