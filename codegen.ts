import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed operations for the tests (and any TypeScript client): every document under test/ is
 * checked against schema/schema.graphql, so a schema change that breaks a client breaks the build.
 */
const config: CodegenConfig = {
  schema: 'schema/schema.graphql',
  documents: ['test/**/*.graphql'],
  generates: {
    'test/generated/graphql.ts': {
      plugins: ['typescript', 'typescript-operations', 'typed-document-node'],
      config: {
        scalars: { DateTimeISO: 'string', Decimal: 'string', JSON: 'any' },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
  silent: true,
};

export default config;
