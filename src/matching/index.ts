/** Matching and duplicates: what ingest, the CLI and the API call. */
export { type MatchBeforeIngestResult, matchBeforeIngest } from './before-ingest.ts';
export {
  type DuplicateGroup,
  type DuplicatesReport,
  duplicatesReport,
  formatDuplicatesReport,
} from './duplicates.ts';
export { type FindMatchOptions, findMatch, type MatchCandidate, type MatchResult } from './find.ts';
export {
  getHold,
  type Hold,
  type HoldDecision,
  holdMissingValue,
  holdPossibleDuplicate,
  listHolds,
  resolveHold,
} from './holds.ts';
export { type IndexItem, indexMatchKeys, indexMatchKeysBatch } from './index-keys.ts';
export {
  innProblem,
  normalizeArticle,
  normalizeBarcode,
  normalizeEmail,
  normalizeInn,
  normalizeKpp,
  normalizePhone,
  parsePhone,
} from './normalize.ts';
export {
  DEFAULT_MATCH_RULES,
  MATCH_RULES,
  type MatchRule,
  matchingConfigSchema,
  matchKeysOf,
} from './rules.ts';
