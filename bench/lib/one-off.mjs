// Shared by the one-question bench scripts (bench/exp-show.mjs, bench/sign.mjs): their options,
// a Git environment of their own, and running a command that must succeed.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** `--name value` from argv, else `dflt`. */
export function option(args, name, dflt) {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
}

/** A Git identity and an empty global config under `work`; no system config, no mk hooks, no signing key. */
export function benchEnv(work) {
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'bench',
    GIT_AUTHOR_EMAIL: 'bench@example.com',
    GIT_COMMITTER_NAME: 'bench',
    GIT_COMMITTER_EMAIL: 'bench@example.com',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: join(work, 'gitconfig'),
    MK_HOOKS: '0',
  };
  delete env.MK_SIGNING_KEY;
  writeFileSync(env.GIT_CONFIG_GLOBAL, '');
  return env;
}

/** A runner in `env`: the command's stdout, or an error with its output when it fails. */
export function runner(env) {
  return (cmd, args, cwd, extra = {}) => {
    const r = spawnSync(cmd, args, { cwd, env: { ...env, ...extra }, encoding: 'utf8', maxBuffer: 1 << 28 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${r.stderr}${r.stdout}`);
    return r.stdout;
  };
}
