import DataLoader from 'dataloader';

import type { ConnectionShape } from '../shared/connection';
import type { Customer } from './customer.entity';
import type { CustomerService, InteractionPageArgs } from './customer.service';
import type { Identifier } from '../identity/identifier.entity';
import type { Merge } from '../identity/merge.entity';
import type { Interaction } from '../interactions/interaction.entity';
import type { Journey } from '../journeys/journey.entity';
import type { LifecycleTransition } from '../lifecycle/lifecycle-transition.entity';

/**
 * Per-request batching of everything nested under a customer, so that a page of N customers
 * costs the same number of SQL statements whatever N is. Built fresh for each HTTP request;
 * `cache: false` for long-lived (subscription) contexts, where cached rows would go stale.
 */
export function createLoaders(customers: CustomerService, options: { cache?: boolean } = {}) {
  const cache = options.cache ?? true;
  const ordered = <V>(ids: readonly string[], found: Map<string, V>, fallback: () => V) => ids.map((id) => found.get(id) ?? fallback());
  const interactionPages = new Map<string, DataLoader<string, ConnectionShape<Interaction>>>();
  const journeyPages = new Map<string, DataLoader<string, ConnectionShape<Journey>>>();
  return {
    customer: new DataLoader<string, Customer | null>(async (ids) => ordered(ids, await customers.byIds(ids), () => null), { cache }),
    identifiers: new DataLoader<string, Identifier[]>(async (ids) => ordered(ids, await customers.identifiersOf(ids), () => []), { cache }),
    transitions: new DataLoader<string, LifecycleTransition[]>(async (ids) => ordered(ids, await customers.transitionsOf(ids), () => []), { cache }),
    merges: new DataLoader<string, Merge[]>(async (ids) => ordered(ids, await customers.mergesOf(ids), () => []), { cache }),
    interaction: new DataLoader<string, Interaction | null>(async (ids) => ordered(ids, await customers.interactionsByIds(ids), () => null), { cache }),
    journeyInteractions: new DataLoader<string, Interaction[]>(async (ids) => ordered(ids, await customers.interactionsOfJourneys(ids), () => []), { cache }),
    journeys(args: { first: number; after?: string | null; status?: string | null }): DataLoader<string, ConnectionShape<Journey>> {
      const key = JSON.stringify([args.first, args.after ?? null, args.status ?? null]);
      let loader = journeyPages.get(key);
      if (!loader) {
        loader = new DataLoader(async (ids) => ordered(ids, await customers.journeysOf(ids, args), () => ({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } })), { cache });
        journeyPages.set(key, loader);
      }
      return loader;
    },
    /** One loader per distinct argument set: customers asking for the same page share a statement. */
    interactions(args: InteractionPageArgs): DataLoader<string, ConnectionShape<Interaction>> {
      const key = JSON.stringify([args.first, args.after ?? null, args.channel ?? null, args.type ?? null]);
      let loader = interactionPages.get(key);
      if (!loader) {
        loader = new DataLoader(async (ids) => ordered(ids, await customers.interactionsOf(ids, args), () => ({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } })), { cache });
        interactionPages.set(key, loader);
      }
      return loader;
    },
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
