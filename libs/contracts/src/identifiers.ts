/** SKUs: 1-64 letters, digits, `-` or `_`, starting with a letter or digit. Safe in stream ids, URLs and keys. */
export const SKU_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const SKU_RULE = 'sku must be 1-64 letters, digits, "-" or "_", starting with a letter or digit';
