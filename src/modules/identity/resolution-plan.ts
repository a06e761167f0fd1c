import { uuidv7 } from '../../db/uuid';
import { Channel } from '../shared/channel.enum';
import type { IdentifierType } from './identifier-type.enum';
import { checkBlocklist, checkIdentifierLimit, refuseMerge, typesOverLimit, type IdentifierLimits, type Warning } from './guardrails';
import type { NormalizedIdentifier } from './validate-identifiers';

export { WarningCode, type IdentifierLimits, type Warning } from './guardrails';

/** What one item asks of identity resolution. */
export interface ResolutionRequest {
  identifiers: NormalizedIdentifier[];
  traits: Record<string, unknown> | null;
  channel: Channel | null;
  /** Pre-generated id of the interaction the item stores, null for identify. */
  interactionId: string | null;
}

/** The customers the batch touches, as read (and locked) in the database. */
export interface KnownCustomer {
  id: string;
  /** created_at in microseconds since the epoch: customers created by one batch differ by microseconds. */
  createdAtMicros: number;
  counts: Partial<Record<IdentifierType, number>>;
}

export interface PlannedMerge {
  survivorId: string;
  mergedId: string;
  link: NormalizedIdentifier;
  interactionId: string | null;
  movedIdentifiers: number;
  /** Interactions of this batch that had gone to the merged customer before the merge. */
  movedBatchInteractions: number;
  /** The merged customer exists in the database (as opposed to being created by this batch). */
  mergedExists: boolean;
}

export interface PlannedConflict {
  customerId: string;
  otherCustomerIds: string[];
  identifier: NormalizedIdentifier;
  interactionId: string | null;
  reason: string;
}

export interface ItemPlan {
  customerId: string;
  warnings: Warning[];
  mergedCustomerIds: string[];
}

export interface NewCustomer {
  id: string;
  /** ISO string with microseconds: customers created by one batch keep their order. */
  createdAt: string;
  mergedIntoId: string | null;
}

export interface ResolutionPlan {
  items: ItemPlan[];
  newCustomers: NewCustomer[];
  newIdentifiers: Array<NormalizedIdentifier & { customerId: string }>;
  merges: PlannedMerge[];
  conflicts: PlannedConflict[];
  /** Per live customer touched: traits to merge (in arrival order) and channels seen. */
  touched: Map<string, { traits: Record<string, unknown>; channels: Set<Channel>; isNew: boolean }>;
}

export const identifierKey = (i: { type: string; value: string }) => `${i.type}\u0001${i.value}`;

function isoWithMicros(ms: number, micros: number): string {
  return new Date(ms).toISOString().replace('Z', String(micros).padStart(3, '0') + 'Z');
}

/**
 * Decides, without touching the database, what a batch does to the identity graph: which items
 * go to which customer, which customers are created or merged, which identifiers are attached,
 * and what the guardrails refused. Items are applied in order, exactly as if they had arrived one
 * by one; `owners` and `customers` must describe every identifier the batch carries.
 */
