import { fieldPath, type InputProblem } from '../shared/errors';
import { ConsentStatus } from './consent.types';

export const MAX_CONSENTS_PER_ITEM = 20;
const STATUSES = new Set<string>(Object.values(ConsentStatus));

/** Checks a purpose against those the server knows; the problem names them. */
export function checkPurpose(purpose: unknown, purposes: ReadonlySet<string>, field: string, problems: InputProblem[]): string | null {
  const value = typeof purpose === 'string' ? purpose.trim().toUpperCase() : '';
  if (!purposes.has(value)) {
    problems.push({ field, message: `unknown consent purpose "${String(purpose).slice(0, 64)}" (known: ${[...purposes].join(', ')})` });
    return null;
  }
  return value;
}

/** The consent decisions an item carries: known purposes, each at most once. */
export function validateConsents(
  inputs: Array<{ purpose: string; status: ConsentStatus }> | null | undefined,
  purposes: ReadonlySet<string>,
  base: string,
  problems: InputProblem[],
): Array<{ purpose: string; status: ConsentStatus }> {
  if (!inputs?.length) return [];
  const at = fieldPath(base, 'consents');
  if (inputs.length > MAX_CONSENTS_PER_ITEM) {
    problems.push({ field: at, message: `at most ${MAX_CONSENTS_PER_ITEM} consent decisions per item, got ${inputs.length}` });
    return [];
  }
  const seen = new Set<string>();
  const out: Array<{ purpose: string; status: ConsentStatus }> = [];
  inputs.forEach((input, index) => {
    const purpose = checkPurpose(input?.purpose, purposes, fieldPath(at, index, 'purpose'), problems);
    if (!STATUSES.has(input?.status)) problems.push({ field: fieldPath(at, index, 'status'), message: `unknown consent status "${input?.status}"` });
    if (!purpose) return;
    if (seen.has(purpose)) {
      problems.push({ field: fieldPath(at, index, 'purpose'), message: `${purpose} is given twice: one decision per purpose and item` });
      return;
    }
    seen.add(purpose);
    out.push({ purpose, status: input.status });
  });
  return out;
}
