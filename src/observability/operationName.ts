/** A GraphQL name of sane length: what a client's operation name must be to be logged or labelled. */
export const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/** Operation names are client text: logged only when they are a GraphQL name of sane length. */
export function loggableOperationName(name: string | null | undefined): string | null {
  if (name === null || name === undefined) return null;
  return OPERATION_NAME.test(name) ? name : "(invalid)";
}
