// One scenario = one tool, one dataset, one repetition, in fresh temporary directories:
//
//   setup (untimed: git init, tool init, copy the data in)
//   add + commit -> status x3 -> no-op commit x3 -> push
//   change one file (untimed) -> add + commit -> store growth -> push (bytes uploaded)
//   fresh clone + restore (verified) -> switch to the first revision and back (verified)
//   -> rename the data (mv + commit) -> push (bytes uploaded after the rename)
//   (and, between the one-file change and its add: status of the changed work tree)
//
// A tool is an object of small functions that return the commands of each step (see tools/).
// A failing step is recorded as "error: <first line>" and the steps that need it are skipped.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { applyChange, verifyData } from './data.mjs';
import { procDefaults, runStep, sh, StepError, syncDisks } from './proc.mjs';
import { dirSize, fmtSeconds, log, rmrf } from './util.mjs';

/** Rows a VCS scenario produces, with the rows each one needs to have succeeded. */
export const STEP_NEEDS = {
  add: [],
  status: ['add'],
  noop: ['add'],
  push: ['add'],
  readd: ['add'],
  growth: ['readd'],
  push2: ['push', 'readd'],
  upload: ['push2'],
  clone: ['push2'],
  pushLocal: ['add'],
  cloneLocal: ['pushLocal', 'readd'],
  switch: ['readd'],
  dirty: ['add'],
  rename: ['switch'],
  renameUpload: ['rename', 'push2'],
};

export class NotApplicable extends Error {
  constructor(why) {
    super(why);
    this.why = why;
  }
}

const sizeOf = (dirs) => dirs.reduce((a, d) => a + dirSize(d), 0);

