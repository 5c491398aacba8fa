/** A GraphQL name of sane length: what a client's operation name must be to be logged or labelled. */
export const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
