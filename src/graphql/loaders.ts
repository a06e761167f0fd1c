import DataLoader from 'dataloader';

import type { Customer } from '../modules/customers/customer.entity';
import type { CustomerService } from '../modules/customers/customer.service';
import type { Identifier } from '../modules/identity/identifier.entity';
import type { IdentifierRepository } from '../modules/identity/identifier.repository';
import type { Merge } from '../modules/identity/merge.entity';
import type { Interaction } from '../modules/interactions/interaction.entity';
import type { InteractionPageArgs, InteractionRepository } from '../modules/interactions/interaction.repository';
import type { Journey } from '../modules/journeys/journey.entity';
import type { JourneyPageArgs, JourneyRepository } from '../modules/journeys/journey.repository';
import type { LifecycleTransition } from '../modules/lifecycle/lifecycle-transition.entity';
import type { TransitionRepository } from '../modules/lifecycle/transition.repository';
import type { ConnectionShape } from '../modules/shared/connection';
import type { ConsentDecision } from '../modules/consent/consent.types';
import type { ConsentService } from '../modules/consent/consent.service';
import type { CustomerValueRecord, ValueModelService } from '../modules/value/value-model.service';
import type { SegmentService } from '../modules/segments/segment.service';
import type { Segment } from '../modules/segments/segment.types';

/** The batched reads the loaders are built on, each domain's own. */
export interface LoaderSources {
  customers: CustomerService;
  identifiers: IdentifierRepository;
  interactions: InteractionRepository;
  journeys: JourneyRepository;
  transitions: TransitionRepository;
  consents: ConsentService;
  value: ValueModelService;
  segments: SegmentService;
}

const emptyPage = <T>(): ConnectionShape<T> => ({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });

/**
 * Per-request batching of everything nested under a customer, so that a page of N customers
 * costs the same number of SQL statements whatever N is. Built fresh for each HTTP request;
 * `cache: false` for long-lived (subscription) contexts, where cached rows would go stale.
 * Each module's resolvers declare the loaders they read in their own context interface.
 */
export function createLoaders(sources: LoaderSources, options: { cache?: boolean } = {}) {
  const { customers, identifiers, interactions, journeys, transitions, consents, value, segments } = sources;
  const cache = options.cache ?? true;
  const ordered = <V>(ids: readonly string[], found: Map<string, V>, fallback: () => V) => ids.map((id) => found.get(id) ?? fallback());
  /** One loader per distinct argument set: customers asking for the same page share a statement. */
  const pages = <A, T>(keyOf: (args: A) => unknown[], read: (ids: readonly string[], args: A) => Promise<Map<string, ConnectionShape<T>>>) => {
    const loaders = new Map<string, DataLoader<string, ConnectionShape<T>>>();
    return (args: A): DataLoader<string, ConnectionShape<T>> => {
      const key = JSON.stringify(keyOf(args));
      let loader = loaders.get(key);
      if (!loader) {
        loader = new DataLoader(async (ids) => ordered(ids, await read(ids, args), () => emptyPage<T>()), { cache });
        loaders.set(key, loader);
      }
      return loader;
    };
  };
  return {
    customer: new DataLoader<string, Customer | null>(async (ids) => ordered(ids, await customers.byIds(ids), () => null), { cache }),
    identifiers: new DataLoader<string, Identifier[]>(async (ids) => ordered(ids, await identifiers.identifiersOf(ids), () => []), { cache }),
    merges: new DataLoader<string, Merge[]>(async (ids) => ordered(ids, await identifiers.mergesOf(ids), () => []), { cache }),
    transitions: new DataLoader<string, LifecycleTransition[]>(async (ids) => ordered(ids, await transitions.transitionsOf(ids), () => []), { cache }),
    interaction: new DataLoader<string, Interaction | null>(async (ids) => ordered(ids, await interactions.interactionsByIds(ids), () => null), { cache }),
    consents: new DataLoader<string, ConsentDecision[]>(async (ids) => ordered(ids, await consents.decisionsOf(ids), () => []), { cache }),
    value: new DataLoader<string, CustomerValueRecord | null>(async (ids) => ordered(ids, await value.valuesOf(ids), () => null), { cache }),
    segment: new DataLoader<string, Segment | null>(async (ids) => ordered(ids, await segments.byIds(ids), () => null), { cache }),
    segmentSize: new DataLoader<string, number>(async (ids) => ordered(ids, await segments.sizes(ids), () => 0), { cache }),
    segmentsOf: new DataLoader<string, Segment[]>(async (ids) => ordered(ids, await segments.segmentsOf(ids), () => []), { cache }),
    journeyInteractions: new DataLoader<string, Interaction[]>(async (ids) => ordered(ids, await interactions.interactionsOfJourneys(ids), () => []), { cache }),
    interactions: pages<InteractionPageArgs, Interaction>(
      (args) => [args.first, args.after ?? null, args.channel ?? null, args.type ?? null],
      (ids, args) => interactions.interactionsOf(ids, args),
    ),
    journeys: pages<JourneyPageArgs, Journey>(
      (args) => [args.first, args.after ?? null, args.status ?? null],
      (ids, args) => journeys.journeysOf(ids, args),
    ),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;
