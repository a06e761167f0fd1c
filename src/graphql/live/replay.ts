import { comparePositions, type StoredEvent } from '../../modules/events/event';
import type { EventRelay } from '../../modules/live/event-relay';
import { toEventObject } from '../../modules/live/live.types';
import { consentAllows, matches, mergeAdds, type FanOut, type Subscription } from './fan-out';

const REPLAY_PAGE = 200;

/**
 * Sends the stored events after the subscriber's cursor, page by page, up to the relay's head,
 * then registers it for live events at that very position (no await in between).
 */
export async function replay(sub: Subscription, relay: EventRelay, fanOut: FanOut, maxBufferBytes: number): Promise<void> {
  for (;;) {
    if (sub.done) return;
    const head = relay.head;
    if (comparePositions(sub.last, head) >= 0) {
      fanOut.register(sub);
      return;
    }
    const events = await relay.history(sub.last, head, { topic: sub.topic, customerIds: sub.customerIds ?? undefined }, REPLAY_PAGE);
    const wanted: StoredEvent[] = [];
    let reached = events.length < REPLAY_PAGE ? head : events[events.length - 1]?.position ?? head;
    for (const e of events) {
      const added = mergeAdds(sub, e);
      if (matches(sub, e)) wanted.push(e);
      if (added.length) {
        // Later events of the newly followed customer were not part of this read: read again from here.
        for (const cid of added) sub.customerIds!.add(cid);
        reached = e.position;
        break;
      }
    }
    const sent = (await consentAllows(wanted.map((e) => ({ sub, customerId: e.customerId, e })), fanOut.consents)).map((p) => p.e);
    if (sent.length) {
      const ctx = fanOut.context(sub.conn.principal!);
      const results = await Promise.all(sent.map((e) => fanOut.execute(sub, toEventObject(e), ctx)));
      for (const r of results) fanOut.next(sub, JSON.stringify(r), true);
      // Back-pressure instead of a cut-off: a replay is read at the client's pace.
      while (!sub.done && sub.conn.buffered > maxBufferBytes / 2) await new Promise((r) => setTimeout(r, 20));
    }
    sub.last = reached;
  }
}
