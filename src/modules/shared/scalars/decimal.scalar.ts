import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

const DECIMAL = /^-?\d{1,14}(\.\d{1,4})?$/;

function parse(value: unknown): string {
  const text = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  if (typeof text !== 'string' || !DECIMAL.test(text.trim())) {
    throw new GraphQLError(
      `Decimal must be a number or a numeric string with at most 14 digits before and 4 after the point, got ${JSON.stringify(value)}`,
      { extensions: { code: 'BAD_USER_INPUT' } },
    );
  }
  return text.trim();
}

/**
 * Exact money: accepted as a JSON number or a string ("19.99"), returned as a string so that
 * no client sums it in floating point by accident. Stored as NUMERIC(18,4); the running sums
 * of a customer as NUMERIC(30,4), so that no accepted amount can overflow them.
 */
export const DecimalScalar = new GraphQLScalarType({
  name: 'Decimal',
  description:
    'An exact decimal number, returned as a string such as "19.99". Accepted as a JSON number or a numeric string with ' +
    'at most 14 digits before the point and 4 after. Amounts come back with at least the minor-unit decimals of their ' +
    'currency ("89.90", "1500" in JPY), more only when they are not zero ("12.3456"); sums such as a customer\'s revenue ' +
    'may have more than 14 digits before the point.',
  serialize: (value) => (typeof value === 'number' ? String(value) : (value as string)),
  parseValue: parse,
  parseLiteral(node) {
    if (node.kind === Kind.INT || node.kind === Kind.FLOAT || node.kind === Kind.STRING) return parse(node.value);
    throw new GraphQLError('Decimal must be a number or a numeric string', { extensions: { code: 'BAD_USER_INPUT' } });
  },
});
