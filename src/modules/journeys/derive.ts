import { createHash } from 'node:crypto';

import { fromUnits, toUnits } from '../shared/money';
import { JourneyStatus, JourneyStep, STEP_ORDER, stepOf } from './journey-step.enum';

export interface JourneyTouch {
  interactionId: string;
  type: string;
  channel: string;
  at: number;
  amount: string | null;
}

export interface DerivedJourney {
  /** The id of its first interaction: the same journey keeps the same id whatever the arrival order. */
  id: string;
  status: JourneyStatus;
  startedAt: number;
  endedAt: number | null;
  lastTouchAt: number;
  furthestStep: JourneyStep;
  steps: JourneyStep[];
  channels: string[];
  firstChannel: string;
  lastChannel: string;
  touchpoints: number;
  purchaseInteractionId: string | null;
  amount: string | null;
  /**
   * Interactions of the journey, in order (follow-ups after the purchase included); of a journey
   * resumed from its stored row (`JourneyState`), only those added since.
   */
  interactionIds: string[];
  /**
   * Digest of what the journey's row holds: a stored journey with the same signature needs no
   * write. Which interactions belong to it is kept on the interactions themselves and written
   * apart, so the digest leaves them out: a journey resumed from its row has the same one.
   */
  signature: string;
}

export interface Derivation {
  journeys: DerivedJourney[];
  /** Journey of each interaction that belongs to one. */
  journeyOf: Map<string, string>;
  /** When the open journey will be abandoned if nothing happens before. */
  nextAbandonAt: number | null;
}

interface Building extends Omit<DerivedJourney, 'signature' | 'steps' | 'channels'> {
  steps: Set<JourneyStep>;
  channels: Set<string>;
}

/**
 * Where the grouping stands after a customer's stored interactions, before time closes anything:
 * the journey still open (stored as OPEN, or ABANDONED only because the evaluation instant passed
 * its deadline, with no interaction after that) and the last converted one, which follow-ups join.
 */
export interface JourneyState {
  open: DerivedJourney | null;
  lastConverted: DerivedJourney | null;
}

const building = (j: DerivedJourney, status: JourneyStatus, endedAt: number | null): Building => ({
  id: j.id,
  status,
  startedAt: j.startedAt,
  endedAt,
  lastTouchAt: j.lastTouchAt,
  furthestStep: j.furthestStep,
  steps: new Set(j.steps),
  channels: new Set(j.channels),
  firstChannel: j.firstChannel,
  lastChannel: j.lastChannel,
  touchpoints: j.touchpoints,
  purchaseInteractionId: j.purchaseInteractionId,
  amount: j.amount,
  interactionIds: [],
});

/** The row's fields in a fixed order, amounts in one spelling ("12" and "12.0000" are the same amount). */
export function journeySignature(j: Omit<DerivedJourney, 'signature' | 'interactionIds'>): string {
  const row = [
    j.id,
    j.status,
    j.startedAt,
    j.endedAt,
    j.lastTouchAt,
    j.furthestStep,
    j.steps,
    j.channels,
    j.firstChannel,
    j.lastChannel,
    j.touchpoints,
    j.purchaseInteractionId,
    j.amount === null ? null : fromUnits(toUnits(j.amount)),
  ];
  return createHash('sha1').update(JSON.stringify(row)).digest('hex');
}

/**
 * Groups a customer's interactions (sorted by time, then id) into purchase journeys as of `until`:
 * a journey opens at the first step interaction after the previous one closed,
 * converts at a PURCHASE, and is abandoned `abandonAfterMs` after its last touch without one.
 * Follow-ups (survey, review, support, refund) belong to the converted journey they follow;
 * interactions without a step (REFERRAL, CUSTOM…) to the open journey, if any.
 *
 * With `from`, `touches` are interactions that come after all those `from` was taken from, and
 * the result holds the journeys they or time can change: the last converted and the open one of
 * `from` (written again only if their signature changed) and the journeys they open.
 */
export function deriveJourneys(touches: readonly JourneyTouch[], abandonAfterMs: number, until: number, from?: JourneyState): Derivation {
  const done: Building[] = [];
  const journeyOf = new Map<string, string>();
  let open: Building | null = from?.open ? building(from.open, JourneyStatus.OPEN, null) : null;
  let lastConverted: Building | null = from?.lastConverted ? building(from.lastConverted, JourneyStatus.CONVERTED, from.lastConverted.endedAt) : null;
  if (lastConverted) done.push(lastConverted);

  const close = (status: JourneyStatus, endedAt: number) => {
    open!.status = status;
    open!.endedAt = endedAt;
    done.push(open!);
    if (status === JourneyStatus.CONVERTED) lastConverted = open;
    open = null;
  };

  for (const touch of touches) {
    if (open && touch.at - open.lastTouchAt > abandonAfterMs) close(JourneyStatus.ABANDONED, open.lastTouchAt + abandonAfterMs);
    const step = stepOf(touch.type);
    if (step === 'AFTER_PURCHASE' && lastConverted) {
      const target: Building = lastConverted;
      target.interactionIds.push(touch.interactionId);
      target.touchpoints++;
      journeyOf.set(touch.interactionId, target.id);
      continue;
    }
    if (step === null || step === 'AFTER_PURCHASE') {
      if (open) {
        open.interactionIds.push(touch.interactionId);
        open.touchpoints++;
        journeyOf.set(touch.interactionId, open.id);
      }
      continue;
    }
    if (!open) {
      open = {
        id: touch.interactionId,
        status: JourneyStatus.OPEN,
        startedAt: touch.at,
        endedAt: null,
        lastTouchAt: touch.at,
        furthestStep: step,
        steps: new Set(),
        channels: new Set(),
        firstChannel: touch.channel,
        lastChannel: touch.channel,
        touchpoints: 0,
        purchaseInteractionId: null,
        amount: null,
        interactionIds: [],
      };
    }
    const journey: Building = open;
    journey.interactionIds.push(touch.interactionId);
    journey.touchpoints++;
    journey.lastTouchAt = touch.at;
    journey.lastChannel = touch.channel;
    journey.channels.add(touch.channel);
    journey.steps.add(step);
    if (STEP_ORDER.indexOf(step) > STEP_ORDER.indexOf(journey.furthestStep)) journey.furthestStep = step;
    journeyOf.set(touch.interactionId, journey.id);
    if (step === JourneyStep.DECISION) {
      journey.purchaseInteractionId = touch.interactionId;
      journey.amount = touch.amount;
      close(JourneyStatus.CONVERTED, touch.at);
    }
  }
  let nextAbandonAt: number | null = null;
  if (open) {
    const abandonAt: number = (open as Building).lastTouchAt + abandonAfterMs;
    if (abandonAt <= until) close(JourneyStatus.ABANDONED, abandonAt);
    else {
      nextAbandonAt = abandonAt;
      done.push(open);
    }
  }

  const journeys = done.map((j) => {
    const steps = STEP_ORDER.filter((s) => j.steps.has(s));
    const channels = [...j.channels].sort();
    const derived = { ...j, steps, channels };
    return { ...derived, signature: journeySignature(derived) };
  });
  return { journeys, journeyOf, nextAbandonAt };
}
