import type { CountryCode } from 'libphonenumber-js';

import { fieldPath, type InputProblem } from '../shared/errors';
import { IdentifierType } from './identifier-type.enum';
import type { IdentifierInput } from './identifier.input';
import { isBlocklisted, normalizeIdentifier } from './normalize';

export const MAX_IDENTIFIERS_PER_ITEM = 50;

export interface NormalizedIdentifier {
  type: IdentifierType;
  value: string;
  raw: string;
  blocklisted: boolean;
  /** Position in the input, for warnings. */
  index: number;
}

export interface IdentityRules {
  region: CountryCode;
  blocklist: ReadonlySet<string>;
}

const VALID_TYPES = new Set<string>(Object.values(IdentifierType));

/** Normalises a list of identifiers; problems are located under `base`. Duplicates are folded. */
export function validateIdentifiers(
  inputs: IdentifierInput[] | null | undefined,
  rules: IdentityRules,
  base: string,
  problems: InputProblem[],
): NormalizedIdentifier[] {
  const at = fieldPath(base, 'identifiers');
  if (!Array.isArray(inputs) || inputs.length === 0) {
    problems.push({ field: at, message: 'at least one identifier is required' });
    return [];
  }
  if (inputs.length > MAX_IDENTIFIERS_PER_ITEM) {
    problems.push({ field: at, message: `at most ${MAX_IDENTIFIERS_PER_ITEM} identifiers per call, got ${inputs.length}` });
    return [];
  }
  const seen = new Set<string>();
  const result: NormalizedIdentifier[] = [];
  inputs.forEach((input, index) => {
    if (!VALID_TYPES.has(input?.type)) {
      problems.push({ field: fieldPath(at, index, 'type'), message: `unknown identifier type "${input?.type}"` });
      return;
    }
    const normalized = normalizeIdentifier(input.type, String(input.value ?? ''), rules.region);
    if (!normalized.ok) {
      problems.push({ field: fieldPath(at, index, 'value'), message: `${input.type} ${normalized.message}` });
      return;
    }
    const key = `${input.type}:${normalized.value}`;
    if (seen.has(key)) return;
    seen.add(key);
    result.push({
      type: input.type,
      value: normalized.value,
      raw: input.value,
      blocklisted: isBlocklisted(input.type, normalized.value, rules.blocklist),
      index,
    });
  });
  if (result.length > 0 && result.every((i) => i.blocklisted)) {
    problems.push({
      field: at,
      message: `every identifier is on the blocklist (${result.map((i) => `${i.type} "${i.raw}"`).join(', ')}): nothing identifies the person`,
    });
  }
  return result;
}