export async function runScenario({ tool, ds, rep, ctx, results }) {
  const dir = join(ctx.runsDir, `${tool.id}-${ds.id}-r${rep}`);
  rmrf(dir);
  mkdirSync(dir, { recursive: true });
  procDefaults.log = join(ctx.logsDir, `${tool.id}-${ds.id}-r${rep}.log`);
  rmrf(procDefaults.log);
  // Remotes live under ctx.remoteRoot: another filesystem when possible (see run.mjs).
  const remoteBase = join(ctx.remoteRoot, `${tool.id}-${ds.id}-r${rep}`);
  rmrf(remoteBase);
  mkdirSync(remoteBase, { recursive: true });
  const S = { dir, remoteBase, repo: join(dir, 'repo'), bare: join(remoteBase, 'remote.git'), clone: join(dir, 'clone'), ds, rep, ctx, env: { ...ctx.env, ...(tool.env?.(dir) ?? {}) } };
  const common = () => ({ env: S.env, cwd: S.repo });
  const failed = {};
  const step = async (row, fn) => {
    const blocker = STEP_NEEDS[row].find((n) => failed[n]);
    if (blocker) {
      if (failed[blocker] === 'na') {
        failed[row] = 'na';
        (failed.naWhy ??= {})[row] = failed.naWhy[blocker];
        results.na(ds.id, row, tool.id, failed.naWhy[blocker]);
      } else {
        failed[row] = true;
        results.na(ds.id, row, tool.id, `n/a: not run, "${blocker}" failed`);
      }
      return;
    }
    try {
      await fn();
    } catch (e) {
      if (e instanceof NotApplicable) {
        failed[row] = 'na';
        (failed.naWhy ??= {})[row] = e.why;
        results.na(ds.id, row, tool.id, e.why);
      } else {
        failed[row] = true;
        results.error(ds.id, row, tool.id, e instanceof StepError ? e.cell : `error: ${e.message.split('\n')[0]}`);
        log(`  ${tool.id}/${ds.id}: ${row} failed: ${e.message.split('\n')[0]}`);
      }
    }
  };
  const timed = (row, cmds) => {
    syncDisks();
    const t = runStep(
      cmds.map((c) => ({ ...common(), ...c })),
      { env: S.env },
    );
    results.time(ds.id, row, tool.id, t);
    return t;
  };

  try {
    try {
      mkdirSync(S.repo, { recursive: true });
      sh(['git', 'init', '-q', S.repo], { env: S.env });
      await tool.setup(S);
      sh(['cp', '-r', join(ds.root, ds.path), `${S.repo}/`], { env: S.env });
      sh(['git', 'init', '-q', '--bare', S.bare], { env: S.env });
      sh(['git', 'remote', 'add', 'origin', `file://${S.bare}`], common());
    } catch (e) {
      const msg = e instanceof StepError ? e.message : e.message.split('\n')[0];
      for (const row of Object.keys(STEP_NEEDS)) results.error(ds.id, row, tool.id, `error: setup: ${msg}`);
      log(`  ${tool.id}/${ds.id}: setup failed: ${msg}`);
      return;
    }

    await step('add', async () => {
      const t = timed('add', tool.addCommit(S, 'add data'));
      log(`  ${tool.id}/${ds.id} r${rep}: add + commit ${fmtSeconds(t.wall)}`);
      S.revA = sh(['git', 'rev-parse', 'HEAD'], common()).trim();
      await tool.afterAdd?.(S);
    });
    await step('status', async () => {
      for (let i = 0; i < 3; i++) timed('status', tool.status(S));
    });
    await step('noop', async () => {
      for (let i = 0; i < 3; i++) timed('noop', tool.noop(S));
      const note = tool.noopNote?.(S);
      if (note) results.note(ds.id, 'noop', tool.id, note);
    });
    await step('push', async () => {
      const cmds = tool.push(S);
      const t = timed('push', cmds);
      log(`  ${tool.id}/${ds.id} r${rep}: push ${fmtSeconds(t.wall)}`);
    });
    if (tool.pushLocal) {
      await step('pushLocal', async () => {
        const t = timed('pushLocal', tool.pushLocal(S));
        log(`  ${tool.id}/${ds.id} r${rep}: push to a local folder ${fmtSeconds(t.wall)}`);
      });
    }
    let storeBefore = 0;
    let changed = false;
    await step('dirty', async () => {
      await applyChange(ds, S.repo);
      changed = true;
      if (!tool.dirtyStatus) throw new NotApplicable('n/a');
      for (let i = 0; i < 3; i++) timed('dirty', tool.dirtyStatus(S));
    });
    await step('readd', async () => {
      if (!changed) await applyChange(ds, S.repo);
      storeBefore = sizeOf(tool.storeDirs(S));
      await tool.beforeReadd?.(S);
      const t = timed('readd', tool.addCommit(S, 'change one file'));
      log(`  ${tool.id}/${ds.id} r${rep}: re-add after 1-file change ${fmtSeconds(t.wall)}`);
      S.revB = sh(['git', 'rev-parse', 'HEAD'], common()).trim();
    });
    await step('growth', async () => {
      results.bytes(ds.id, 'growth', tool.id, sizeOf(tool.storeDirs(S)) - storeBefore);
      const note = tool.growthNote?.(S);
      if (note) results.note(ds.id, 'growth', tool.id, note);
    });
    let remoteBefore = 0;
    await step('push2', async () => {
      remoteBefore = sizeOf(tool.remoteDirs(S));
      await tool.beforePush2?.(S);
      timed('push2', tool.push(S));
    });
    await step('upload', async () => {
      results.bytes(ds.id, 'upload', tool.id, sizeOf(tool.remoteDirs(S)) - remoteBefore);
      const note = tool.uploadNote?.(S);
      if (note) results.note(ds.id, 'upload', tool.id, note);
    });
    await step('clone', async () => {
      rmrf(S.clone);
      const t = timed('clone', tool.clone(S));
      log(`  ${tool.id}/${ds.id} r${rep}: fresh clone + restore ${fmtSeconds(t.wall)}`);
      const bad = await verifyData(ds, S.clone, true);
      if (bad) {
        results.cell(ds.id, 'clone', tool.id).times.pop();
        throw new StepError(`wrong data after clone + restore: ${bad}`);
      }
      rmrf(S.clone);
    });
    if (tool.cloneLocal) {
      await step('cloneLocal', async () => {
        await tool.beforeCloneLocal?.(S);
        rmrf(S.clone);
        const t = timed('cloneLocal', tool.cloneLocal(S));
        log(`  ${tool.id}/${ds.id} r${rep}: fresh clone + restore from a local folder ${fmtSeconds(t.wall)}`);
        const bad = await verifyData(ds, S.clone, true);
        if (bad) {
          results.cell(ds.id, 'cloneLocal', tool.id).times.pop();
          throw new StepError(`wrong data after clone + restore from the folder: ${bad}`);
        }
        rmrf(S.clone);
      });
    }
    await step('switch', async () => {
      for (const [rev, changed] of [
        [S.revA, false],
        ['main', true],
      ]) {
        timed('switch', tool.switchTo(S, rev));
        const bad = await verifyData(ds, S.repo, changed);
        if (bad) {
          results.cell(ds.id, 'switch', tool.id).times.pop();
          throw new StepError(`wrong data after switching to ${rev === 'main' ? 'the second' : 'the first'} revision: ${bad}`);
        }
      }
    });
    // Renaming the data: what it costs to record, and what the next push uploads (ideally
    // nothing but metadata: the bytes did not change).
    await step('rename', async () => {
      if (!tool.rename) throw new NotApplicable('n/a');
      const t = timed('rename', tool.rename(S, `${ds.path.replace(/\.bin$/, '')}-renamed${ds.isDir ? '' : '.bin'}`));
      log(`  ${tool.id}/${ds.id} r${rep}: rename + commit ${fmtSeconds(t.wall)}`);
    });
    await step('renameUpload', async () => {
      const before = sizeOf(tool.remoteDirs(S));
      await tool.beforePush2?.(S);
      for (const c of tool.push(S)) sh(c.argv, { ...common(), ...c });
      results.bytes(ds.id, 'renameUpload', tool.id, sizeOf(tool.remoteDirs(S)) - before);
      const note = tool.renameNote?.(S);
      if (note) results.note(ds.id, 'renameUpload', tool.id, note);
    });
  } finally {
    try {
      await tool.teardown?.(S);
    } catch {
      /* best effort */
    }
    if (!ctx.keep) {
      rmrf(dir);
      rmrf(remoteBase);
    }
  }
}
