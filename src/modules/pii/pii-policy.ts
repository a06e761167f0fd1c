/**
 * Which keys of traits hold personal data, and which keys of interaction properties are safe to
 * show without the pii scope. Keys are compared in a loose form (case, `_`, `-` and spaces
 * ignored), so `first_name`, `firstName` and `First Name` are one key.
 */
export interface PiiPolicy {
  /** Trait keys masked without pii (names to initials, anything else to `***`). */
  personalTraits: ReadonlySet<string>;
  /** Trait keys that are a person's name: masked to initials. */
  nameTraits: ReadonlySet<string>;
  /** Property keys whose text is shown without pii; every other text value of `properties` is masked. */
  publicProperties: ReadonlySet<string>;
}

export const looseKey = (key: string) => key.toLowerCase().replace(/[\s_\-.]/g, '');

export const DEFAULT_NAME_TRAITS = ['name', 'fullName', 'firstName', 'lastName', 'givenName', 'familyName', 'middleName', 'surname', 'displayName', 'nickname'];

export const DEFAULT_PERSONAL_TRAITS = [
  ...DEFAULT_NAME_TRAITS,
  'email',
  'phone',
  'mobile',
  'birthDate',
  'dateOfBirth',
  'birthday',
  'dob',
  'address',
  'street',
  'streetAddress',
  'addressLine1',
  'addressLine2',
  'postalCode',
  'postcode',
  'zip',
  'zipCode',
  'city',
  'ssn',
  'nationalId',
  'taxId',
  'passport',
  'iban',
  'ip',
  'ipAddress',
];

export const DEFAULT_PUBLIC_PROPERTIES = ['sku', 'productId', 'product', 'category', 'invoice', 'lines', 'currency', 'campaign', 'utmSource', 'utmMedium', 'utmCampaign', 'page', 'path', 'orderId', 'quantity', 'plan'];

export function piiPolicy(personalTraits: readonly string[], publicProperties: readonly string[], nameTraits: readonly string[] = DEFAULT_NAME_TRAITS): PiiPolicy {
  const personal = new Set(personalTraits.map(looseKey));
  return {
    personalTraits: personal,
    nameTraits: new Set(nameTraits.map(looseKey).filter((k) => personal.has(k))),
    publicProperties: new Set(publicProperties.map(looseKey)),
  };
}
