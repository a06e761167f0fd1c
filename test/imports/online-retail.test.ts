import { decimalUnits, parseCsvLine, toInteraction, unitsToAmount } from '../../src/cli/online-retail';

describe('Online Retail mapping', () => {
  it('parses quoted CSV fields with commas and doubled quotes', () => {
    expect(parseCsvLine('536381,82567,"AIRLINE LOUNGE,METAL SIGN",2,2010-12-01 09:41:00,2.1,15311.0,United Kingdom')).toEqual([
      '536381', '82567', 'AIRLINE LOUNGE,METAL SIGN', '2', '2010-12-01 09:41:00', '2.1', '15311.0', 'United Kingdom',
    ]);
    expect(parseCsvLine('536477,22041,"RECORD FRAME 7"" SINGLE SIZE ",48,x,2.1,,EIRE')).toEqual(['536477', '22041', 'RECORD FRAME 7" SINGLE SIZE ', '48', 'x', '2.1', '', 'EIRE']);
    expect(parseCsvLine('a,,"",b')).toEqual(['a', '', '', 'b']);
  });

  it('sums money exactly and rounds to the cent', () => {
    expect(decimalUnits('2.55')).toBe(25500);
    expect(decimalUnits('0.001')).toBe(10);
    expect(decimalUnits('-1')).toBe(-10000);
    // 3 x 0.1 + 3 x 0.2 is 0.9 exactly here, not 0.9000000000000001.
    expect(unitsToAmount(3 * decimalUnits('0.1') + 3 * decimalUnits('0.2'))).toBe('0.90');
    expect(unitsToAmount(12345)).toBe('1.23');
    expect(unitsToAmount(12350)).toBe('1.24');
    expect(unitsToAmount(-1250000)).toBe('125.00');
  });

  it('maps invoices as the data set README says', () => {
    const base = { customerId: '17850', occurredAt: '2010-12-01T08:26:00.000Z', country: 'United Kingdom', lines: 7 };
    expect(toInteraction({ ...base, invoiceNo: '536365', totalUnits: 1393000 })).toEqual({
      externalId: 'online-retail:536365',
      channel: 'WEB',
      type: 'PURCHASE',
      occurredAt: '2010-12-01T08:26:00.000Z',
      amount: '139.30',
      currency: 'GBP',
      identifiers: [{ type: 'CUSTOMER_ID', value: 'OR-17850' }],
      traits: { country: 'United Kingdom' },
      properties: { invoiceNo: '536365', lines: 7 },
    });
    expect(toInteraction({ ...base, invoiceNo: 'C536379', totalUnits: -275000 })).toMatchObject({ type: 'REFUND', amount: '27.50' });
    expect(toInteraction({ ...base, invoiceNo: '536380', totalUnits: 0 })).toBeNull();
    expect(toInteraction({ ...base, invoiceNo: '536381', totalUnits: -10 })).toBeNull();
  });
});
