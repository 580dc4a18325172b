// A throwaway CNCF distribution registry on a free 127.0.0.1 port with a temporary root,
// and an OCI image layout builder for the skopeo floor.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, linkSync, copyFileSync, mkdirSync, openSync, readdirSync, statSync, writeFileSync, closeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { sha256File } from './util.mjs';

export const REGISTRY_BIN = '/usr/bin/docker-registry';

const running = new Set();
export function stopAllRegistries() {
  for (const c of running) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  running.clear();
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts a registry whose storage lives in `dir/root`; resolves once /v2/ answers. */
export async function startRegistry(dir) {
  mkdirSync(dir, { recursive: true });
  const root = join(dir, 'root');
  mkdirSync(root, { recursive: true });
  let lastErr;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const cfg = join(dir, 'config.yml');
    writeFileSync(
      cfg,
      [
        'version: 0.1',
        'log:',
        '  level: error',
        '  accesslog:',
        '    disabled: true',
        'storage:',
        '  filesystem:',
        `    rootdirectory: ${root}`,
        '  delete:',
        '    enabled: true',
        'http:',
        `  addr: 127.0.0.1:${port}`,
        '',
      ].join('\n'),
    );
    const logFd = openSync(join(dir, 'registry.log'), 'a');
    const child = spawn(REGISTRY_BIN, ['serve', cfg], { stdio: ['ignore', logFd, logFd] });
    closeSync(logFd);
    running.add(child);
    let exited = false;
    child.on('exit', () => {
      exited = true;
      running.delete(child);
    });
    const deadline = Date.now() + 15000;
    while (Date.now() < deadline && !exited) {
      try {
        const r = await fetch(`http://127.0.0.1:${port}/v2/`);
        if (r.status === 200) {
          const stop = () =>
            new Promise((resolve) => {
              if (exited) return resolve();
              const t = setTimeout(() => child.kill('SIGKILL'), 5000);
              child.once('exit', () => {
                clearTimeout(t);
                resolve();
              });
              child.kill('SIGTERM');
            });
          return { host: `127.0.0.1:${port}`, port, root, pid: child.pid, stop };
        }
      } catch (e) {
        lastErr = e;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGKILL');
    lastErr = new Error(exited ? `docker-registry exited at start (see ${join(dir, 'registry.log')})` : 'docker-registry did not answer within 15 s');
  }
  throw lastErr;
}

function place(src, dst) {
  if (existsSync(dst)) return;
  try {
    linkSync(src, dst);
  } catch {
    copyFileSync(src, dst);
  }
}

/**
 * Collects blobs for the skopeo floor into `layoutDir/blobs/sha256` (hardlinks where possible):
 * `fromCacheBlobs` is an OCI blobs/sha256 folder (mk's cache: "the same blobs" mk pushes),
 * or else `files` are hashed and stored one blob per file.
 */
export async function collectBlobs(layoutDir, { fromCacheBlobs, files }) {
  const blobs = join(layoutDir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  if (fromCacheBlobs && existsSync(fromCacheBlobs)) {
    for (const name of readdirSync(fromCacheBlobs)) if (/^[0-9a-f]{64}$/.test(name)) place(join(fromCacheBlobs, name), join(blobs, name));
  } else {
    for (const f of files) place(f, join(blobs, await sha256File(f)));
  }
}

/** Writes oci-layout, index.json and a manifest (tag `v1`) whose layers are every blob in the layout. */
export function finishLayout(layoutDir) {
  const blobs = join(layoutDir, 'blobs', 'sha256');
  const config = Buffer.from('{}');
  const cdig = createHash('sha256').update(config).digest('hex');
  writeFileSync(join(blobs, cdig), config);
  const layers = readdirSync(blobs)
    .filter((n) => /^[0-9a-f]{64}$/.test(n) && n !== cdig)
    .sort()
    .map((n) => ({ mediaType: 'application/vnd.kitops.modelkit.dataset.v1.tar', digest: `sha256:${n}`, size: statSync(join(blobs, n)).size }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      artifactType: 'application/vnd.mk.bench.v1',
      config: { mediaType: 'application/vnd.kitops.modelkit.config.v1+json', digest: `sha256:${cdig}`, size: config.length },
      layers,
    }),
  );
  const mdig = createHash('sha256').update(manifest).digest('hex');
  writeFileSync(join(blobs, mdig), manifest);
  writeFileSync(join(layoutDir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(layoutDir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${mdig}`, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'v1' } }],
    }),
  );
  return { layers: layers.length, bytes: layers.reduce((a, l) => a + l.size, 0) };
}
