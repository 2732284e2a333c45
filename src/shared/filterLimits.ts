/**
 * Caps on filter lists that become bound parameters of one statement (versions, intervals: two
 * each, data sources), so a filter can never exceed D1's 100 and fail at the database.
 */
export const MAX_FILTER_VERSIONS = 50;
export const MAX_FILTER_INTERVALS = 40;
export const MAX_FILTER_DATASOURCES = 50;
