/**
 * The writes the write benchmarks send: the same people and mutations for bench:ingest and
 * bench:write-floor, so that the floor is measured under exactly what the throughput is.
 */
import { randomBytes } from 'node:crypto';

export interface IdentifierInput {
  type: 'ANONYMOUS_ID' | 'EMAIL' | 'CUSTOMER_ID';
  value: string;
}

export interface InteractionInput {
  externalId: string;
  channel: 'WEB' | 'APP';
  type: 'PAGE_VIEW' | 'PURCHASE' | 'PRODUCT_VIEW' | 'ADD_TO_CART';
  identifiers: IdentifierInput[];
  amount?: string;
  currency?: string;
  occurredAt?: string;
}

export const BATCH_MUTATION = 'mutation BenchBatch($inputs: [RecordInteractionInput!]!) { recordInteractions(inputs: $inputs) { status } }';
export const SINGLE_MUTATION = 'mutation BenchSingle($input: RecordInteractionInput!) { recordInteraction(input: $input) { status } }';

/** A run's tag: the prefix of every identifier value and externalId it writes (14 characters). */
export const newRunId = () => `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

const EMAIL_DOMAIN = 'bench.customer-graph.example';

export function emailOf(run: string, scenario: string, index: number): string {
  return `${run}-${scenario}-${index}@${EMAIL_DOMAIN}`;
}

/**
 * One interaction of a new person (ANONYMOUS_ID + EMAIL; `email` to make it an existing one's).
 * A third of them are purchases, channels alternate.
 */
export function interaction(run: string, scenario: string, index: number, email = emailOf(run, scenario, index)): InteractionInput {
  const purchase = index % 3 === 2;
  return {
    externalId: `bench-${run}-${scenario}-${index}`,
    channel: index % 2 === 0 ? 'WEB' : 'APP',
    type: purchase ? 'PURCHASE' : 'PAGE_VIEW',
    identifiers: [
      { type: 'ANONYMOUS_ID', value: `anon-${run}-${scenario}-${index}` },
      { type: 'EMAIL', value: email },
    ],
    ...(purchase ? { amount: '19.99', currency: 'EUR' } : {}),
  };
}
