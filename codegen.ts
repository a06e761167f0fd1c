import type { CodegenConfig } from '@graphql-codegen/cli';

const scalars = { DateTimeISO: 'string', Decimal: 'string', JSON: 'any' };

/**
 * Typed operations, checked against schema/schema.graphql: a schema change that breaks a client
 * breaks the build.
 * - test/**: the tests (and any TypeScript client), as document nodes.
 * - dashboard/src/**: the page at /dashboard. Its documents are emitted as strings (the source
 *   text, fragments appended), so the bundle needs no GraphQL printer or parser.
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  generates: {
    'test/generated/graphql.ts': {
      documents: ['test/**/*.graphql'],
      plugins: ['typescript', 'typescript-operations', 'typed-document-node'],
      config: {
        scalars,
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
    'dashboard/src/generated/graphql.ts': {
      documents: ['dashboard/src/**/*.graphql'],
      plugins: ['typescript', 'typescript-operations', 'typed-document-node'],
      config: {
        scalars,
        enumsAsTypes: true,
        useTypeImports: true,
        documentMode: 'string',
        // Only the enums and inputs the documents use: the page's module stays small.
        onlyOperationTypes: true,
      },
    },
  },
  silent: true,
};

export default config;
