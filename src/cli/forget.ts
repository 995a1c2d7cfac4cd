import { z } from 'zod';
import { httpUrl, networkReason } from './deliver.js';
import { flagsError, parseFlags, type Io } from './io.js';
import { missingTokenHint, TOKEN_FILE_USAGE, tokenOf } from './token.js';
import { queryToken } from '../webhook/auth.js';

export const FORGET_USAGE = `statusmate-exporter forget --url URL [--token T | --token-file F] --page P [--component U | --incident U | --maintenance U]
  --url URL         the exporter (its PORT, or METRICS_PORT when set): POST URL/-/forget
  --token T         a WEBHOOK_TOKEN token (not needed on METRICS_PORT); default: the ?token= of --url
  ${TOKEN_FILE_USAGE}
  --page P          the status page (its status_page label); alone, the whole page is forgotten
  --component UUID  forget this component of the page, with its part in incidents and maintenances
  --incident UUID   forget this incident of the page
  --maintenance UUID forget this maintenance of the page
  Every replica forgets it, and it survives restarts; a page or component that STATUS_PAGES_FILE
  declares comes back at once as the file declares it. Sent once: not retried.`;

const uuid = z.guid({ error: 'must be a UUID' });
const optionsSchema = z
  .object({
    url: z.string({ error: 'is required' }).min(1),
    token: z.string().min(1).optional(),
    'token-file': z.string().min(1).optional(),
    page: z.string({ error: 'is required' }).min(1).max(200),
    component: uuid.optional(),
    incident: uuid.optional(),
    maintenance: uuid.optional(),
  })
  .refine((options) => [options.component, options.incident, options.maintenance].filter((value) => value !== undefined).length <= 1, {
    error: 'give at most one of --component, --incident and --maintenance',
    path: ['component'],
  });
type ForgetOptions = z.infer<typeof optionsSchema>;

export function parseForgetOptions(args: string[]): ForgetOptions {
  const { values } = parseFlags({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      page: { type: 'string' },
      component: { type: 'string' },
      incident: { type: 'string' },
      maintenance: { type: 'string' },
    },
  });
  const parsed = optionsSchema.safeParse(values);
  if (!parsed.success) throw flagsError(parsed.error, values);
  return { ...parsed.data, token: tokenOf(parsed.data) };
}

/** POST /-/forget's URL from --url: the exporter's base URL, or any URL of it (its path is replaced). */
export function forgetUrl(raw: string): URL {
  const url = httpUrl(raw);
  url.pathname = '/-/forget';
  url.search = '';
  return url;
}

export function forgetBody(options: ForgetOptions): Record<string, string> {
  return {
    status_page: options.page,
    ...(options.component ? { component_uuid: options.component } : {}),
    ...(options.incident ? { incident_uuid: options.incident } : {}),
    ...(options.maintenance ? { maintenance_uuid: options.maintenance } : {}),
  };
}

/** `forget`: exit 0 once the exporter forgot, 1 with its answer otherwise. */
export async function forgetCommand(args: string[], io: Io): Promise<number> {
  const options = parseForgetOptions(args);
  const url = forgetUrl(options.url);
  // The webhook URL StatusMate is given, pasted as --url, carries its token as ?token=: the path
  // and query are replaced, but without --token that token is the one meant (send and replay keep
  // it too). It goes in the header, as --token does.
  const token = options.token ?? (queryToken(httpUrl(options.url).searchParams) || undefined);
  const body = forgetBody(options);
  const what = Object.values(body).join(' ');
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    io.err(`forget ${what}: not sent: ${networkReason(url, error)}`);
    return 1;
  }
  const text = (await response.text()).slice(0, 500);
  if (response.status === 200) {
    io.out(`forget ${what}: forgotten (HTTP 200) ${text}`);
    return 0;
  }
  const detail = response.status === 401 && !token ? missingTokenHint('a WEBHOOK_TOKEN token; none is needed on METRICS_PORT') : text;
  io.err(`forget ${what}: HTTP ${response.status} ${detail}`);
  return 1;
}
