/**
 * The fault suite's own teardown: a lane still running when the suite is torn down (its test
 * failed by a hang guard) must not go on into folders the teardown removes. Before, it did:
 * two CI runs (seeds 621719 and 139977) reported `kill: mk pull (layout)` trials whose work
 * tree was "missing" every file, recorded after the teardown had removed the clone under them.
 * Now the tally stops starting trials, and the teardown waits for the trial in flight.
 */
import { describe, expect, it } from 'vitest';
import { Tally } from './support.js';

describe('the fault tally when the suite is torn down', () => {
  it('a category finishes the trial in flight and starts no other once the tally is stopping', async () => {
    const tally = new Tally();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = 0;
    let finished = 0;
    const lane = tally.category(
      'a category',
      10,
      async (t) => {
        started++;
        if (started === 2) await gate; // the teardown begins while this trial runs
        t.injected = true;
        t.kind = 'a fault';
        finished++;
      },
      () => undefined,
    );
    // Wait (on events, not time) until the second trial is in flight.
    while (started < 2) await new Promise((r) => setImmediate(r));
    tally.stopping = true;
    release();
    const s = await lane;
    expect(started).toBe(2);
    expect(finished).toBe(2);
    expect(s).toMatchObject({ trials: 2, injected: 2, recovered: 2, failures: 0 });
    expect(tally.failures).toEqual([]);
  });
});
