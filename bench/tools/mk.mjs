// mk: `mk add` + `git commit`; push/pull through `mk remote add` / `mk push` / `mk pull` once
// they exist (each probed with --help; missing ones make their rows "n/a (not implemented yet)").
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { runOnce, sh } from '../lib/proc.mjs';
import { collectBlobs, startRegistry } from '../lib/registry.mjs';
import { NotApplicable } from '../lib/scenario.mjs';
import { fmtBytes } from '../lib/util.mjs';

export const NOT_YET = 'n/a (not implemented yet)';

/** Which mk commands exist: a command "exists" when `mk <cmd> --help` exits 0. */
export function probeMk(ctx) {
  const mk = (...a) => [process.execPath, ctx.mkBin, ...a];
  const ok = (argv) => runOnce(argv, { env: ctx.env, timeoutSec: 60 }).code === 0;
  const version = runOnce(mk('--version'), { env: ctx.env, timeoutSec: 60 });
  if (version.code !== 0) return { ok: false, why: `mk does not start: ${(version.stderr || version.stdout).split('\n')[0]}` };
  const caps = {
    ok: true,
    version: version.stdout.trim(),
    remoteAdd: ok(mk('remote', 'add', '--help')),
    push: ok(mk('push', '--help')),
    pull: ok(mk('pull', '--help')),
    install: ok(mk('install', '--help')),
    mv: ok(mk('mv', '--help')),
    // Single files through Git's clean/smudge filter (git status sees them).
    filter: ok(mk('migrate', '--help')),
  };
  // Startup cost of the CLI itself (node + module loading), best of 5.
  caps.startup = Math.min(...Array.from({ length: 5 }, () => runOnce(mk('--version'), { env: ctx.env }).wall));
  return caps;
}

function hookMentionsMk(repo, name) {
  const p = join(repo, '.git', 'hooks', name);
  try {
    return /\bmk\b/.test(readFileSync(p, 'utf8'));
  } catch {
    return false;
  }
}

/** digest hex -> size of every blob in the local cache. */
function cacheBlobs(S) {
  return blobsIn(join(S.repo, '.git', 'mk', 'cache', 'blobs', 'sha256'));
}

/** digest hex -> size of every blob in the remote (registry storage or OCI layout). */
function remoteBlobs(S) {
  const out = new Map();
  if (S.registry) {
    const base = join(S.registry.root, 'docker', 'registry', 'v2', 'blobs', 'sha256');
    for (const pre of safeList(base))
      for (const d of safeList(join(base, pre))) {
        try {
          out.set(d, statSync(join(base, pre, d, 'data')).size);
        } catch {
          /* partial */
        }
      }
    return out;
  }
  for (const dir of S.remoteDirs) for (const [d, n] of blobsIn(join(dir, 'blobs', 'sha256'))) out.set(d, n);
  return out;
}

function blobsIn(dir) {
  const out = new Map();
  for (const d of safeList(dir)) {
    if (!/^[0-9a-f]{64}$/.test(d)) continue;
    try {
      out.set(d, statSync(join(dir, d)).size);
    } catch {
      /* vanished */
    }
  }
  return out;
}

