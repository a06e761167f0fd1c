import type { CountryCode } from 'libphonenumber-js';

import { fieldPath, InputError } from '../shared/errors';
import { RecordStatus, type IngestItem, type IngestOutcome } from './ingest.service';
import type { RecordInteractionResult } from './record-result.type';
import type { InteractionData, InteractionRules } from './validate-interaction';

/**
 * What a recordInteraction call goes through around the ingest, whoever answers it: the
 * resolvers (interaction.resolver.ts, set-consent.resolver.ts) and the write lane
 * (src/graphql/fast-write/) share these, so that both give the same answers and errors.
 */

/** The server's settings a write is validated by. */
export interface InteractionConfig {
  defaultPhoneRegion: CountryCode;
  identifierBlocklist: string[];
  defaultCurrency: string;
  maxBatchSize: number;
  consentPurposes: string[];
}

const rulesOf = new WeakMap<InteractionConfig, InteractionRules>();

/** The validation rules of the server's settings, built once per settings object (not per call). */
export function interactionRules(ctx: { config: InteractionConfig }): InteractionRules {
  let rules = rulesOf.get(ctx.config);
  if (!rules) {
    rules = {
      region: ctx.config.defaultPhoneRegion,
      blocklist: new Set(ctx.config.identifierBlocklist),
      defaultCurrency: ctx.config.defaultCurrency,
      consentPurposes: new Set(ctx.config.consentPurposes),
    };
    rulesOf.set(ctx.config, rules);
  }
  return rules;
}

/** An item as the ingest takes it: its consents made when and where the interaction happened. */
export function ingestItem(data: InteractionData): IngestItem {
  return {
    identifiers: data.identifiers,
    traits: data.traits,
    interaction: data,
    consents: data.consents.map((c) => ({ ...c, at: data.occurredAt, channel: data.channel })),
    freshSignUp: data.freshSignUp,
  };
}

/** A single call refused by the ingest (a suppressed identifier): an input error on the call's own paths. */
export function throwIfRejected(outcome: IngestOutcome, base: string): void {
  if (outcome.status === RecordStatus.REJECTED) throw new InputError(outcome.problems.map((p) => ({ ...p, field: fieldPath(base, p.field) })));
}

/** `problems` of validation carry full paths already; those of the ingest are relative to the item. */
export function toResult(outcome: IngestOutcome, index: number, base: string, absoluteProblems = false): RecordInteractionResult {
  return {
    index,
    status: outcome.status,
    interactionId: outcome.interactionId,
    customerId: outcome.customerId,
    warnings: outcome.warnings.map((w) => ({ ...w, field: fieldPath(base, w.field) })),
    mergedCustomerIds: outcome.mergedCustomerIds,
    problems: outcome.problems.map((p) => ({
      code: p.field ? 'BAD_USER_INPUT' : 'INTERNAL_SERVER_ERROR',
      field: !p.field ? base : absoluteProblems ? p.field : fieldPath(base, p.field),
      message: p.message,
      reason: p.reason ?? null,
    })),
  };
}
