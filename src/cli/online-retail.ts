import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import zlib from 'node:zlib';

import type { ImportSource } from './import';

/**
 * The UCI "Online Retail" data set mapped onto interactions, exactly as
 * ../shared/datasets/README.md says: one interaction per invoice; lines without CustomerID
 * skipped; a positive non-C invoice is a PURCHASE, a C invoice a REFUND of minus its total, other
 * invoices skipped; CUSTOMER_ID `OR-<id>`, externalId `online-retail:<InvoiceNo>`.
 */

export interface RetailInvoice {
  invoiceNo: string;
  customerId: string;
  /** ISO instant of the invoice's first line (shop time, read as UTC). */
  occurredAt: string;
  country: string;
  lines: number;
  /** Sum of Quantity x UnitPrice in ten-thousandths, exact. */
  totalUnits: number;
}

export interface RetailInteraction {
  externalId: string;
  channel: 'WEB';
  type: 'PURCHASE' | 'REFUND';
  occurredAt: string;
  amount: string;
  currency: 'GBP';
  identifiers: Array<{ type: 'CUSTOMER_ID'; value: string }>;
  traits: { country: string };
  properties: { invoiceNo: string; lines: number };
}

export interface RetailCounters {
  lines: number;
  linesWithoutCustomer: number;
  invoices: number;
  invoicesWithoutCustomer: number;
  purchases: number;
  refunds: number;
  skippedNonPositive: number;
}

/** Splits one CSV line: fields may be quoted, with delimiters inside and "" for a quote. */
export function parseCsvLine(line: string, delimiter = ','): string[] {
  const fields: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q === -1) {
          value += line.slice(i);
          i = line.length;
          break;
        }
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
        } else {
          i = q + 1;
          break;
        }
      }
      fields.push(value);
      i++; // the delimiter
    } else {
      const comma = line.indexOf(delimiter, i);
      const end = comma === -1 ? line.length : comma;
      fields.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return fields;
}

/** "2.55" → 25500 ten-thousandths; "-1" → -10000. */
export function decimalUnits(text: string): number {
  const negative = text.startsWith('-');
  const [whole, fraction = ''] = text.replace(/^[-+]/, '').split('.');
  const units = Number(whole || '0') * 10000 + Number((fraction + '0000').slice(0, 4));
  return negative ? -units : units;
}

/** Ten-thousandths rounded half away from zero to cents, as "12.34" (absolute value). */
export function unitsToAmount(units: number): string {
  const cents = Math.round(Math.abs(units) / 100);
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

/** Reads the gzip CSV and groups its lines by invoice, in file order. `until`: keep invoices dated before it. */
export async function readInvoices(file: string, options: { until?: Date } = {}): Promise<{ invoices: RetailInvoice[]; counters: RetailCounters }> {
  const counters: RetailCounters = { lines: 0, linesWithoutCustomer: 0, invoices: 0, invoicesWithoutCustomer: 0, purchases: 0, refunds: 0, skippedNonPositive: 0 };
  const byNumber = new Map<string, RetailInvoice>();
  const withoutCustomer = new Set<string>();
  const until = options.until?.getTime();
  const input = fs.createReadStream(file).pipe(zlib.createGunzip());
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  let header = true;
  for await (const line of lines) {
    if (header) {
      header = false;
      continue;
    }
    if (!line) continue;
    const [invoiceNo, , , quantity, invoiceDate, unitPrice, customerId, country] = parseCsvLine(line);
    const occurredAt = `${invoiceDate.replace(' ', 'T')}.000Z`;
    if (until !== undefined && Date.parse(occurredAt) >= until) continue;
    counters.lines++;
    if (!customerId) {
      counters.linesWithoutCustomer++;
      withoutCustomer.add(invoiceNo);
      continue;
    }
    let invoice = byNumber.get(invoiceNo);
    if (!invoice) {
      invoice = { invoiceNo, customerId: customerId.replace(/\.0$/, ''), occurredAt, country, lines: 0, totalUnits: 0 };
      byNumber.set(invoiceNo, invoice);
    }
    invoice.lines++;
    invoice.totalUnits += Number(quantity) * decimalUnits(unitPrice);
  }
  for (const invoiceNo of byNumber.keys()) withoutCustomer.delete(invoiceNo);
  counters.invoicesWithoutCustomer = withoutCustomer.size;
  counters.invoices = byNumber.size + withoutCustomer.size;
  return { invoices: [...byNumber.values()], counters };
}

/** The interaction of an invoice, or null for a non-C invoice whose total is not positive. */
export function toInteraction(invoice: RetailInvoice): RetailInteraction | null {
  const refund = invoice.invoiceNo.startsWith('C');
  const cents = Math.round(invoice.totalUnits / 100);
  if (!refund && cents <= 0) return null;
  if (refund && cents >= 0) return null;
  return {
    externalId: `online-retail:${invoice.invoiceNo}`,
    channel: 'WEB',
    type: refund ? 'REFUND' : 'PURCHASE',
    occurredAt: invoice.occurredAt,
    amount: unitsToAmount(invoice.totalUnits),
    currency: 'GBP',
    identifiers: [{ type: 'CUSTOMER_ID', value: `OR-${invoice.customerId}` }],
    traits: { country: invoice.country },
    properties: { invoiceNo: invoice.invoiceNo, lines: invoice.lines },
  };
}

/** All interactions of the file, in file order, with the counters of the import report. */
export async function readInteractions(file: string, options: { until?: Date } = {}): Promise<{ interactions: RetailInteraction[]; counters: RetailCounters }> {
  const { invoices, counters } = await readInvoices(file, options);
  const interactions: RetailInteraction[] = [];
  for (const invoice of invoices) {
    const interaction = toInteraction(invoice);
    if (!interaction) counters.skippedNonPositive++;
    else {
      if (interaction.type === 'PURCHASE') counters.purchases++;
      else counters.refunds++;
      interactions.push(interaction);
    }
  }
  return { interactions, counters };
}

export const ONLINE_RETAIL_FILE = path.join(__dirname, '..', '..', '..', 'shared', 'datasets', 'online-retail.csv.gz');

export const onlineRetailSource: ImportSource<RetailCounters> = {
  name: 'Online Retail',
  defaultFile: ONLINE_RETAIL_FILE,
  read: (file, options) => readInteractions(file, { until: options.until }),
  rows: [
    ['lines read', (c) => c.lines],
    ['lines without customer', (c) => c.linesWithoutCustomer],
    ['invoices read', (c) => c.invoices],
    ['purchases', (c) => c.purchases],
    ['refunds', (c) => c.refunds],
    ['skipped: no customer (invoices)', (c) => c.invoicesWithoutCustomer],
    ['skipped: total not positive', (c) => c.skippedNonPositive],
  ],
};
