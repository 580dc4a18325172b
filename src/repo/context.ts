import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { NotARepositoryError } from '../errors/index.js';
import type { CacheStore } from '../content/storage.js';
import { openCacheStore } from '../stores/open.js';
import { acquireLock, type Lock } from '../util/lockfile.js';
import { removeStaleTemps, writeFileAtomicSync } from '../util/fs.js';
import { registerClone } from './shared-cache.js';
import { applyConfig, DEFAULT_CONFIG, readYamlFile, type MkConfig } from './config.js';

export const TEAM_CONFIG = '.mk/config.yaml';

/** Everything a command needs to know about the repository it runs in. */
export class RepoContext {
  /** The work tree root. */
  readonly root: string;
  /** This work tree's git dir (`.git`, or `.git/worktrees/<name>` for a linked worktree). */
  readonly gitDir: string;
  /** The git dir shared by all worktrees. */
  readonly commonDir: string;
  readonly config: MkConfig;
  private cacheStore?: CacheStore;

  private constructor(root: string, gitDir: string, commonDir: string, config: MkConfig) {
    this.root = root;
    this.gitDir = gitDir;
    this.commonDir = commonDir;
    this.config = config;
  }

  /** Finds the repository that contains `cwd` without running git (fast start-up). */
  static open(cwd = process.cwd()): RepoContext {
    const found = findGit(resolve(cwd));
    if (!found) throw new NotARepositoryError(`not a git repository (or any parent up to /): ${cwd}`, "run 'git init' then 'mk init'");
    // State files (stat cache, stamps, config cache) half-written by a killed mk: their
    // temporary files go as soon as any mk runs here (those of live processes stay).
    removeStaleTemps(join(found.gitDir, 'mk'));
    if (found.commonDir !== found.gitDir) removeStaleTemps(join(found.commonDir, 'mk'));
    return new RepoContext(found.root, found.gitDir, found.commonDir, loadConfig(found));
  }

  /** mk's private folder shared by all worktrees: `.git/mk`. */
  get mkDir(): string {
    return join(this.commonDir, 'mk');
  }

  /** Per-worktree state (stat cache): `.git/mk` or `.git/worktrees/<n>/mk`. */
  get stateDir(): string {
    return join(this.gitDir, 'mk');
  }

  get localConfigPath(): string {
    return join(this.mkDir, 'config.yaml');
  }

  /** The cache directory: $MK_CACHE_DIR, else `cache.dir` of the config, else `.git/mk/cache`. */
  get cacheDir(): string {
    const env = process.env.MK_CACHE_DIR ?? this.config.cacheDir;
    if (env) return isAbsolute(env) ? env : resolve(this.root, env.replace(/^~(?=\/)/, process.env.HOME ?? '~'));
    return join(this.mkDir, 'cache');
  }

  get cache(): CacheStore {
    if (!this.cacheStore) {
      this.cacheStore = openCacheStore(this.cacheDir);
      if (this.sharedCache) registerClone(this.cacheDir, this.commonDir, this.root);
    }
    return this.cacheStore;
  }

  /** The cache is a folder other clones may use too (MK_CACHE_DIR or cache.dir), not this clone's own. */
  get sharedCache(): boolean {
    return resolve(this.cacheDir) !== resolve(join(this.mkDir, 'cache'));
  }

  get initialized(): boolean {
    return existsSync(join(this.root, TEAM_CONFIG));
  }

  /** Takes the repository lock for a command that writes (waits up to MK_LOCK_TIMEOUT seconds). */
  lock(): Promise<Lock> {
    const secs = Number(process.env.MK_LOCK_TIMEOUT ?? 60);
    return acquireLock(join(this.mkDir, 'lock'), Number.isFinite(secs) ? secs * 1000 : 60_000);
  }
}

interface Found {
  root: string;
  gitDir: string;
  commonDir: string;
}

function findGit(start: string): Found | undefined {
  let dir = start;
  for (;;) {
    const dotgit = join(dir, '.git');
    let st;
    try {
      st = statSync(dotgit);
    } catch {
      st = undefined;
    }
    if (st?.isDirectory()) return { root: dir, gitDir: dotgit, commonDir: dotgit };
    if (st?.isFile()) {
      const m = /^gitdir:\s*(.+?)\s*$/m.exec(readFileSync(dotgit, 'utf8'));
      if (m) {
        const gitDir = resolve(dir, m[1]!);
        let commonDir = gitDir;
        try {
          commonDir = resolve(gitDir, readFileSync(join(gitDir, 'commondir'), 'utf8').trim());
        } catch {
          /* not a linked worktree (e.g. a submodule) */
        }
        return { root: dir, gitDir, commonDir };
      }
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

function statKey(p: string): string {
  try {
    const st = statSync(p);
    return `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  } catch {
    return '-';
  }
}

/**
 * The effective configuration. Parsing YAML costs more than the rest of a quick command, so
 * the result is remembered in .git/mk/config-cache.json, keyed by the stat data of both files.
 */
/** Bumped when the rules that check a config change: a config cached by an older mk is read again. */
const CONFIG_RULES = 3;

function loadConfig(found: Found): MkConfig {
  const teamFile = join(found.root, TEAM_CONFIG);
  const localFile = join(found.commonDir, 'mk', 'config.yaml');
  const cacheFile = join(found.commonDir, 'mk', 'config-cache.json');
  // The defaults are part of the key: a new mk version with other defaults re-reads the files.
  const key = `${JSON.stringify(DEFAULT_CONFIG)}|${CONFIG_RULES}|${statKey(teamFile)}|${statKey(localFile)}`;
  try {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { key: string; config: MkConfig };
    if (cached.key === key) return cached.config;
  } catch {
    /* no cache yet */
  }
  let config = DEFAULT_CONFIG;
  const team = readYamlFile(teamFile);
  if (team) config = applyConfig(config, team, TEAM_CONFIG);
  const local = readYamlFile(localFile);
  if (local) config = applyConfig(config, local, localFile);
  try {
    if (existsSync(join(found.commonDir, 'mk'))) writeFileAtomicSync(cacheFile, JSON.stringify({ key, config }));
  } catch {
    /* read-only: fine */
  }
  return config;
}
