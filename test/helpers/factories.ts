import { randomUUID } from 'node:crypto';

import type { RecordInteractionInput } from '../generated/graphql';

let sequence = 0;

/** A unique token for building identifiers that no other test uses. */
export function unique(prefix = 'x'): string {
  sequence++;
  return `${prefix}-${sequence}-${randomUUID().slice(0, 8)}`;
}

/** A valid PAGE_VIEW on WEB carrying one fresh ANONYMOUS_ID, with overrides. */
export function interaction(overrides: Partial<RecordInteractionInput> = {}): RecordInteractionInput {
  return {
    channel: 'WEB',
    type: 'PAGE_VIEW',
    externalId: unique('evt'),
    occurredAt: '2024-03-01T10:00:00.000Z',
    identifiers: [{ type: 'ANONYMOUS_ID', value: unique('anon') }],
    ...overrides,
  };
}

export const minutesAfter = (iso: string, minutes: number) => new Date(Date.parse(iso) + minutes * 60_000).toISOString();
