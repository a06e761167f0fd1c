import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import zlib from 'node:zlib';

import { InteractionType } from '../modules/interactions/interaction-type.enum';
import { Channel } from '../modules/shared/channel.enum';
import { IdentifierType } from '../modules/shared/identifier-type.enum';
import type { ImportSource, InteractionRecord } from './import';
import { parseCsvLine } from './online-retail';

/**
 * Any CSV file (gzip when its name ends in .gz) with a header line, mapped onto interactions by
 * `--map key=Column,...` (columns named as in the header):
 *
 * - identifiers, at least one: `customer` (CUSTOMER_ID), `email`, `phone`, `device` (DEVICE_ID),
 *   `anonymous` (ANONYMOUS_ID), `loyalty` (LOYALTY_CARD)
 * - `at` (required): ISO 8601 (`2024-03-01T10:20:00Z`; without an offset read as UTC),
 *   `2024-03-01 10:20[:00]`, `2024-03-01` or `20240301`
 * - `amount`: a decimal with a point; a negative amount on a PURCHASE is a REFUND of its absolute
 *   value; empty means none
 * - `type`, `channel`, `currency`, `name`: per row (else --type, default PURCHASE; --channel,
 *   default WEB; --currency, default the server's)
 * - `id`: the row's own id, making externalId `<source>:<id>`; without it the externalId is
 *   `<source>:<line number>` (so run the same file again, not a re-sorted copy). `source` is
 *   --source, default the file name without extensions.
 * - `trait.NAME`, `property.NAME`: a trait or property per column (empty cells left out)
 *
 * A row that cannot be mapped (no identifier value, a date or amount that does not parse, a type
 * or channel that does not exist) is skipped and reported with its line number; the server then
 * validates the rest item by item.
 */

const IDENTIFIER_KEYS: Record<string, IdentifierType> = {
  customer: IdentifierType.CUSTOMER_ID,
  email: IdentifierType.EMAIL,
  phone: IdentifierType.PHONE,
  device: IdentifierType.DEVICE_ID,
  anonymous: IdentifierType.ANONYMOUS_ID,
  loyalty: IdentifierType.LOYALTY_CARD,
};
const FIELD_KEYS = ['at', 'amount', 'type', 'channel', 'currency', 'name', 'id'] as const;
type FieldKey = (typeof FIELD_KEYS)[number];

export interface CsvMapping {
  identifiers: Array<{ type: IdentifierType; column: string }>;
  fields: Partial<Record<FieldKey, string>>;
  traits: Array<{ name: string; column: string }>;
  properties: Array<{ name: string; column: string }>;
  delimiter: string;
  type: InteractionType;
  channel: Channel;
  currency?: string;
  source: string;
}

export interface CsvCounters {
  lines: number;
  mapped: number;
  skipped: number;
}

const TYPES = new Set<string>(Object.values(InteractionType));
const CHANNELS = new Set<string>(Object.values(Channel));
const DELIMITERS: Record<string, string> = { ',': ',', ';': ';', tab: '\t', '\\t': '\t', '|': '|' };

