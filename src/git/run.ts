import { execFile } from 'node:child_process';
import { GitError } from '../errors/index.js';

export interface GitRunOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  /** Exit codes that are answers, not failures (e.g. 1 for `git check-ignore`). */
  okCodes?: number[];
}

/** Runs git in `cwd`; resolves with stdout; a failure becomes a GitError with git's own words. */
export function git(cwd: string, args: string[], opts: GitRunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('git', args, { cwd, env: opts.env ?? process.env, maxBuffer: 1 << 30, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        const code = typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
        if (opts.okCodes?.includes(code)) return resolve(stdout);
        const msg = (stderr || err.message).trim().split('\n').filter(Boolean).pop() ?? 'failed';
        return reject(new GitError(`git ${args[0]}: ${msg.replace(/^(fatal|error): /, '')}`));
      }
      resolve(stdout);
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Resolves a revision expression (HEAD~1, a branch, a tag, an abbreviated id) to a commit id. */
export async function resolveCommit(cwd: string, rev: string): Promise<string> {
  if (rev.startsWith('-')) throw new GitError(`not a revision: ${rev}`);
  try {
    return (await git(cwd, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`])).trim();
  } catch {
    throw new GitError(`unknown revision '${rev}'`, "name a commit, branch or tag ('git log' lists commits)");
  }
}

/** resolveCommit for many revisions, with one git process (full commit ids, as a push hook gets, are the common case). */
export async function resolveCommits(cwd: string, revs: string[]): Promise<string[]> {
  if (revs.length === 0) return [];
  if (!revs.some((r) => r.startsWith('-'))) {
    const out = (await git(cwd, ['rev-parse', ...revs.map((r) => `${r}^{commit}`)], { okCodes: [128] })).split('\n').filter(Boolean);
    if (out.length === revs.length && out.every((c) => /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(c))) return out;
  }
  return Promise.all(revs.map((r) => resolveCommit(cwd, r))); // one of them is wrong: say which
}

/** Whether this repository has the commit `sha` (a remote's commit may be missing). */
export async function hasCommit(cwd: string, sha: string): Promise<boolean> {
  return (await git(cwd, ['rev-parse', '--verify', '--quiet', `${sha}^{commit}`], { okCodes: [1, 128] })).trim() !== '';
}

/** Whether `ancestor` is `commit` or one of its ancestors (both must be here). */
export async function isAncestor(cwd: string, ancestor: string, commit: string): Promise<boolean> {
  // Exit 0: yes; 1: no; 128: a commit is missing (no as well).
  return git(cwd, ['merge-base', '--is-ancestor', ancestor, commit]).then(
    () => true,
    () => false,
  );
}

/** The commit HEAD points to, or undefined in a repository with no commit yet. */
export async function headCommit(cwd: string): Promise<string | undefined> {
  const out = await git(cwd, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'], { okCodes: [1, 128] });
  return out.trim() || undefined;
}
