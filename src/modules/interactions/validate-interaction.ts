import { fieldPath, type InputProblem } from '../shared/errors';
import { MAX_FUTURE_MS } from '../shared/time';
import { validateIdentifiers, type IdentityRules, type NormalizedIdentifier } from '../identity/validate-identifiers';
import type { ConsentStatus } from '../consent/consent.types';
import { validateConsents } from '../consent/validate-consents';
import { Channel } from '../shared/channel.enum';
import { InteractionType, MONETARY_TYPES } from './interaction-type.enum';
import type { RecordInteractionInput } from './record-interaction.input';

export const MAX_JSON_BYTES = 16 * 1024;
const EARLIEST = Date.UTC(1970, 0, 1);

export interface InteractionRules extends IdentityRules {
  defaultCurrency: string;
  consentPurposes: ReadonlySet<string>;
}

/** An interaction that passed every check, normalised, ready to store. */
export interface InteractionData {
  externalId: string | null;
  channel: Channel;
  type: InteractionType;
  name: string | null;
  occurredAt: Date;
  amount: string | null;
  currency: string | null;
  npsScore: number | null;
  properties: Record<string, unknown>;
  traits: Record<string, unknown> | null;
  identifiers: NormalizedIdentifier[];
  consents: Array<{ purpose: string; status: ConsentStatus }>;
  freshSignUp: boolean;
}

const CHANNELS = new Set<string>(Object.values(Channel));
const TYPES = new Set<string>(Object.values(InteractionType));

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Levels of nesting a JSON field may have (the object itself is level 1). */
export const MAX_JSON_DEPTH = 32;

const LONE_SURROGATE = /\p{Cs}/u;

/**
 * What PostgreSQL would refuse in a JSON value, or what would take the stack down before it got
 * there: found by walking the value with an explicit stack, so a value nested 100,000 levels deep
 * costs a loop, not a RangeError. Returns the first problem, or null.
 */
function jsonProblem(root: Record<string, unknown>): string | null {
  const stack: Array<[unknown, number]> = [[root, 1]];
  const text = (s: string, what: string) => {
    if (s.includes('\u0000')) return `must not contain the NUL character (\\u0000) in ${what}`;
    if (LONE_SURROGATE.test(s)) return `must be valid Unicode: ${what} holds a lone surrogate`;
    return null;
  };
  while (stack.length) {
    const [value, depth] = stack.pop()!;
    if (typeof value === 'string') {
      const bad = text(value, 'a string');
      if (bad) return bad;
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) return `must hold finite numbers only, got ${value}`;
    } else if (typeof value === 'object' && value !== null) {
      if (depth > MAX_JSON_DEPTH) return `must not be nested more than ${MAX_JSON_DEPTH} levels deep`;
      if (Array.isArray(value)) {
        for (const item of value) stack.push([item, depth + 1]);
      } else {
        for (const [key, item] of Object.entries(value)) {
          const bad = text(key, 'a key');
          if (bad) return bad;
          stack.push([item, depth + 1]);
        }
      }
    }
  }
  return null;
}

/**
 * Checks a JSON object field: an object, at most 32 levels deep and 16 KB, nothing PostgreSQL
 * refuses (NUL characters, lone surrogates). Depth is checked first: JSON.stringify recurses.
 */
export function validateJsonObject(value: unknown, field: string, problems: InputProblem[]): Record<string, unknown> | null {
  if (value === undefined || value === null) return null;
  if (!isPlainObject(value)) {
    problems.push({ field, message: `must be a JSON object, got ${Array.isArray(value) ? 'an array' : typeof value}` });
    return null;
  }
  const bad = jsonProblem(value);
  if (bad) {
    problems.push({ field, message: bad });
    return null;
  }
  const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
  if (bytes > MAX_JSON_BYTES) {
    problems.push({ field, message: `must be at most ${MAX_JSON_BYTES} bytes as JSON, got ${bytes}` });
    return null;
  }
  return value;
}