/** Reads `--map` and the constant options; throws with what is wrong and what is allowed. */
export function parseMapping(
  text: string,
  options: { delimiter?: string; type?: string; channel?: string; currency?: string; source?: string; file: string },
): CsvMapping {
  const mapping: CsvMapping = {
    identifiers: [],
    fields: {},
    traits: [],
    properties: [],
    delimiter: ',',
    type: InteractionType.PURCHASE,
    channel: Channel.WEB,
    source: options.source ?? path.basename(options.file).replace(/\..*$/, ''),
  };
  const seen = new Set<string>();
  for (const pair of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = pair.indexOf('=');
    const key = eq === -1 ? pair : pair.slice(0, eq).trim();
    const column = eq === -1 ? '' : pair.slice(eq + 1).trim();
    if (!column) throw new Error(`--map: "${pair}" needs a column, as key=Column`);
    if (seen.has(key)) throw new Error(`--map: "${key}" is mapped twice`);
    seen.add(key);
    if (key in IDENTIFIER_KEYS) mapping.identifiers.push({ type: IDENTIFIER_KEYS[key], column });
    else if ((FIELD_KEYS as readonly string[]).includes(key)) mapping.fields[key as FieldKey] = column;
    else if (/^trait\.[A-Za-z_][\w-]*$/.test(key)) mapping.traits.push({ name: key.slice(6), column });
    else if (/^property\.[A-Za-z_][\w-]*$/.test(key)) mapping.properties.push({ name: key.slice(9), column });
    else throw new Error(`--map: unknown key "${key}"; the keys are ${[...Object.keys(IDENTIFIER_KEYS), ...FIELD_KEYS, 'trait.NAME', 'property.NAME'].join(', ')}`);
  }
  if (!mapping.identifiers.length) throw new Error(`--map needs at least one identifier column: ${Object.keys(IDENTIFIER_KEYS).join(', ')}`);
  if (!mapping.fields.at) throw new Error('--map needs at=Column, the time of each interaction');
  if (options.delimiter !== undefined) {
    const d = DELIMITERS[options.delimiter];
    if (!d) throw new Error(`--delimiter must be one of ${Object.keys(DELIMITERS).join(' ')}`);
    mapping.delimiter = d;
  }
  if (options.type !== undefined) {
    if (!TYPES.has(options.type)) throw new Error(`--type must be an interaction type (${[...TYPES].join(', ')}), got "${options.type}"`);
    mapping.type = options.type as InteractionType;
  }
  if (options.channel !== undefined) {
    if (!CHANNELS.has(options.channel)) throw new Error(`--channel must be one of ${[...CHANNELS].join(', ')}, got "${options.channel}"`);
    mapping.channel = options.channel as Channel;
  }
  if (options.currency !== undefined) {
    if (!/^[A-Z]{3}$/.test(options.currency)) throw new Error(`--currency must be an ISO 4217 code such as EUR, got "${options.currency}"`);
    mapping.currency = options.currency;
  }
  if (!/^[\w.-]{1,40}$/.test(mapping.source)) throw new Error(`--source must be 1 to 40 letters, digits, dots, dashes or underscores, got "${mapping.source}"`);
  return mapping;
}

/** An instant from the accepted shapes, as ISO; null when it is none of them. */
export function parseInstant(text: string): string | null {
  const t = text.trim();
  let iso: string;
  if (/^\d{8}$/.test(t)) iso = `${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 8)}T00:00:00Z`;
  else if (/^\d{4}-\d{2}-\d{2}$/.test(t)) iso = `${t}T00:00:00Z`;
  else if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?$/.test(t)) {
    iso = t.replace(' ', 'T');
    if (!/(Z|[+-]\d{2}:?\d{2})$/.test(iso)) iso += 'Z';
  } else return null;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return null;
  const date = new Date(ms);
  // Date.parse rolls 2024-02-30 over to March: refuse what is not the date written.
  if (date.toISOString().slice(0, 10) !== iso.slice(0, 10) && /Z$/.test(iso)) return null;
  return date.toISOString();
}

