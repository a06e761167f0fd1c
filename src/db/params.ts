/** Builds a statement's parameter list alongside its text: `param(value, cast)` appends and names it. */
export type Param = (value: unknown, cast?: string) => string;

export function sqlParams(): { params: unknown[]; param: Param } {
  const params: unknown[] = [];
  const param: Param = (value, cast) => {
    params.push(value);
    return cast ? `$${params.length}::${cast}` : `$${params.length}`;
  };
  return { params, param };
}
