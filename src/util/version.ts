import { readFileSync } from 'node:fs';

let version: string | undefined;

/** mk's version (package.json): the builder in provenance, the user agent of notifications. */
export function mkVersion(): string {
  if (version === undefined) {
    try {
      version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
    } catch {
      version = 'unknown';
    }
  }
  return version;
}
