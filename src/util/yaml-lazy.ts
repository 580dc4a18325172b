import { createRequire } from 'node:module';

type YamlModule = typeof import('yaml');
let mod: YamlModule | undefined;

/** The yaml library, loaded on first use (it costs ~100 ms to load; most commands never need it). */
export function yamlLib(): YamlModule {
  if (!mod) mod = createRequire(import.meta.url)('yaml') as YamlModule;
  return mod;
}