function safeList(dir) {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** Whether a cache blob is mk metadata: a directory manifest root or one of its file lists. */
function isDirMeta(S, hex) {
  try {
    const fd = openSync(join(S.repo, '.git', 'mk', 'cache', 'blobs', 'sha256', hex), 'r');
    const head = Buffer.alloc(64);
    readSync(fd, head, 0, 64, 0);
    closeSync(fd);
    return /^\{"mediaType":"application\/vnd\.mk\.(directory|filelist)\./.test(head.toString('latin1'));
  } catch {
    return false;
  }
}

/**
 * Blobs in `now` that were not in `before`, and which of them are the directory manifest:
 * its root (named by the pointer) and its file lists (recognised in the local cache).
 */
function newBlobs(S, now, before) {
  const manifest = pointerDigest(S);
  const added = [...now.keys()].filter((d) => !before?.has(d));
  return { added, meta: new Set(added.filter((d) => d === manifest || isDirMeta(S, d))) };
}

/** The directory manifest's digest (a file artifact's pointer names the data blob itself). */
function pointerDigest(S) {
  if (!S.ds.isDir) return undefined;
  try {
    return /digest:\s*sha256:([0-9a-f]{64})/.exec(readFileSync(join(S.repo, `${S.ds.path}.mk.yaml`), 'utf8'))?.[1];
  } catch {
    return undefined;
  }
}

function describe(data, manifestBytes) {
  const parts = [`${data.length} new data blob(s)${data.length ? ` (${data.map(fmtBytes).join(', ')})` : ''}`];
  if (manifestBytes !== undefined) parts.push(`the directory manifest: root + changed file lists (${fmtBytes(manifestBytes)})`);
  return parts.join(' + ');
}

export function mkTool(ctx, caps) {
  const mk = (...a) => [process.execPath, ctx.mkBin, ...a];
  return {
    id: 'mk',
    label: 'mk',

    async setup(S) {
      sh(ctx.mkNoFilter ? mk('init', '--no-filter') : mk('init'), { cwd: S.repo, env: S.env });
      // The designed flow: hooks do mk's part of commit, checkout and push (`mk install`).
      if (caps.install && !ctx.noHooks) sh(mk('install'), { cwd: S.repo, env: S.env });
      S.remoteDirs = [];
      if (caps.push && caps.remoteAdd) {
        let url;
        if (ctx.mkRemote === 'layout') {
          url = join(S.remoteBase, 'remote-layout');
          S.remoteDirs.push(url);
        } else {
          S.registry = await startRegistry(join(S.remoteBase, 'registry'));
          url = `oci://${S.registry.host}/bench/${S.ds.id}`;
          S.remoteDirs.push(S.registry.root);
        }
        sh(mk('remote', 'add', 'origin', url), { cwd: S.repo, env: S.env });
        // A second mk remote, a local folder (OCI layout), for the like-for-like rows against
        // Git LFS and DVC, whose remotes are local folders too. Not the default.
        if (ctx.mkRemote === 'registry') {
          S.folder = join(S.remoteBase, 'folder-layout');
          S.folderGit = join(S.remoteBase, 'folder.git');
          sh(mk('remote', 'add', 'folder', S.folder), { cwd: S.repo, env: S.env });
          sh(['git', 'init', '-q', '--bare', S.folderGit], { env: S.env });
          sh(['git', 'remote', 'add', 'folder', `file://${S.folderGit}`], { cwd: S.repo, env: S.env });
          sh(mk('remote', 'default', 'origin'), { cwd: S.repo, env: S.env });
        }
        sh(['git', 'add', '-A', '.mk'], { cwd: S.repo, env: S.env });
      }
      S.preCommitHook = hookMentionsMk(S.repo, 'pre-commit');
      S.postCheckoutHook = hookMentionsMk(S.repo, 'post-checkout');
      S.prePushHook = hookMentionsMk(S.repo, 'pre-push');
    },

    addCommit: (S, msg) => [{ argv: mk('add', S.ds.path) }, { argv: ['git', 'commit', '-q', '-m', msg] }],

    async afterAdd(S) {
      // The skopeo floor copies "the same blobs": what mk stored for this dataset.
      if (S.rep === 0 && !ctx.skopeoBlobs[S.ds.id]) {
        const layout = ctx.layoutDir(S.ds);
        await collectBlobs(layout, { fromCacheBlobs: join(S.repo, '.git', 'mk', 'cache', 'blobs', 'sha256') });
        ctx.skopeoBlobs[S.ds.id] = "mk's cache blobs";
      }
    },

    status: () => [{ argv: mk('status') }],
    noop: () => [{ argv: ['git', 'commit', '-q', '--allow-empty', '-m', 'no-op'] }],
    noopNote: (S) =>
      S.preCommitHook
        ? 'with the hooks `mk install` puts in place (pre-commit, post-commit, ...)'
        : `no mk pre-commit hook installed${caps.install ? ' (--no-hooks)' : ' yet'}: this is plain git; see the status row for what a hook would add`,

    push(S) {
      if (!caps.push) throw new NotApplicable(NOT_YET);
      if (!caps.remoteAdd) throw new NotApplicable('n/a (`mk remote add` not implemented yet)');
      // With mk's pre-push hook, `git push` uploads the data first (the designed flow).
      if (S.prePushHook) return [{ argv: ['git', 'push', '-q', 'origin', 'main'] }];
      return [{ argv: mk('push', '-q') }, { argv: ['git', 'push', '-q', 'origin', 'main'] }];
    },

    // Like for like with Git LFS and DVC: data to a local folder remote, then git.
    pushLocal(S) {
      if (!S.folder) throw new NotApplicable(ctx.mkRemote === 'layout' ? 'n/a: the push row already uses a local folder (--mk-remote layout)' : NOT_YET);
      return [{ argv: mk('push', '-q', '--remote', 'folder') }, { argv: ['git', 'push', '-q', '--no-verify', 'folder', 'main'] }];
    },

    /** Untimed: the folder remote gets the second revision too, as the registry did. */
    beforeCloneLocal(S) {
      sh(mk('push', '-q', '--remote', 'folder'), { cwd: S.repo, env: S.env });
      sh(['git', 'push', '-q', '--no-verify', 'folder', 'main'], { cwd: S.repo, env: S.env });
    },

    cloneLocal(S) {
      if (!S.folder) throw new NotApplicable('n/a: the clone row already uses a local folder (--mk-remote layout)');
      return [
        { argv: ['git', 'clone', '-q', `file://${S.folderGit}`, S.clone], cwd: S.dir },
        { argv: mk('pull', '-q', '--remote', 'folder'), cwd: S.clone },
      ];
    },

    clone(S) {
      if (!caps.pull) throw new NotApplicable(NOT_YET);
      return [
        { argv: ['git', 'clone', '-q', `file://${S.bare}`, S.clone], cwd: S.dir },
        { argv: mk('pull', '-q'), cwd: S.clone },
      ];
    },

    // A changed folder is seen by mk status; a changed file (through mk's Git filter) by git status.
    dirtyStatus: (S) => [{ argv: S.ds.isDir || !caps.filter ? mk('status') : ['git', 'status', '--porcelain'] }],
    rename(S, to) {
      if (!caps.mv) throw new NotApplicable(NOT_YET);
      return [{ argv: mk('mv', S.ds.path, to) }, { argv: ['git', 'commit', '-q', '-m', 'rename'] }];
    },
    renameNote(S) {
      const now = remoteBlobs(S);
      const added = [...now.keys()].filter((d) => !S.remoteBefore?.has(d)).map((d) => now.get(d));
      return `${added.length} new blob(s) on the mk remote (${fmtBytes(added.reduce((a, b) => a + b, 0))}; largest ${fmtBytes(Math.max(0, ...added))})`;
    },
    switchTo: (S, rev) => [{ argv: ['git', 'checkout', '-q', rev] }, ...(S.postCheckoutHook ? [] : [{ argv: mk('checkout') }])],

    storeDirs: (S) => [join(S.repo, '.git', 'mk', 'cache')],
    remoteDirs: (S) => [...S.remoteDirs, S.bare],

    beforeReadd(S) {
      S.cacheBefore = new Set(cacheBlobs(S).keys());
    },

    growthNote(S) {
      // Which blobs the one-file change added: ideally one data blob (the file's group) plus
      // the directory manifest (for a directory), whatever the dataset's size.
      const now = cacheBlobs(S);
      const { added, meta } = newBlobs(S, now, S.cacheBefore);
      const data = added.filter((d) => !meta.has(d)).map((d) => now.get(d));
      const manifestBytes = meta.size ? [...meta].reduce((a, d) => a + now.get(d), 0) : undefined;
      S.changeData = new Set(added.filter((d) => !meta.has(d)));
      (ctx.mkChange[S.ds.id] ??= []).push({ dataBlobs: data, manifestBytes });
      return describe(data, manifestBytes);
    },

    beforePush2(S) {
      S.remoteBefore = new Set(remoteBlobs(S).keys());
    },

    uploadNote(S) {
      const now = remoteBlobs(S);
      const { added, meta } = newBlobs(S, now, S.remoteBefore);
      const data = added.filter((d) => S.changeData?.has(d)).map((d) => now.get(d));
      const other = added.filter((d) => !meta.has(d) && !S.changeData?.has(d)).map((d) => now.get(d));
      const manifestBytes = meta.size ? [...meta].reduce((a, d) => a + now.get(d), 0) : undefined;
      (ctx.mkUpload[S.ds.id] ??= []).push({ dataBlobs: data, manifestBytes, other });
      return `${describe(data, manifestBytes)}${other.length ? `, + ${other.length} other blob(s) (${fmtBytes(other.reduce((a, b) => a + b, 0))}: ModelKit/config)` : ''}`;
    },

    async teardown(S) {
      await S.registry?.stop();
    },
  };
}
