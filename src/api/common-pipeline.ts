import type { Target } from '../content/storage.js';
import { guessKind, pointerPathFor, type Pointer } from '../formats/pointer.js';
import type { TrackedPointer } from '../git/pointers.js';
import type { PipelineWorkspace } from '../pipeline/repro.js';
import type { RunPointer } from '../pipeline/run-cache.js';
import type { RepoContext } from '../repo/context.js';
// The add, checkout and status machinery the pipeline runner records and places outputs with,
// loaded when a stage needs them (a run with nothing to do never does). Verbs for now: the
// work-tree engine (issue 23) moves their bodies below src/api, and these imports then point
// there. This file is the one place in src/api that reaches for them.

/**
 * The work tree as the pipeline runner sees it (src/pipeline/repro.ts): outputs are recorded
 * by `mk add` (files through the Git filter where the repository uses it, folders as folders,
 * staged unless `stage: false`), placed by the checkout of their pointers, and saved when mk's
 * status calls them clean with their bytes in the cache. Used by `mk repro` and `mk exp run`.
 */
export function pipelineWorkspace(ctx: RepoContext, opts: { stage?: boolean } = {}): PipelineWorkspace {
  const root = ctx.root;
  return {
    async track(paths: string[]) {
      if (!paths.length) return [];
      const { add } = await import('./add.js');
      const added = await add(paths, { cwd: root, stage: opts.stage });
      return added.map((a) => ({ path: a.path, pointer: runPointer(a.pointer) }));
    },
    async place(outs: Array<{ path: string; pointer: RunPointer }>) {
      if (!outs.length) return;
      const pointers: TrackedPointer[] = outs.map((o) => {
        const p: Pointer = {
          version: 1,
          kind: guessKind(o.pointer.type === 'dir' ? o.path + '/' : o.path),
          type: o.pointer.type,
          digest: o.pointer.digest,
          size: o.pointer.size,
          ...(o.pointer.files !== undefined ? { files: o.pointer.files } : {}),
        };
        return { path: o.path, pointerPath: pointerPathFor(o.path), text: '', pointer: p };
      });
      const { checkout } = await import('./checkout.js');
      await checkout({ cwd: root, pointers, force: true });
    },
    async saved(paths: string[]) {
      const { workspacePointers } = await import('../git/pointers.js');
      const { status } = await import('./status.js');
      const tracked = new Set((await workspacePointers(root, paths)).map((t) => t.path).filter((p) => paths.includes(p)));
      const out = new Map<string, boolean>();
      if (!tracked.size) return out;
      for (const s of await status({ cwd: root, paths: [...tracked] })) if (tracked.has(s.path)) out.set(s.path, s.workspace === 'clean' && s.cached);
      return out;
    },
  };
}

function runPointer(p: Pointer): RunPointer {
  return { type: p.type, digest: p.digest, size: p.size, ...(p.files !== undefined ? { files: p.files } : {}) };
}

/** The default remote, opened for reading, or undefined when none is configured or it cannot be opened. */
export function defaultRemote(ctx: RepoContext, name?: string): () => Promise<Target | undefined> {
  let opened: Promise<Target | undefined> | undefined;
  return () =>
    (opened ??= (async () => {
      if (!name && !ctx.config.defaultRemote && !ctx.config.remotes.length) return undefined;
      try {
        const { openRemote, remoteConfig } = await import('../remote/remotes.js');
        return await openRemote(ctx, remoteConfig(ctx, name), { readOnly: true });
      } catch {
        return undefined;
      }
    })());
}
