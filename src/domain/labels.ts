export const MAX_LABEL_LENGTH = 200;

/**
 * Cuts a label value to MAX_LABEL_LENGTH characters. Counts code points, not UTF-16 units,
 * so an emoji at the boundary is kept or dropped whole, never split into a lone surrogate.
 */
export function cutLabel(value: string): string {
  if (value.length <= MAX_LABEL_LENGTH) return value;
  let out = '';
  let count = 0;
  for (const char of value) {
    if (count === MAX_LABEL_LENGTH) break;
    out += char;
    count += 1;
  }
  return out;
}
