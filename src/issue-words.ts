import type { z } from 'zod';

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : type === 'null' || type === 'undefined' ? type : `a ${type}`);

/**
 * A zod issue in the words of our error lines. zod's default messages say what its checks
 * compare, not what to write: "Invalid input: expected string, received undefined" for a missing
 * field, "expected int, received number" for 1.5 (which is a number), "Too small: expected number
 * to be >0", `expected one of "a"|"b"`. A message a schema wrote itself is kept as it is.
 */
export function issueWords(issue: z.core.$ZodIssue): string {
  const { message } = issue;
  switch (issue.code) {
    case 'invalid_type': {
      if (!message.startsWith('Invalid input: expected ')) return message;
      if (message.endsWith(', received undefined')) return 'required';
      if (issue.expected === 'int') return 'must be a whole number';
      // JSON's 1e400 parses as Infinity: a number, just not one that can be taken.
      if (issue.expected === 'number' && /received (?:-?Infinity|NaN)$/.test(message)) return 'must be a finite number';
      const received = / received (\w+)$/.exec(message)?.[1];
      return `must be ${article(issue.expected)}${received === undefined ? '' : `, not ${article(received)}`}`;
    }
    // An .int() past 2^53 (its own safe-integer bound) has the origin 'int'.
    case 'too_small':
      if (!message.startsWith('Too small:') || (issue.origin !== 'number' && issue.origin !== 'int')) return message;
      return issue.inclusive === false ? `must be more than ${String(issue.minimum)}` : `must be ${String(issue.minimum)} or more`;
    case 'too_big':
      if (!message.startsWith('Too big:') || (issue.origin !== 'number' && issue.origin !== 'int')) return message;
      return issue.inclusive === false ? `must be less than ${String(issue.maximum)}` : `must be ${String(issue.maximum)} or less`;
    case 'invalid_value':
      if (!message.startsWith('Invalid option:')) return message;
      return `must be one of ${issue.values.map(String).join(', ')}`;
    default:
      return message;
  }
}
