import { parse, validate, type DocumentNode, type GraphQLError, type GraphQLSchema, type ValidationRule } from 'graphql';

import type { OperationLimits } from '../../config';
import { allValidationRules, nestingError, nestingOver } from '../plugins/operation-limits';
import { formatted, type Errors } from './protocol';

/**
 * Parsed documents are kept by their text for the subscriptions that reuse them, bounded in
 * bytes: only documents up to CACHEABLE_DOCUMENT_BYTES, and CACHE_BYTES of text in all (a parsed
 * document weighs some ten times its text).
 */
const CACHEABLE_DOCUMENT_BYTES = 16 * 1024;
const CACHE_BYTES = 1024 * 1024;

export type ParsedDocument = { document?: DocumentNode; errors?: Errors };

/** Documents parsed and validated under the operation limits, least recently used evicted first. */
export class DocumentCache {
  private readonly documents = new Map<string, ParsedDocument>();
  private documentBytes = 0;
  private readonly rules: ValidationRule[];

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly limits: OperationLimits,
    introspection: boolean,
  ) {
    this.rules = allValidationRules(limits, introspection);
  }

  get stats(): { documents: number; bytes: number } {
    return { documents: this.documents.size, bytes: this.documentBytes };
  }

  parse(query: string): ParsedDocument {
    const cached = this.documents.get(query);
    if (cached) {
      // Most recently used last: the first entry is the one to evict.
      this.documents.delete(query);
      this.documents.set(query, cached);
      return cached;
    }
    let entry: ParsedDocument;
    try {
      if (nestingOver(query)) throw nestingError();
      const document = parse(query, { maxTokens: this.limits.maxTokens });
      const errors = validate(this.schema, document, this.rules);
      entry = errors.length ? { errors: formatted(errors) } : { document };
    } catch (err) {
      entry = { errors: formatted([err as GraphQLError]) };
    }
    if (query.length <= CACHEABLE_DOCUMENT_BYTES) {
      this.documents.set(query, entry);
      this.documentBytes += query.length;
      for (const [text] of this.documents) {
        if (this.documentBytes <= CACHE_BYTES) break;
        this.documents.delete(text);
        this.documentBytes -= text.length;
      }
    }
    return entry;
  }
}
