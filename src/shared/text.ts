/**
 * Text stored as a D1 column must be well-formed UTF-16: a lone surrogate (JSON allows
 * "\ud800") would be stored as something else than what was accepted.
 */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** `s` with every lone surrogate replaced by U+FFFD. */
export const wellFormed = (s: string): string => s.replace(LONE_SURROGATE, "\ufffd");
