import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import zlib from 'node:zlib';

import type { ImportSource, InteractionRecord } from './import';

/**
 * The CDNOW sample of Fader, Hardie & Lee (2005) mapped onto interactions, as
 * ../shared/datasets/README.md describes the file: one PURCHASE per line (several on one day stay
 * separate), on the WEB, in USD, at the day's midnight UTC (the file has dates only);
 * CUSTOMER_ID `CDNOW-<master id without leading zeros>`, externalId `cdnow:<line number>`.
 */

export const CDNOW_FILE = path.join(__dirname, '..', '..', '..', 'shared', 'datasets', 'cdnow-sample.txt.gz');

export interface CdnowCounters {
  lines: number;
  purchases: number;
  customers: number;
  /** Lines that are not five fields of the documented shape: reported, not sent. */
  malformed: number;
}

/** One line of the file, or null when it is not "master sample YYYYMMDD cds dollars". */
export function cdnowLine(line: string, lineNumber: number): InteractionRecord | null {
  const fields = line.trim().split(/\s+/);
  if (fields.length !== 5) return null;
  const [master, sample, date, cds, dollars] = fields;
  if (!/^\d+$/.test(master) || !/^\d+$/.test(sample) || !/^\d{8}$/.test(date) || !/^\d+$/.test(cds) || !/^\d+(\.\d+)?$/.test(dollars)) return null;
  const occurredAt = `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T00:00:00.000Z`;
  if (Number.isNaN(Date.parse(occurredAt))) return null;
  return {
    externalId: `cdnow:${lineNumber}`,
    channel: 'WEB',
    type: 'PURCHASE',
    occurredAt,
    amount: dollars,
    currency: 'USD',
    identifiers: [{ type: 'CUSTOMER_ID', value: `CDNOW-${master.replace(/^0+(?=\d)/, '')}` }],
    properties: { cds: Number(cds), sampleId: sample },
  };
}

export const cdnowSource: ImportSource<CdnowCounters> = {
  name: 'CDNOW',
  defaultFile: CDNOW_FILE,
  async read(file, options) {
    const counters: CdnowCounters = { lines: 0, purchases: 0, customers: 0, malformed: 0 };
    const interactions: InteractionRecord[] = [];
    const customers = new Set<string>();
    const until = options.until?.getTime();
    const input = fs.createReadStream(file).pipe(zlib.createGunzip());
    let lineNumber = 0;
    for await (const line of readline.createInterface({ input, crlfDelay: Infinity })) {
      lineNumber++;
      if (!line.trim()) continue;
      const interaction = cdnowLine(line, lineNumber);
      if (!interaction) {
        counters.lines++;
        counters.malformed++;
        options.problem(`line ${lineNumber}: not "master sample YYYYMMDD cds dollars": ${JSON.stringify(line.slice(0, 80))}`);
        continue;
      }
      if (until !== undefined && Date.parse(interaction.occurredAt) >= until) continue;
      counters.lines++;
      counters.purchases++;
      customers.add(interaction.identifiers[0].value);
      interactions.push(interaction);
    }
    counters.customers = customers.size;
    return { interactions, counters };
  },
  rows: [
    ['lines read', (c) => c.lines],
    ['purchases', (c) => c.purchases],
    ['customers', (c) => c.customers],
    ['skipped: malformed lines', (c) => c.malformed],
  ],
};