function optionalText(value: string | null | undefined, field: string, max: number, problems: InputProblem[]): string | null {
  if (value === undefined || value === null) return null;
  const text = String(value).trim();
  if (text === '') {
    problems.push({ field, message: 'must not be empty when given' });
    return null;
  }
  if (text.length > max) problems.push({ field, message: `must be at most ${max} characters` });
  if (text.includes('\u0000')) problems.push({ field, message: 'must not contain the NUL character' });
  else if (LONE_SURROGATE.test(text)) problems.push({ field, message: 'must be valid Unicode text (it contains a lone surrogate)' });
  return text;
}

/**
 * Every check an interaction must pass before anything is written. Returns the normalised data,
 * or null with each problem pushed under `base` (e.g. `inputs[3]`).
 */
export function validateInteraction(
  input: RecordInteractionInput,
  rules: InteractionRules,
  base: string,
  now: Date,
): { data: InteractionData | null; problems: InputProblem[] } {
  const problems: InputProblem[] = [];
  const at = (...parts: Array<string | number>) => fieldPath(base, ...parts);

  if (!CHANNELS.has(input.channel)) problems.push({ field: at('channel'), message: `unknown channel "${input.channel}"` });
  if (!TYPES.has(input.type)) problems.push({ field: at('type'), message: `unknown interaction type "${input.type}"` });

  const externalId = optionalText(input.externalId, at('externalId'), 200, problems);
  const name = optionalText(input.name, at('name'), 200, problems);
  if (input.type === InteractionType.CUSTOM && !name) {
    problems.push({ field: at('name'), message: 'is required for a CUSTOM interaction' });
  }

  let occurredAt = now;
  if (input.occurredAt !== undefined && input.occurredAt !== null) {
    const time = input.occurredAt instanceof Date ? input.occurredAt.getTime() : NaN;
    if (Number.isNaN(time)) {
      problems.push({ field: at('occurredAt'), message: 'must be an ISO 8601 date-time' });
    } else if (time > now.getTime() + MAX_FUTURE_MS) {
      problems.push({ field: at('occurredAt'), message: `must not be more than 1 day in the future (server time ${now.toISOString()})` });
    } else if (time < EARLIEST) {
      problems.push({ field: at('occurredAt'), message: 'must not be before 1970-01-01' });
    } else {
      occurredAt = input.occurredAt;
    }
  }

  let amount: string | null = null;
  let currency: string | null = null;
  if (input.amount !== undefined && input.amount !== null) {
    if (!MONETARY_TYPES.has(input.type)) {
      problems.push({ field: at('amount'), message: `only ${[...MONETARY_TYPES].join(' and ')} interactions carry an amount, not ${input.type}` });
    } else if (String(input.amount).startsWith('-')) {
      problems.push({ field: at('amount'), message: 'must not be negative (money returned is a REFUND with a positive amount)' });
    } else {
      amount = String(input.amount);
      currency = (input.currency ?? rules.defaultCurrency).trim().toUpperCase();
      if (!/^[A-Z]{3}$/.test(currency)) {
        problems.push({ field: at('currency'), message: `must be an ISO 4217 code such as EUR, got "${input.currency}"` });
      }
    }
  } else if (input.currency !== undefined && input.currency !== null) {
    problems.push({ field: at('currency'), message: 'is only meaningful with an amount' });
  }

  let npsScore: number | null = null;
  if (input.npsScore !== undefined && input.npsScore !== null) {
    if (!Number.isInteger(input.npsScore) || input.npsScore < 0 || input.npsScore > 10) {
      problems.push({ field: at('npsScore'), message: `must be an integer from 0 to 10, got ${input.npsScore}` });
    } else if (input.type !== InteractionType.SURVEY_RESPONSE) {
      problems.push({ field: at('npsScore'), message: `only SURVEY_RESPONSE interactions carry an npsScore, not ${input.type}` });
    } else {
      npsScore = input.npsScore;
    }
  }

  const properties = validateJsonObject(input.properties, at('properties'), problems) ?? {};
  const traits = validateJsonObject(input.traits, at('traits'), problems);
  const identifiers = validateIdentifiers(input.identifiers, rules, base, problems);
  const consents = validateConsents(input.consents, rules.consentPurposes, base, problems);

  if (problems.length) return { data: null, problems };
  return {
    data: { externalId, channel: input.channel, type: input.type, name, occurredAt, amount, currency, npsScore, properties, traits, identifiers, consents, freshSignUp: input.freshSignUp === true },
    problems,
  };
}
