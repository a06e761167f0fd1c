import { createHash } from 'node:crypto';

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
  /** Interactions of the journey, in order (follow-ups after the purchase included). */
  interactionIds: string[];
  /** Digest of everything above: a stored journey with the same signature needs no write. */
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
 * Groups a customer's interactions (sorted by time, then id) into purchase journeys as of `until`:
 * a journey opens at the first step interaction after the previous one closed,
 * converts at a PURCHASE, and is abandoned `abandonAfterMs` after its last touch without one.
 * Follow-ups (survey, review, support, refund) belong to the converted journey they follow;
 * interactions without a step (REFERRAL, CUSTOM…) to the open journey, if any.
 */
export function deriveJourneys(touches: readonly JourneyTouch[], abandonAfterMs: number, until: number): Derivation {
  const done: Building[] = [];
  const journeyOf = new Map<string, string>();
  let open: Building | null = null;
  let lastConverted: Building | null = null;

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
    const signature = createHash('sha1').update(JSON.stringify(derived)).digest('hex');
    return { ...derived, signature };
  });
  return { journeys, journeyOf, nextAbandonAt };
}
