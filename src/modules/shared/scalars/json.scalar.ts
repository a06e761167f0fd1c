import { GraphQLScalarType, Kind, type ValueNode } from 'graphql';

type Container = unknown[] | Record<string, unknown>;

// defineProperty, not assignment: a key named `__proto__` is data, not the object's prototype.
const put = (into: Container, key: string | number, value: unknown) =>
  Object.defineProperty(into, key, { value, enumerable: true, writable: true, configurable: true });

/**
 * A literal as a JSON value. Iterative (an explicit stack of nodes still to convert, each with
 * the container and key it goes into), because a document can nest a literal as deep as the
 * parser lets it, and recursion here would turn that into a RangeError: an internal error
 * instead of the input error the services report.
 */
function literal(root: ValueNode, variables?: Record<string, unknown> | null): unknown {
  const box: Container = [undefined];
  const stack: Array<[ValueNode, Container, string | number]> = [[root, box, 0]];
  while (stack.length) {
    const [node, into, key] = stack.pop()!;
    let value: unknown;
    switch (node.kind) {
      case Kind.STRING:
      case Kind.BOOLEAN:
        value = node.value;
        break;
      case Kind.INT:
      case Kind.FLOAT:
        value = Number(node.value);
        break;
      case Kind.NULL:
        value = null;
        break;
      case Kind.VARIABLE:
        value = variables?.[node.name.value];
        break;
      case Kind.LIST: {
        const list: unknown[] = new Array(node.values.length);
        node.values.forEach((v, i) => stack.push([v, list, i]));
        value = list;
        break;
      }
      case Kind.OBJECT: {
        const object: Record<string, unknown> = {};
        for (const f of node.fields) {
          // Defined now so that keys keep the document's order.
          put(object, f.name.value, undefined);
          stack.push([f.value, object, f.name.value]);
        }
        value = object;
        break;
      }
      default:
        value = undefined;
    }
    put(into, key, value);
  }
  return box[0];
}

/**
 * Any JSON value. Inputs typed `JSON` are checked by the services, not here, so that one bad
 * item of a batch is reported on that item (with its path) instead of failing the whole request.
 */
export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value. Where an object is expected the field says so and the server checks it.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: literal,
});
