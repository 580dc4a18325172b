/**
 * Registries cap a manifest at about 4 MiB. A ModelKit has one layer per pack or raw file, so
 * what keeps big datasets publishable is the grouping: a synthetic 1,000,000-file dataset (only
 * the plan, no files on disk) stays far inside it. (A real 20,000-file one, built by mk:
 * test/e2e/modelkit/manifest-size.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { planGroups } from '../../../src/formats/grouping.js';
import { DEFAULT_CONFIG } from '../../../src/repo/config.js';
import { kitLayerType, MediaType } from '../../../src/content/media-types.js';
import type { Descriptor } from '../../../src/content/descriptor.js';
import { encodeManifest } from '../../../src/modelkit/json.js';
import { ANN } from '../../../src/modelkit/builder.js';
import { rng } from '../../support/files.js';

const LIMIT = 4 * 1024 * 1024;
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;

/** Sizes with a long tail: mostly a few KiB, some hundreds of KiB, a few tens of MiB; mean near 16 KiB. */
function syntheticSize(rand: () => number): number {
  const u = rand();
  if (u < 0.0002) return 8 * 1024 * 1024 + Math.floor(rand() * 24 * 1024 * 1024); // 0.02%: 8-32 MiB
  if (u < 0.02) return 64 * 1024 + Math.floor(rand() * 192 * 1024); // ~2%: 64-256 KiB
  return 256 + Math.floor(-Math.log(1 - rand()) * 8 * 1024); // exponential, mean ~8 KiB
}

/** The descriptors the builder writes for a directory's groups (see artifactLayers in builder.ts). */
function layerDescriptors(dirPath: string, groups: ReturnType<typeof planGroups<{ path: string; size: number }>>): Descriptor[] {
  let n = 0;
  const fakeDigest = () => 'sha256:' + (n++).toString(16).padStart(64, '0');
  return groups.map((g) => {
    if (g.format === 'tar') return { mediaType: kitLayerType('dataset', 'tar'), digest: fakeDigest(), size: g.files.reduce((s, f) => s + 512 + Math.ceil(f.size / 512) * 512, 1024) };
    const f = g.files[0];
    const path = `${dirPath}/${f.path}`;
    return {
      mediaType: kitLayerType('dataset', 'raw'),
      digest: fakeDigest(),
      size: f.size,
      annotations: {
        [ANN.fileMetadata]: `{"name":${JSON.stringify(path.split('/').pop())},"mode":420,"uid":0,"gid":0,"size":${f.size},"mtime":"1970-01-01T00:00:00Z","typeflag":48}`,
        [ANN.filepath]: path,
      },
    };
  });
}

describe('a 1,000,000-file dataset (planned, not written)', () => {
  it('is grouped into layers whose manifest stays inside 4 MiB with the default settings', () => {
    const rand = rng(1_000_000);
    const files: Array<{ path: string; size: number }> = [];
    let total = 0;
    // 4 splits x 1,000 shards x 250 samples, generated in path order (as the builder lists them).
    for (let split = 0; split < 4; split++)
      for (let shard = 0; shard < 1000; shard++) {
        const dir = `split_${split}/shard_${String(shard).padStart(4, '0')}/`;
        for (let j = 0; j < 250; j++) {
          const size = syntheticSize(rand);
          total += size;
          files.push({ path: `${dir}sample_${String((split * 1000 + shard) * 250 + j).padStart(7, '0')}.webp`, size });
        }
      }
    expect(files).toHaveLength(1_000_000);
    const t0 = Date.now();
    const groups = planGroups(files, { rawThreshold: DEFAULT_CONFIG.rawThreshold, packTarget: DEFAULT_CONFIG.packTarget });
    const planMs = Date.now() - t0;
    expect(groups.reduce((s, g) => s + g.files.length, 0)).toBe(1_000_000);
    const layers = layerDescriptors('data/corpus', groups);
    const config: Descriptor = { mediaType: MediaType.kitConfig, digest: 'sha256:' + 'c'.repeat(64), size: 123_456 };
    const annotations = {
      [ANN.created]: '2025-01-01T00:00:00Z',
      [ANN.revision]: 'f'.repeat(40),
      [ANN.source]: 'https://git.example.com/team/a-project-with-a-long-name',
      [ANN.title]: 'a-project-with-a-long-name',
    };
    const bytes = encodeManifest(config, layers, annotations);
    const raw = groups.filter((g) => g.format === 'raw').length;
    console.log(
      `1,000,000 files, ${(total / 2 ** 30).toFixed(1)} GiB (mean ${kib(total / 1_000_000)}): ` +
        `${groups.length} layers (${raw} raw), manifest ${kib(bytes.length)} (limit 4096 KiB); planned in ${planMs} ms`,
    );
    expect(total / 1_000_000).toBeGreaterThan(12 * 1024);
    expect(total / 1_000_000).toBeLessThan(20 * 1024);
    expect(bytes.length).toBeLessThan(LIMIT);
    expect(bytes.length).toBeLessThan(LIMIT / 4); // well inside, not just under
    JSON.parse(bytes.toString('utf8'));
  });
});
