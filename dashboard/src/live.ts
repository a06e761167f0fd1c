import { createClient, type Client } from 'graphql-ws/client';

import type { ApiError } from './api';
import { DashboardStageChangesDocument, type DashboardStageChangesSubscription, type DashboardStageChangesSubscriptionVariables } from './generated/graphql';

export type StageChange = DashboardStageChangesSubscription['lifecycleStageChanged'];

export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'stopped';

export interface LiveStatus {
  state: LiveState;
  detail: string;
}

export interface FeedHandlers {
  change(event: StageChange): void;
  status(status: LiveStatus): void;
  errors(errors: ApiError[]): void;
}

export interface Feed {
  stop(): void;
}

/** Close codes the server uses for problems a retry cannot solve (see README, Live subscriptions). */
const CLOSE_REASONS: Record<number, string> = {
  4400: 'protocol error',
  4401: 'the key was refused',
  4403: 'the key was revoked',
  4406: 'subprotocol not accepted',
  4409: 'subscription id in use',
  4429: 'too many connections for this key',
};

/** Waits `ms`, or less if the browser says it is back online: no point waiting out the backoff then. */
function pause(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      window.removeEventListener('online', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    window.addEventListener('online', done);
  });
}

function closeCode(value: unknown): number | null {
  return typeof value === 'object' && value !== null && 'code' in value && typeof (value as { code: unknown }).code === 'number' ? (value as { code: number }).code : null;
}

function graphqlErrors(value: unknown): ApiError[] | null {
  if (!Array.isArray(value)) return null;
  return value.map((e: { message?: unknown; extensions?: { code?: unknown } }) => ({ message: String(e?.message ?? e), code: String(e?.extensions?.code ?? 'ERROR') }));
}

/**
 * Follows `lifecycleStageChanged` over graphql-ws and never loses a change: every reconnection
 * resubscribes with `after` set to the cursor of the last change received, so the server
 * replays what happened while the socket was down, and nothing twice.
 */
export function followStageChanges(url: string, key: string, handlers: FeedHandlers): Feed {
  // graphql-ws sends this same payload again on each retry: keeping `after` current in it is
  // what makes each resubscription resume right after the last change shown.
  const variables: DashboardStageChangesSubscriptionVariables = { after: null };
  let stopped = false;
  const status = (state: LiveState, detail: string) => !stopped && handlers.status({ state, detail });

  const client: Client = createClient({
    url,
    connectionParams: { authorization: `Bearer ${key}` },
    retryAttempts: Infinity,
    // Any lost connection is worth retrying (a failed connect reports an error event, not a
    // close). graphql-ws still stops on the close codes a retry cannot help: a refused key, a
    // protocol error (a revoked key, 4403, is refused with 4401 on the next attempt).
    shouldRetry: () => true,
    retryWait: async (retries) => {
      const delayMs = Math.min(500 * 2 ** retries, 15_000) * (0.8 + Math.random() * 0.4);
      status('reconnecting', `reconnecting in ${Math.ceil(delayMs / 1000)} s (attempt ${retries + 1})`);
      await pause(delayMs);
    },
    // A ping every 10 s: a socket that died silently (a laptop asleep, a NAT timeout) is noticed.
    keepAlive: 10_000,
    on: {
      connecting: (isRetry) => status(isRetry ? 'reconnecting' : 'connecting', isRetry ? 'reconnecting…' : 'connecting…'),
      connected: (_socket, _payload, wasRetry) =>
        status('live', wasRetry && variables.after ? 'live (resumed from the last change received)' : 'live'),
      closed: (event) => {
        const code = closeCode(event);
        status('reconnecting', `connection lost${code ? ` (${code})` : ''}`);
      },
    },
  });

  let unsubscribe: () => void = () => undefined;
  const subscribe = () => {
    unsubscribe = client.subscribe<DashboardStageChangesSubscription>(
      { query: DashboardStageChangesDocument.toString(), variables },
      {
        next(result) {
          const errors = graphqlErrors(result.errors);
          if (errors) handlers.errors(errors);
          const change = result.data?.lifecycleStageChanged;
          if (!change) return;
          variables.after = change.cursor;
          handlers.change(change);
        },
        error(err) {
          const code = closeCode(err);
          const errors = graphqlErrors(err);
          if (errors?.some((e) => e.code === 'BAD_USER_INPUT') && variables.after) {
            // The last change shown is older than the server keeps events (EVENT_RETENTION_DAYS).
            variables.after = null;
            handlers.errors([{ code: 'GAP', message: 'The connection was down longer than the server keeps changes: some are not shown. Following from now.' }]);
            subscribe();
            return;
          }
          if (errors) handlers.errors(errors);
          status('stopped', code ? `closed: ${CLOSE_REASONS[code] ?? 'connection refused'} (${code})` : errors ? 'refused by the API' : `stopped: ${String((err as Error)?.message ?? err)}`);
          stopped = true;
        },
        complete() {
          status('stopped', 'the server ended the feed');
        },
      },
    );
  };
  subscribe();

  return {
    stop() {
      status('stopped', 'stopped');
      stopped = true;
      unsubscribe();
      void client.dispose();
    },
  };
}
