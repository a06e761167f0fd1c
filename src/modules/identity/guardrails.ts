import { IDENTIFIER_PRIORITY, IdentifierType } from './identifier-type.enum';
import type { NormalizedIdentifier } from './validate-identifiers';

/** Per-type caps on how many identifiers one customer may hold. */
export type IdentifierLimits = Record<IdentifierType, number>;

export enum WarningCode {
  BLOCKLISTED_IDENTIFIER = 'BLOCKLISTED_IDENTIFIER',
  IDENTIFIER_LIMIT_REACHED = 'IDENTIFIER_LIMIT_REACHED',
  MERGE_REFUSED = 'MERGE_REFUSED',
}

export interface Warning {
  code: WarningCode;
  message: string;
  /** Field path inside the item, e.g. `identifiers[1]`. */
  field: string;
}

/** Identifier counts per type, of one customer or of customers a merge would join. */
export type IdentifierCounts = Partial<Record<string, number>>;

const field = (identifier: NormalizedIdentifier) => `identifiers[${identifier.index}]`;

/**
 * BLOCKLISTED_IDENTIFIER: a junk value (test@test.com, 0000000000…) is kept on the interaction but
 * never matches or links anyone, or every careless form would be one giant customer.
 */
export function checkBlocklist(identifier: NormalizedIdentifier): Warning | null {
  if (!identifier.blocklisted) return null;
  return {
    code: WarningCode.BLOCKLISTED_IDENTIFIER,
    field: field(identifier),
    message: `${identifier.type} "${identifier.raw}" is on the blocklist of junk values: kept on the interaction, not used to match or link anyone`,
  };
}

/**
 * IDENTIFIER_LIMIT_REACHED: a customer holding more identifiers of a type than a person plausibly
 * has is a shared device or a data error; the new one is not attached.
 */
export function checkIdentifierLimit(identifier: NormalizedIdentifier, counts: IdentifierCounts, limits: IdentifierLimits): Warning | null {
  const limit = limits[identifier.type];
  if ((counts[identifier.type] ?? 0) < limit) return null;
  return {
    code: WarningCode.IDENTIFIER_LIMIT_REACHED,
    field: field(identifier),
    message: `${identifier.type} "${identifier.value}" not attached: the customer already holds ${limit} ${identifier.type} identifier(s), the limit`,
  };
}

/** The identifier types a merge of customers holding `counts` (summed) would take over their limit. */
export function typesOverLimit(counts: IdentifierCounts, limits: IdentifierLimits): Array<[IdentifierType, number]> {
  return Object.entries(counts)
    .filter(([type, n]) => n! > limits[type as IdentifierType])
    .map(([type, n]) => [type as IdentifierType, n!]);
}

export interface MergeRefusal {
  /** The customer the item goes to: the owner of its highest-priority identifier. */
  customerId: string;
  otherCustomerIds: string[];
  /** The identifiers that would have linked the others, in item order. */
  conflicting: NormalizedIdentifier[];
  reason: string;
  warnings: Warning[];
}

/**
 * MERGE_REFUSED: when linking an item's identifiers would merge customers into one over a
 * per-type limit (`overLimit`, from `typesOverLimit`), nothing is merged: the item goes to the
 * owner of its most trusted identifier and the conflict is reported on each identifier left out.
 */
export function refuseMerge(
  owned: ReadonlyArray<{ identifier: NormalizedIdentifier; customerId: string }>,
  involved: readonly string[],
  overLimit: ReadonlyArray<[IdentifierType, number]>,
  limits: IdentifierLimits,
): MergeRefusal {
  const priority = (type: IdentifierType) => IDENTIFIER_PRIORITY.indexOf(type);
  const best = [...owned].sort((a, b) => priority(a.identifier.type) - priority(b.identifier.type) || a.identifier.index - b.identifier.index)[0];
  const target = best.customerId;
  const others = involved.filter((id) => id !== target);
  const conflicting = owned.filter((o) => o.customerId !== target).map((o) => o.identifier);
  const detail = overLimit.map(([type, n]) => `${n} ${type} (limit ${limits[type]})`).join(', ');
  const reason =
    `linking ${conflicting.map((i) => `${i.type} "${i.value}"`).join(', ')} would merge customers ` +
    `${[target, ...others].join(', ')} into one holding ${detail}; not merged, recorded on the customer of ` +
    `${best.identifier.type} "${best.identifier.value}"`;
  return {
    customerId: target,
    otherCustomerIds: others,
    conflicting,
    reason,
    warnings: conflicting.map((i) => ({ code: WarningCode.MERGE_REFUSED, field: field(i), message: reason })),
  };
}
