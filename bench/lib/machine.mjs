// What the numbers were measured on: hardware, kernel, filesystem, tool versions.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { firstLine } from './proc.mjs';
import { fmtBytes, nowIso } from './util.mjs';

function read(p) {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

export function loadAverage() {
  return read('/proc/loadavg').split(' ').slice(0, 3).join(' ') || '?';
}

/** Filesystem type, device and mount point of `dir` (from `df -T`). */
export function filesystemOf(dir) {
  const r = spawnSync('df', ['-T', '-P', dir]);
  const line = r.stdout?.toString().trim().split('\n')[1];
  if (!line) return { type: '?', device: '?', mount: '?', avail: '?' };
  const f = line.split(/\s+/);
  return { device: f[0], type: f[1], avail: fmtBytes(Number(f[4]) * 1024), mount: f[6] };
}

export function machineInfo({ workDir, tools }) {
  const cpuinfo = read('/proc/cpuinfo');
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? '?';
  const flags = /flags\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.split(/\s+/) ?? [];
  const memKb = Number(/MemTotal:\s+(\d+)/.exec(read('/proc/meminfo'))?.[1]);
  const nproc = firstLine(['nproc']) ?? String(cpus().length);
  const fs = filesystemOf(workDir);
  const v = (argv, re) => {
    const l = firstLine(argv);
    if (!l) return 'not available';
    const m = re ? re.exec(l) : null;
    return m ? m[1] : l;
  };
  return {
    date: nowIso(),
    nproc,
    cpu: model,
    shaExtensions: flags.includes('sha_ni') ? 'yes (sha_ni)' : 'no',
    aes: flags.includes('aes') ? 'yes' : 'no',
    ram: fmtBytes(Number.isFinite(memKb) ? memKb * 1024 : totalmem()),
    kernel: firstLine(['uname', '-r']) ?? '?',
    os: /PRETTY_NAME="?([^"\n]+)/.exec(read('/etc/os-release'))?.[1] ?? '?',
    workDir,
    fs,
    versions: {
      node: process.version,
      git: v(['git', '--version'], /git version (\S+)/),
      'git-lfs': v(['git', 'lfs', 'version'], /git-lfs\/(\S+)/),
      dvc: tools.dvc ? v([tools.dvc, '--version']) : 'not available',
      skopeo: v(['skopeo', '--version'], /version (\S+)/),
      'docker-registry': v(['/usr/bin/docker-registry', '--version'], /(v?\d+\.\d+\.\d+\S*)/),
      openssl: v(['openssl', 'version'], /OpenSSL (\S+)/),
    },
  };
}
