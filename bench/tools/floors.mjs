// Floors: what the hardware and plain tools do with the same bytes, each a lower bound (or a
// reference) for one step. Each is recorded as column `floor:<id>`.
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { procDefaults, runStep, sh, StepError, syncDisks } from '../lib/proc.mjs';
import { collectBlobs, finishLayout, startRegistry } from '../lib/registry.mjs';
import { fmtBytes, log, rmrf } from '../lib/util.mjs';

export const FLOORS = {
  sha256: 'openssl dgst -sha256',
  cp: 'cp -r',
  stat: 'stat of every file (find -printf)',
  git: 'plain git commit --allow-empty',
  'skopeo-push': 'skopeo copy oci: → registry',
  'skopeo-pull': 'skopeo copy registry → oci:',
  'sha256-1': 'openssl sha256 of the changed file',
  'cp-1': 'cp of the changed file',
  'changed-bytes': 'size of the changed file',
};

export async function runFloors({ ds, rep, ctx, results, have }) {
  const dir = join(ctx.runsDir, `floor-${ds.id}-r${rep}`);
  rmrf(dir);
  mkdirSync(dir, { recursive: true });
  procDefaults.log = join(ctx.logsDir, `floor-${ds.id}-r${rep}.log`);
  rmrf(procDefaults.log);
  const env = ctx.env;
  const src = join(ds.root, ds.path);
  const changed = join(ds.root, ds.change.rel);
  const rec = (id, row, cmds, times = 1) => {
    try {
      for (let i = 0; i < times; i++) {
        syncDisks();
        results.time(ds.id, row, `floor:${id}`, runStep(cmds, { env, cwd: dir }));
      }
    } catch (e) {
      results.error(ds.id, row, `floor:${id}`, e instanceof StepError ? e.cell : `error: ${e.message}`);
    }
  };
  const skip = (id, rows, why) => rows.forEach((row) => results.na(ds.id, row, `floor:${id}`, why));

  try {
    if (have.openssl) {
      const hashAll = ds.isDir
        ? [{ argv: ['bash', '-c', 'find "$1" -type f -print0 | sort -z | xargs -0 openssl dgst -sha256 > /dev/null', 'sha256-floor', src] }]
        : [{ argv: ['openssl', 'dgst', '-sha256', src] }];
      rec('sha256', 'add', hashAll);
      rec('sha256-1', 'readd', [{ argv: ['openssl', 'dgst', '-sha256', changed] }]);
      rec('sha256-1', 'dirty', [{ argv: ['openssl', 'dgst', '-sha256', changed] }]);
    } else {
      skip('sha256', ['add'], 'n/a: openssl not available');
      skip('sha256-1', ['readd', 'dirty'], 'n/a: openssl not available');
    }

    const copy = join(dir, 'copy');
    for (const row of ['add', 'push', 'clone']) {
      rmrf(copy);
      rec('cp', row, [{ argv: ['cp', '-r', src, copy] }]);
    }
    rmrf(copy);
    rec('stat', 'status', [{ argv: ['find', src, '-type', 'f', '-printf', '%s %T@ %i\n'] }], 3);

    const one = join(dir, 'one.bin');
    for (const row of ['switch', 'push2']) {
      rmrf(one);
      rec('cp-1', row, [{ argv: ['cp', changed, one] }], row === 'switch' ? 2 : 1);
    }
    const size = statSync(changed).size;
    results.bytes(ds.id, 'growth', 'floor:changed-bytes', size);
    results.bytes(ds.id, 'upload', 'floor:changed-bytes', size);
    results.bytes(ds.id, 'renameUpload', 'floor:none', 0);

    const repo = join(dir, 'plain-git');
    mkdirSync(repo);
    sh(['git', 'init', '-q', repo], { env });
    writeFileSync(join(repo, 'README'), 'plain git\n');
    sh(['git', 'add', 'README'], { env, cwd: repo });
    sh(['git', 'commit', '-q', '-m', 'init'], { env, cwd: repo });
    rec('git', 'noop', [{ argv: ['git', 'commit', '-q', '--allow-empty', '-m', 'no-op'], cwd: repo }], 3);
    rec(
      'git',
      'rename',
      [
        { argv: ['git', 'mv', 'README', 'README.md'], cwd: repo },
        { argv: ['git', 'commit', '-q', '-m', 'rename'], cwd: repo },
      ],
      1,
    );

    if (!have.skopeo || !have.registry) {
      const why = `n/a: ${!have.skopeo ? 'skopeo' : 'docker-registry'} not available`;
      skip('skopeo-push', ['push'], why);
      skip('skopeo-pull', ['clone'], why);
    } else {
      const layout = ctx.layoutDir(ds);
      if (!ctx.layoutInfo[ds.id]) {
        if (!ctx.skopeoBlobs[ds.id]) {
          log(`  floor/${ds.id}: no mk blobs to copy; using one blob per file for the skopeo floor`);
          rmrf(layout);
          const files = ds.files.map((f) => join(ds.root, f.rel));
          await collectBlobs(layout, { files });
          ctx.skopeoBlobs[ds.id] = 'one blob per file';
        }
        ctx.layoutInfo[ds.id] = finishLayout(layout);
        log(`  floor/${ds.id}: skopeo layout: ${ctx.layoutInfo[ds.id].layers} blobs, ${fmtBytes(ctx.layoutInfo[ds.id].bytes)} (${ctx.skopeoBlobs[ds.id]})`);
      }
      let reg;
      try {
        reg = await startRegistry(join(ctx.remoteRoot, `floor-${ds.id}-r${rep}`, 'registry'));
        const ref = `docker://${reg.host}/bench/floor:v1`;
        rec('skopeo-push', 'push', [{ argv: ['skopeo', 'copy', '-q', '--dest-tls-verify=false', `oci:${layout}:v1`, ref] }]);
        const pulled = join(dir, 'pulled');
        rec('skopeo-pull', 'clone', [{ argv: ['skopeo', 'copy', '-q', '--src-tls-verify=false', ref, `oci:${pulled}:v1`] }]);
        if (!existsSync(join(pulled, 'index.json'))) results.note(ds.id, 'clone', 'floor:skopeo-pull', 'pull produced no layout');
      } catch (e) {
        skip('skopeo-push', ['push'], `error: ${e.message}`);
        skip('skopeo-pull', ['clone'], `error: ${e.message}`);
      } finally {
        await reg?.stop();
        if (!ctx.keep) rmrf(join(ctx.remoteRoot, `floor-${ds.id}-r${rep}`));
      }
    }
  } finally {
    if (!ctx.keep) rmrf(dir);
  }
}
