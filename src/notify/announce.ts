import type { RepoContext } from '../repo/context.js';
import { deliver, type Delivery } from './deliver.js';
import { publishEvent, pusher, type EventContext, type Published } from './event.js';
import { openLineageEvent } from './openlineage.js';

/** What was announced for one published ModelKit: one delivery per `notify:` target. */
export interface Announcement {
  commit: string;
  deliveries: Delivery[];
}

/**
 * Announces published ModelKits to every `notify:` target: mk's JSON event or an OpenLineage
 * RunEvent, each target at once, each event in turn. Which ModelKits: those a ref names (the head
 * of each pushed branch or tag), else the last one (a push of HEAD); a branch of fifty new commits
 * is one announcement, not fifty. Never throws: a target that cannot be reached is a delivery that
 * says why.
 */
export async function announce(ctx: RepoContext, published: Published[], e: EventContext, version: string): Promise<Announcement[]> {
  const targets = ctx.config.notify;
  if (!targets.length || !published.length) return [];
  const named = published.filter((m) => m.tags.length > 1);
  const chosen = named.length ? named : [published.at(-1)!];
  const who = await pusher(ctx.root);
  const out: Announcement[] = [];
  for (const m of chosen) {
    const event = await publishEvent(ctx, m, { ...e, ref: e.ref ?? (m.tags.length > 1 ? m.tags[1] : undefined) }, who);
    const bodies = { json: JSON.stringify(event), openlineage: JSON.stringify(openLineageEvent(event, version)) };
    const meta = { id: event.id, event: event.type, userAgent: `mk/${version}` };
    out.push({ commit: m.commit, deliveries: await Promise.all(targets.map((t) => deliver(t, bodies[t.format], meta))) });
  }
  return out;
}

/** What to say about announcements: a line per delivery, warnings apart (a push never fails for them). */
export function announcementLines(all: Announcement[]): { done: string[]; warnings: string[] } {
  const done: string[] = [];
  const warnings: string[] = [];
  for (const a of all)
    for (const d of a.deliveries) {
      const what = `${a.commit.slice(0, 12)} to ${d.to} (${d.format})`;
      if (d.warning) warnings.push(`${d.to}: ${d.warning}`);
      if (d.delivered) done.push(`announced ${what}`);
      else warnings.push(`could not announce ${what}: ${d.problem ?? 'no answer'}, after ${d.attempts} attempt(s); the push itself succeeded`);
    }
  return { done, warnings };
}
