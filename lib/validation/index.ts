/**
 * Input validation shared by the subgraphs and the gateway: the custom
 * scalars' parsers, `@length` enforcement and the gateway's scalar check.
 * See README.md.
 */
export { MAX_DATE_TIME_LENGTH, MAX_EMAIL_LENGTH, MAX_PHONE_LENGTH, SCALARS, type ScalarParser, declaredScalars, scalarResolversFor } from './scalars';
export { LengthLimitError, MAX_ID_LENGTH, type LengthLimit, applyLengthLimits, inputPositions, readLength } from './length';
export { installScalarValidation, scalarValidationPlugin } from './gateway';
