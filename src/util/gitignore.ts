import { readFileSync } from 'node:fs';
import { writeFileAtomic } from './fs.js';
import { abs } from '../repo/paths.js';

/** Escapes a file name for a .gitignore line that matches exactly that name. */
export function ignoreLine(name: string): string {
  let s = name.replace(/[\\*?[\]!#]/g, (c) => '\\' + c);
  s = s.replace(/ +$/, (m) => m.split('').map(() => '\\ ').join(''));
  return '/' + s;
}

/**
 * Makes sure `<dir>/.gitignore` ignores the artifact at `rel` (an anchored entry in the
 * .gitignore of its own folder, as DVC does). Returns the .gitignore path if it changed.
 */
export async function ensureIgnored(root: string, rel: string): Promise<string | undefined> {
  const slash = rel.lastIndexOf('/');
  const dir = slash < 0 ? '' : rel.slice(0, slash);
  const name = rel.slice(slash + 1);
  const file = dir ? `${dir}/.gitignore` : '.gitignore';
  let text = '';
  try {
    text = readFileSync(abs(root, file), 'utf8');
  } catch {
    /* new file */
  }
  const line = ignoreLine(name);
  if (text.split(/\r?\n/).includes(line)) return undefined;
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  await writeFileAtomic(abs(root, file), `${text}${sep}${line}\n`);
  return file;
}
