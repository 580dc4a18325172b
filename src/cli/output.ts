/** The only place that writes to stdout/stderr for commands. */
export const out = {
  line(s = ''): void {
    process.stdout.write(s + '\n');
  },
  json(v: unknown): void {
    process.stdout.write(JSON.stringify(v, null, 2) + '\n');
  },
  err(s: string): void {
    process.stderr.write(s + '\n');
  },
};
