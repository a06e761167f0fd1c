import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';

import { WarningCode } from '../identity/guardrails';
import { RecordStatus } from './ingest.service';

registerEnumType(RecordStatus, {
  name: 'RecordStatus',
  valuesConfig: {
    CREATED: { description: 'Stored now.' },
    DUPLICATE: { description: 'Its externalId was already stored by this API key: the original is returned, nothing is written.' },
    REJECTED: { description: 'Invalid; nothing was written. `problems` says why and where.' },
  },
});
registerEnumType(WarningCode, {
  name: 'WarningCode',
  valuesConfig: {
    BLOCKLISTED_IDENTIFIER: { description: 'A junk value (test@test.com, null…) was ignored for matching.' },
    IDENTIFIER_LIMIT_REACHED: { description: 'The customer already holds the maximum of that identifier type; the new one was not attached.' },
    MERGE_REFUSED: { description: 'Merging would break a per-type limit (two CUSTOMER_IDs, say); the interaction went to the customer of the strongest identifier.' },
  },
});

@ObjectType({ description: 'A guardrail that applied; the item was still stored.' })
export class IdentityWarning {
  @Field(() => WarningCode)
  code!: WarningCode;

  @Field()
  message!: string;

  @Field({ description: 'Path of the field concerned, e.g. `inputs[2].identifiers[1]`.' })
  field!: string;
}

@ObjectType('InputProblem', { description: 'Why an item was rejected, and where.' })
export class InputProblemType {
  @Field({ description: 'Always BAD_USER_INPUT, or INTERNAL_SERVER_ERROR when the server failed on a valid item.' })
  code!: string;

  @Field({ description: 'Path of the field, e.g. `inputs[3].identifiers[0].value`.' })
  field!: string;

  @Field()
  message!: string;

  @Field(() => String, { nullable: true, description: 'A machine-readable cause where there is one: SUPPRESSED_IDENTIFIER (the identifier of an erased person).' })
  reason!: string | null;
}

@ObjectType({ description: 'What became of one item: ids and statuses for any write key; `interaction` and `customer` need the read scope too.' })
export class RecordInteractionResult {
  @Field(() => Int, { description: 'Position of the item in the input list.' })
  index!: number;

  @Field(() => RecordStatus)
  status!: RecordStatus;

  @Field(() => ID, { nullable: true })
  interactionId!: string | null;

  @Field(() => ID, { nullable: true, description: 'The customer the interaction belongs to (after any merge).' })
  customerId!: string | null;

  @Field(() => [IdentityWarning])
  warnings!: IdentityWarning[];

  @Field(() => [ID], { description: 'Customers merged into this one by this item.' })
  mergedCustomerIds!: string[];

  @Field(() => [InputProblemType])
  problems!: InputProblemType[];
}

@ObjectType({ description: 'The customer the identifiers resolved to: its id for any write key; `customer` needs the read scope too.' })
export class IdentifyResult {
  @Field(() => ID)
  customerId!: string;

  @Field(() => [IdentityWarning])
  warnings!: IdentityWarning[];

  @Field(() => [ID])
  mergedCustomerIds!: string[];
}