/** The interaction of one row, or the reason it cannot be one. */
export function mapRow(mapping: CsvMapping, cell: (column: string) => string, lineNumber: number): InteractionRecord | string {
  const identifiers = mapping.identifiers.map((i) => ({ type: i.type, value: cell(i.column).trim() })).filter((i) => i.value);
  if (!identifiers.length) return `no identifier value (${mapping.identifiers.map((i) => i.column).join(', ')} empty)`;
  const at = cell(mapping.fields.at!);
  const occurredAt = parseInstant(at);
  if (!occurredAt) return `${mapping.fields.at}: "${at}" is not a date or time in an accepted shape`;
  let type = mapping.fields.type ? cell(mapping.fields.type).trim().toUpperCase() : mapping.type;
  if (!TYPES.has(type)) return `${mapping.fields.type}: "${type}" is not an interaction type`;
  const channel = mapping.fields.channel ? cell(mapping.fields.channel).trim().toUpperCase() : mapping.channel;
  if (!CHANNELS.has(channel)) return `${mapping.fields.channel}: "${channel}" is not a channel`;
  const record: InteractionRecord = {
    externalId: `${mapping.source}:${mapping.fields.id ? cell(mapping.fields.id).trim() : lineNumber}`,
    channel,
    type,
    occurredAt,
    identifiers,
  };
  if (mapping.fields.id && record.externalId === `${mapping.source}:`) return `${mapping.fields.id}: empty id`;
  const amountText = mapping.fields.amount ? cell(mapping.fields.amount).trim() : '';
  if (amountText) {
    if (!/^-?\d+(\.\d+)?$/.test(amountText)) return `${mapping.fields.amount}: "${amountText}" is not a decimal amount (digits with a point)`;
    if (amountText.startsWith('-')) {
      if (type !== InteractionType.PURCHASE && type !== InteractionType.REFUND) return `${mapping.fields.amount}: a negative amount on a ${type}`;
      type = InteractionType.REFUND;
      record.type = type;
    }
    record.amount = amountText.replace(/^-/, '');
    const currency = mapping.fields.currency ? cell(mapping.fields.currency).trim().toUpperCase() : mapping.currency;
    if (currency) record.currency = currency;
  }
  if (mapping.fields.name) {
    const name = cell(mapping.fields.name).trim();
    if (name) record.name = name;
  }
  for (const [into, list] of [['traits', mapping.traits], ['properties', mapping.properties]] as const) {
    const values: Record<string, string> = {};
    for (const { name, column } of list) {
      const value = cell(column).trim();
      if (value) values[name] = value;
    }
    if (Object.keys(values).length) record[into] = values;
  }
  return record;
}

export function csvSource(mapping: CsvMapping): ImportSource<CsvCounters> {
  return {
    name: 'CSV',
    async read(file, options) {
      const counters: CsvCounters = { lines: 0, mapped: 0, skipped: 0 };
      const interactions: InteractionRecord[] = [];
      const until = options.until?.getTime();
      const raw = fs.createReadStream(file);
      const input = file.endsWith('.gz') ? raw.pipe(zlib.createGunzip()) : raw;
      let header: Map<string, number> | null = null;
      let lineNumber = 0;
      for await (const line of readline.createInterface({ input, crlfDelay: Infinity })) {
        lineNumber++;
        if (!header) {
          const names = parseCsvLine(line.replace(/^\uFEFF/, ''), mapping.delimiter).map((n) => n.trim());
          header = new Map(names.map((n, i) => [n, i]));
          const columns = [...mapping.identifiers.map((i) => i.column), ...Object.values(mapping.fields), ...mapping.traits.map((t) => t.column), ...mapping.properties.map((p) => p.column)];
          const missing = columns.filter((c) => !header!.has(c!));
          if (missing.length) throw new Error(`${file}: no column ${missing.map((m) => `"${m}"`).join(', ')} in the header; it has ${names.map((n) => `"${n}"`).join(', ')}`);
          continue;
        }
        if (!line.trim()) continue;
        const fields = parseCsvLine(line, mapping.delimiter);
        const index = header;
        const mapped = mapRow(mapping, (column) => fields[index.get(column)!] ?? '', lineNumber);
        // Rows at or after --until are left out of every count, as if the file ended before them.
        if (typeof mapped !== 'string' && until !== undefined && Date.parse(mapped.occurredAt) >= until) continue;
        counters.lines++;
        if (typeof mapped === 'string') {
          counters.skipped++;
          options.problem(`line ${lineNumber}: ${mapped}`);
          continue;
        }
        counters.mapped++;
        interactions.push(mapped);
      }
      if (!header) throw new Error(`${file} is empty: a header line is needed`);
      return { interactions, counters };
    },
    rows: [
      ['rows read', (c) => c.lines],
      ['rows mapped', (c) => c.mapped],
      ['skipped: rows that do not map', (c) => c.skipped],
    ],
  };
}
