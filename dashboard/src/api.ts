import type { TypedDocumentString } from './generated/graphql';

/** One GraphQL error as the API reports it (`extensions.code` is always set by the server). */
export interface ApiError {
  message: string;
  code: string;
  path?: ReadonlyArray<string | number>;
}

export interface ApiResult<T> {
  /** What came back, possibly partial: a field the key may not see is null with its error. */
  data: T | null;
  errors: ApiError[];
}

/** The API beside the page: /dashboard/ → /graphql, whatever prefix a proxy serves both under. */
export const httpEndpoint = (): string => new URL('../graphql', document.baseURI).toString();
export const wsEndpoint = (): string => httpEndpoint().replace(/^http/, 'ws');

type Listener = (errors: ApiError[]) => void;
let onUnauthenticated: Listener = () => undefined;

/** Called when the server refuses the key itself (HTTP 401): the page asks for another one. */
export function whenUnauthenticated(listener: Listener): void {
  onUnauthenticated = listener;
}

function asErrors(value: unknown): ApiError[] | null {
  if (!Array.isArray(value)) return null;
  return value.map((e: { message?: unknown; path?: unknown; extensions?: { code?: unknown } }) => ({
    message: String(e?.message ?? 'Unknown error'),
    code: String(e?.extensions?.code ?? 'ERROR'),
    path: Array.isArray(e?.path) ? (e.path as Array<string | number>) : undefined,
  }));
}

/**
 * Sends one typed operation with the key. Never throws: network failures, HTTP errors and
 * GraphQL errors all come back as `errors`, for the card that asked to show.
 */
export async function request<TResult, TVariables>(
  key: string,
  document: TypedDocumentString<TResult, TVariables>,
  variables: TVariables,
): Promise<ApiResult<TResult>> {
  let response: Response;
  try {
    response = await fetch(httpEndpoint(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query: document.toString(), variables }),
    });
  } catch (err) {
    return { data: null, errors: [{ code: 'NETWORK', message: `The API did not answer: ${(err as Error).message}` }] };
  }
  type Body = { data?: TResult | null; errors?: unknown } | null;
  let body: Body = null;
  try {
    body = (await response.json()) as Body;
  } catch {
    // Not JSON: a proxy's error page, say. Reported by its status below.
  }
  const errors = asErrors(body?.errors) ?? [];
  if (!body || (!response.ok && !errors.length)) {
    errors.push({ code: `HTTP_${response.status}`, message: `The API answered HTTP ${response.status} ${response.statusText}`.trim() });
  }
  if (response.status === 401) onUnauthenticated(errors);
  return { data: body?.data ?? null, errors };
}

export const describeErrors = (errors: readonly ApiError[]): string =>
  errors.map((e) => `${e.code}: ${e.message}${e.path?.length ? ` (at ${e.path.join('.')})` : ''}`).join('\n');
