import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Git merge driver for pointer files (`merge=mk`): a side that did not change the artifact
 * gives way to the side that did; when both changed it, the file gets conflict markers and
 * the user is told how to pick a side. Returns the exit status git expects (0 merged, 1 conflict).
 */
export function mergePointers(base: string, ours: string, theirs: string, path: string, messages: string[]): number {
  const o = read(base);
  const a = read(ours);
  const b = read(theirs);
  if (a === b || b === o) return 0;
  if (a === o) {
    writeFileSync(ours, b);
    return 0;
  }
  writeFileSync(ours, `<<<<<<< ours\n${a}=======\n${b}>>>>>>> theirs\n`);
  messages.push(`mk: both branches changed the tracked artifact ${path.replace(/\.mk\.yaml$/, '')}.`);
  messages.push(`hint: keep one side with 'git checkout --ours -- ${path}' or 'git checkout --theirs -- ${path}', then run 'mk checkout' and 'git add ${path}'; or save merged data with 'mk add'`);
  return 1;
}

function read(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}