export function planResolution(
  requests: Array<ResolutionRequest | null>,
  owners: Map<string, string>,
  customers: Map<string, KnownCustomer>,
  limits: IdentifierLimits,
  now: Date,
): ResolutionPlan {
  const parent = new Map<string, string>();
  const find = (id: string): string => {
    let current = id;
    while (parent.has(current)) current = parent.get(current)!;
    return current;
  };
  const state = new Map<string, { createdAt: number; seq: number; counts: Record<string, number>; batchInteractions: number; isNew: boolean }>();
  for (const c of customers.values()) {
    state.set(c.id, { createdAt: c.createdAtMicros, seq: 0, counts: { ...c.counts }, batchInteractions: 0, isNew: false });
  }
  const plan: ResolutionPlan = { items: [], newCustomers: [], newIdentifiers: [], merges: [], conflicts: [], touched: new Map() };
  const patches: Array<{ customerId: string; traits: Record<string, unknown> | null; channel: Channel | null }> = [];
  let created = 0;
  const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
  const older = (a: string, b: string) => {
    const sa = state.get(a)!;
    const sb = state.get(b)!;
    return sa.createdAt - sb.createdAt || sa.seq - sb.seq || (a < b ? -1 : 1);
  };

  for (const request of requests) {
    if (!request) {
      plan.items.push({ customerId: '', warnings: [], mergedCustomerIds: [] });
      continue;
    }
    const warnings: Warning[] = [];
    const mergedCustomerIds: string[] = [];
    const usable: NormalizedIdentifier[] = [];
    for (const identifier of request.identifiers) {
      const blocked = checkBlocklist(identifier);
      if (blocked) warnings.push(blocked);
      else usable.push(identifier);
    }
    const owned = usable.filter((i) => owners.has(identifierKey(i))).map((i) => ({ identifier: i, customerId: find(owners.get(identifierKey(i))!) }));
    const involved = [...new Set(owned.map((o) => o.customerId))].sort(older);

    let target: string;
    if (involved.length === 0) {
      target = uuidv7(now.getTime());
      created++;
      state.set(target, { createdAt: now.getTime() * 1000 + created, seq: created, counts: {}, batchInteractions: 0, isNew: true });
      plan.newCustomers.push({ id: target, createdAt: isoWithMicros(now.getTime(), created), mergedIntoId: null });
    } else if (involved.length === 1) {
      target = involved[0];
    } else {
      const sum: Record<string, number> = {};
      for (const id of involved) for (const [type, n] of Object.entries(state.get(id)!.counts)) sum[type] = (sum[type] ?? 0) + n;
      const broken = typesOverLimit(sum, limits);
      if (broken.length === 0) {
        target = involved[0];
        const survivor = state.get(target)!;
        for (const other of involved.slice(1)) {
          const loser = state.get(other)!;
          parent.set(other, target);
          plan.merges.push({
            survivorId: target,
            mergedId: other,
            link: owned.find((o) => o.customerId === other)!.identifier,
            interactionId: request.interactionId,
            movedIdentifiers: total(loser.counts),
            movedBatchInteractions: loser.batchInteractions,
            mergedExists: !loser.isNew,
          });
          for (const [type, n] of Object.entries(loser.counts)) survivor.counts[type] = (survivor.counts[type] ?? 0) + n;
          survivor.batchInteractions += loser.batchInteractions;
          mergedCustomerIds.push(other);
        }
      } else {
        const refusal = refuseMerge(owned, involved, broken, limits);
        target = refusal.customerId;
        warnings.push(...refusal.warnings);
        plan.conflicts.push({
          customerId: target,
          otherCustomerIds: refusal.otherCustomerIds,
          identifier: refusal.conflicting[0],
          interactionId: request.interactionId,
          reason: refusal.reason,
        });
      }
    }

    const counts = state.get(target)!.counts;
    for (const identifier of usable) {
      const key = identifierKey(identifier);
      if (owners.has(key)) continue;
      const full = checkIdentifierLimit(identifier, counts, limits);
      if (full) {
        warnings.push(full);
        continue;
      }
      counts[identifier.type] = (counts[identifier.type] ?? 0) + 1;
      owners.set(key, target);
      plan.newIdentifiers.push({ ...identifier, customerId: target });
    }
    if (request.interactionId) state.get(target)!.batchInteractions++;
    patches.push({ customerId: target, traits: request.traits, channel: request.channel });
    plan.items.push({ customerId: target, warnings, mergedCustomerIds });
  }

  // Everything points at the final survivors.
  for (const item of plan.items) if (item.customerId) item.customerId = find(item.customerId);
  for (const identifier of plan.newIdentifiers) identifier.customerId = find(identifier.customerId);
  for (const c of plan.newCustomers) if (parent.has(c.id)) c.mergedIntoId = find(c.id);
  for (const conflict of plan.conflicts) {
    conflict.customerId = find(conflict.customerId);
    conflict.otherCustomerIds = [...new Set(conflict.otherCustomerIds.map(find))];
  }
  for (const patch of patches) {
    const id = find(patch.customerId);
    let entry = plan.touched.get(id);
    if (!entry) plan.touched.set(id, (entry = { traits: {}, channels: new Set(), isNew: state.get(id)!.isNew }));
    if (patch.traits) Object.assign(entry.traits, patch.traits);
    if (patch.channel) entry.channels.add(patch.channel);
  }
  return plan;
}
