import { byTimeThenId, DAY_MS } from '../shared/time';
import { JourneyStatus } from './journey-step.enum';
import { deriveJourneys, type Derivation, type DerivedJourney, type JourneyTouch } from './derive';

/** A customer's interactions and stored journeys, as loaded. */
export interface JourneyInput {
  touches: Array<JourneyTouch & { journeyId: string | null }>;
  /** Stored journey id → signature. */
  stored: Map<string, string>;
}

/**
 * The stored journeys an append can change, as rows (with their stored signatures): the latest
 * one and the latest converted one (possibly the same), and the time of the latest stored
 * interaction.
 */
export interface JourneyCheckpoint {
  latest: DerivedJourney | null;
  lastConverted: DerivedJourney | null;
  lastInteractionAt: number;
}

/**
 * What a late interaction's journeys are derived from: the pass over the customer's interactions
 * stands, just before the first late one, on the latest journey started before it and the latest
 * converted one; each is rebuilt from its own interactions before that point. Every later
 * interaction is passed over again, and only the journeys those can change are compared.
 */
export interface JourneyReplay {
  /** The latest journey started before the first late interaction, and the one its latest earlier purchase converted (possibly the same, or none). */
  latestId: string | null;
  convertedId: string | null;
  /** Their interactions before the first late one, by time then id. */
  prior: Array<JourneyTouch & { journeyId: string | null }>;
  /** The time of the latest stored interaction before the first late one. */
  lastBeforeAt: number | null;
  /** The stored interactions from the first late one on, by time then id. */
  tail: Array<JourneyTouch & { journeyId: string | null }>;
  /** Stored journey id → signature: those started from the first late interaction on, and the two above. */
  stored: Map<string, string>;
}

/** What to write for one customer. */
export interface JourneyOutcome {
  customerId: string;
  upsert: DerivedJourney[];
  deleteIds: string[];
  /** Existing interactions whose journey changed. */
  reassign: Array<{ interactionId: string; journeyId: string | null }>;
  /** Journey of each interaction not stored yet. */
  journeyOfPending: Map<string, string>;
  nextAbandonAt: number | null;
}

/**
 * What to write after a pass: the journeys whose row differs from `stored` (id → signature), those
 * of `deletable` the pass no longer gives, the stored interactions passed over (`storedTouches`)
 * whose journey changed, and the journeys of the pending ones.
 */
function outcome(
  customerId: string,
  { journeys, journeyOf, nextAbandonAt }: Derivation,
  stored: ReadonlyMap<string, string>,
  storedTouches: ReadonlyArray<{ interactionId: string; journeyId: string | null }>,
  pending: readonly JourneyTouch[],
  deletable: readonly string[],
): JourneyOutcome {
  const computedIds = new Set(journeys.map((j) => j.id));
  const pendingIds = new Set(pending.map((p) => p.interactionId));
  return {
    customerId,
    upsert: journeys.filter((j) => stored.get(j.id) !== j.signature),
    deleteIds: deletable.filter((id) => !computedIds.has(id)),
    reassign: storedTouches
      .filter((t) => (journeyOf.get(t.interactionId) ?? null) !== t.journeyId)
      .map((t) => ({ interactionId: t.interactionId, journeyId: journeyOf.get(t.interactionId) ?? null })),
    journeyOfPending: new Map([...journeyOf].filter(([id]) => pendingIds.has(id))),
    nextAbandonAt,
  };
}

/**
 * Keeps each customer's purchase journeys equal to what grouping all its interactions in time
 * order gives, so that arrival order never matters: from the whole history (`compute`), from the
 * stored rows after an append (`resume`), or passed over again from a late interaction
 * (`replay`); written as a diff (journeys keep the id of their first interaction).
 */
export class JourneyService {
  private readonly abandonAfterMs: number;

  constructor(abandonAfterDays: number) {
    this.abandonAfterMs = abandonAfterDays * DAY_MS;
  }

  /** Journeys as of `until`, with `pending` interactions (not stored yet) added. */
  compute(customerId: string, input: JourneyInput, pending: readonly JourneyTouch[], until: number): JourneyOutcome {
    const touches: Array<JourneyTouch & { journeyId?: string | null }> = [...input.touches, ...pending];
    touches.sort(byTimeThenId);
    return outcome(customerId, deriveJourneys(touches, this.abandonAfterMs, until), input.stored, input.touches, pending, [...input.stored.keys()]);
  }

  /**
   * `compute` of the whole history, for interactions of which some sort before stored ones.
   * Grouping is a left-to-right pass: up to the first late interaction it is what it was, so the
   * journeys started before it stay but for the latest one and the latest converted one (the
   * only ones a later interaction can join), which are rebuilt as they stood then. The pass goes
   * on from there over the stored interactions after that point and the pending ones.
   */
  replay(customerId: string, replay: JourneyReplay, pending: readonly JourneyTouch[], until: number): JourneyOutcome {
    const rebuild = (id: string | null): DerivedJourney | null => {
      if (id === null) return null;
      return deriveJourneys(replay.prior.filter((t) => t.journeyId === id), this.abandonAfterMs, -Infinity).journeys.find((j) => j.id === id) ?? null;
    };
    const latest = rebuild(replay.latestId);
    const lastConverted = replay.convertedId === replay.latestId ? latest : rebuild(replay.convertedId);
    const open =
      latest && latest.status !== JourneyStatus.CONVERTED && replay.lastBeforeAt !== null && replay.lastBeforeAt - latest.lastTouchAt <= this.abandonAfterMs ? latest : null;
    const touches: JourneyTouch[] = [...replay.tail, ...pending];
    touches.sort(byTimeThenId);
    const derived = deriveJourneys(touches, this.abandonAfterMs, until, { open, lastConverted });
    // Only journeys started from the late interaction on can be gone: the two it stands on stay
    // (an abandoned latest one is not carried on, and is left as stored).
    const deletable = [...replay.stored.keys()].filter((id) => id !== replay.latestId && id !== replay.convertedId);
    return outcome(customerId, derived, replay.stored, replay.tail, pending, deletable);
  }

  /**
   * `compute` of the whole history, from a checkpoint: valid when every pending interaction
   * sorts after every stored one. Grouping is a left-to-right pass, so the stored interactions
   * keep their journeys and the pass goes on from where it stood after them: the latest journey
   * is still open unless it converted or an interaction came after its deadline (its ABANDONED
   * status may only be the evaluation instant having passed that deadline), and follow-ups join
   * the latest converted one. No other journey can change.
   */
  resume(customerId: string, checkpoint: JourneyCheckpoint, pending: readonly JourneyTouch[], until: number): JourneyOutcome {
    const touches = [...pending].sort(byTimeThenId);
    const { latest, lastConverted } = checkpoint;
    const open = latest && latest.status !== JourneyStatus.CONVERTED && checkpoint.lastInteractionAt - latest.lastTouchAt <= this.abandonAfterMs ? latest : null;
    const { journeys, journeyOf, nextAbandonAt } = deriveJourneys(touches, this.abandonAfterMs, until, { open, lastConverted });
    const stored = new Map([latest, lastConverted].flatMap((j) => (j ? [[j.id, j.signature] as const] : [])));
    return {
      customerId,
      upsert: journeys.filter((j) => stored.get(j.id) !== j.signature),
      deleteIds: [],
      reassign: [],
      journeyOfPending: journeyOf,
      nextAbandonAt,
    };
  }
}
