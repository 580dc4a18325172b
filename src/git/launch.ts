import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder mk runs from: a checkout, or the package npm installed (it holds bin/, dist/, hooks/). */
export function projectDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/** The script Git's hooks, filter and merge driver start (bin/mk.js of this installation). */
export function mkScript(): string {
  return join(projectDir(), 'bin', 'mk.js');
}

/** The single-quoted form of a word for sh (what Git runs hooks, filters and merge drivers with). */
export const shQuote = (s: string): string => `'${s.replaceAll("'", "'\\''")}'`;

/**
 * A sh command that starts this mk with `args` (already shell words), for Git's config
 * (`filter.mk.process`, `merge.mk.driver`; Git runs both through `sh -c`). Its first choice
 * is the Node and the script that wrote it; when that Node is gone (moved, upgraded, another
 * version selected) it takes `node` on PATH with the same script, and when the script is gone
 * too (mk reinstalled elsewhere) `mk` on PATH. When none is there it prints one line saying
 * what to run (`repair`). Each test is a shell builtin: no process more than before in the common case.
 */
export function launchCommand(args: string, what: string, repair: string): string {
  const node = shQuote(process.execPath);
  const script = shQuote(mkScript());
  const missing = shQuote(`mk: ${what} cannot start mk (${process.execPath} or ${mkScript()} is gone, and neither node nor mk is on PATH); put mk on PATH, then run '${repair}' to repair it`);
  return (
    `if [ -x ${node} ] && [ -f ${script} ]; then exec ${node} ${script} ${args}; ` +
    `elif [ -f ${script} ] && command -v node >/dev/null 2>&1; then exec node ${script} ${args}; ` +
    `elif command -v mk >/dev/null 2>&1; then exec mk ${args}; ` +
    `else echo ${missing} >&2; exit 127; fi`
  );
}
