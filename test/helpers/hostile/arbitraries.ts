import fc from 'fast-check'
import { codePoints, MAX_BODY, type RawBodyKind } from './oracle.ts'

/**
 * The hostile-input properties' generators (fast-check): text with lone
 * surrogates, emoji, white space and worse; JSON text of any shape, keys that
 * repeat and `__proto__`; task bodies with each field absent, valid, at a
 * limit or wrong; raw bodies (bytes, invalid UTF-8, base64, UTF-16, a BOM),
 * content types and odd headers; methods, paths and queries; and every kind
 * of wrong Authorization.
 */
// ---------------------------------------------------------------- arbitraries: strings

export const LONE_SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff']
/** Every one of these is white space to JavaScript's trim(). */
export const WHITE_SPACE = [' ', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u1680', '\u2000', '\u200a', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff']
export const EMOJI = ['\u{1F600}', '\u{1F95B}', '\u{1F468}\u200d\u{1F469}\u200d\u{1F467}', '\u{1F1FA}\u{1F1F8}', '\u2764\ufe0f', '\u{1F3FD}']
export const NASTY = ['"', '\\', '\u0000', '\u001f', '\u007f', '\u0085', '\u200b', '\u202e', '</script>', '%00', '${x}', "'; DROP TABLE tasks;--", '{{7*7}}', '\\u0000']

/** One piece of text: mostly printable, with lone surrogates, emoji, white space and worse mixed in. */
export const unit: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.constantFrom(...LONE_SURROGATES) },
  { weight: 1, arbitrary: fc.constantFrom(...WHITE_SPACE) },
  { weight: 1, arbitrary: fc.constantFrom(...EMOJI) },
  { weight: 1, arbitrary: fc.constantFrom(...NASTY) },
)

export const text = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit, maxLength })
/** Around the 100 and 1000 character limits, in single code points (ASCII, emoji, lone low surrogates). */
export const nearLimit: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(99, 100, 101, 999, 1000, 1001), fc.constantFrom('a', '\u{1F600}', '\u00e9', '\udc00'), fc.constantFrom('', ' ', '\u{1F600}'))
  .map(([n, piece, lead]) => lead + piece.repeat(n))
export const whiteOnly: fc.Arbitrary<string> = fc.array(fc.constantFrom(...WHITE_SPACE), { minLength: 0, maxLength: 12 }).map((parts) => parts.join(''))
/** Long enough to reach and pass the 64 KiB body limit on their own. */
export const huge: fc.Arbitrary<string> = fc.tuple(unit, fc.integer({ min: 2_000, max: 40_000 })).map(([piece, n]) => piece.repeat(n))

// ---------------------------------------------------------------- arbitraries: JSON text

export const NUMBERS = ['0', '-0', '1', '-1', '0.1', '1E2', '1e999', '-1e999', '1e-999', '123456789012345678901234567890', '9007199254740993', '-1.5e+300', '4.9e-324']
export const ESCAPED = ['"\\ud800"', '"\\udc00\\ud800"', '"\\u0000"', '"\\u2028\\u2029"', '"\\/"', '"\\ud83d\\ude00"', '"a\\nb"']
export const KEYS = ['__proto__', 'constructor', 'prototype', 'title', 'detail', 'dueAt', 'isComplete', 'id', 'version', 'createdAt', 'updatedAt', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', '']

export const jsonString = (arb: fc.Arbitrary<string>): fc.Arbitrary<string> => arb.map((value) => JSON.stringify(value))

export const leaf: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('null', 'true', 'false'),
  fc.constantFrom(...NUMBERS),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.integer().map(String),
  jsonString(text(12)),
  fc.constantFrom(...ESCAPED),
)

export const key: fc.Arbitrary<string> = fc.oneof(fc.constantFrom(...KEYS), text(8))

/** JSON text of any shape, written out by hand so that keys may repeat and `__proto__` is a plain key. */
export const { json: jsonText } = fc.letrec<{ json: string; array: string; object: string }>((tie) => ({
  json: fc.oneof({ depthSize: 'small', withCrossShrink: true }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('json'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
  object: fc.array(fc.tuple(key, tie('json')), { maxLength: 5 }).map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`),
}))

export const deep: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: 100, max: 20_000 }), fc.constantFrom('[', '{"title":'), fc.boolean())
  .map(([depth, open, asField]) => {
    const close = open === '[' ? ']' : '}'
    const nested = open.repeat(depth) + (open === '[' ? '' : '"deep"') + close.repeat(depth)
    return asField ? `{"title":"Deep","extra":${nested}}` : nested
  })

/** An RFC 3339-shaped date-time, fields mostly in range, often at the ends of the calendar (0000-01-01, 9999-12-31) with an offset. */
export const dateTime: fc.Arbitrary<string> = fc
  .record({
    year: fc.oneof(fc.constantFrom(0, 0, 1, 1969, 1970, 2000, 2024, 2025, 9999, 9999), fc.integer({ min: 0, max: 9999 })),
    month: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(1, 2, 12) }, { weight: 6, arbitrary: fc.integer({ min: 1, max: 12 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 13) }),
    day: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(1, 28, 29, 30, 31) }, { weight: 6, arbitrary: fc.integer({ min: 1, max: 28 }) }, { weight: 1, arbitrary: fc.constantFrom(0, 32) }),
    hour: fc.oneof({ weight: 10, arbitrary: fc.constantFrom(0, 23) }, { weight: 10, arbitrary: fc.integer({ min: 0, max: 23 }) }, { weight: 1, arbitrary: fc.constant(24) }),
    minute: fc.oneof({ weight: 10, arbitrary: fc.constantFrom(0, 59) }, { weight: 10, arbitrary: fc.integer({ min: 0, max: 59 }) }, { weight: 1, arbitrary: fc.constant(60) }),
    second: fc.oneof(fc.constantFrom(0, 59), fc.integer({ min: 0, max: 59 })),
    fraction: fc.option(fc.stringMatching(/^\d{1,12}$/)),
    separator: fc.constantFrom('T', 'T', 'T', 'T', 't', ' '),
    zone: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('Z', 'Z', 'z', '+00:00', '-00:00') },
      { weight: 1, arbitrary: fc.constantFrom('', '+0100', '+01') },
      {
        weight: 6,
        arbitrary: fc
          .tuple(fc.constantFrom('+', '-'), fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 23 }) }, { weight: 1, arbitrary: fc.constant(24) }), fc.constantFrom(0, 1, 30, 45, 59, 59, 60))
          .map(([sign, h, m]) => `${sign}${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`),
      },
    ),
  })
  .map(({ year, month, day, hour, minute, second, fraction, separator, zone }) => {
    const two = (n: number) => String(n).padStart(2, '0')
    return `${String(year).padStart(4, '0')}-${two(month)}-${two(day)}${separator}${two(hour)}:${two(minute)}:${two(second)}${fraction === null ? '' : `.${fraction}`}${zone}`
  })

/** A local time on the first or last day of the calendar with an offset: the UTC instant may fall outside years 0000..9999. */
export const calendarEdge: fc.Arbitrary<string> = fc
  .record({
    end: fc.boolean(),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    sign: fc.constantFrom('+', '-'),
    offsetHours: fc.integer({ min: 0, max: 23 }),
    offsetMinutes: fc.integer({ min: 0, max: 59 }),
  })
  .map(({ end, hour, minute, sign, offsetHours, offsetMinutes }) => {
    const two = (n: number) => String(n).padStart(2, '0')
    return `${end ? '9999-12-31' : '0000-01-01'}T${two(hour)}:${two(minute)}:${end ? '59.999' : '00'}${sign}${two(offsetHours)}:${two(offsetMinutes)}`
  })

export const badDates = ['2025-12-31', 'invalid-date', '', ' ', '2025-12-31T23:59:59', '2025-12-31T23:59:59.Z', '+002025-12-31T00:00:00Z', '2025-W01-1', '1735689599', '2025-12-31T23:59:59.000Z ', '\u0662\u0660\u0662\u0665-01-01T00:00:00Z', '2024-02-29T12:00:00Z', '2023-02-29T12:00:00Z', '2025-12-31T23:59:59.000Z']

export const wrongType: fc.Arbitrary<string> = fc.oneof(fc.constantFrom('null', 'true', 'false', '0', '1', '[]', '{}', '["x"]', '{"title":"x"}', '1e999', '"true"'), jsonText)

/** A body shaped like a task: each field absent, valid, at a limit, or wrong; junk keys; sometimes padded to the 64 KiB edge. */
export const taskBody: fc.Arbitrary<string> = fc
  .record({
    title: fc.option(
      fc.oneof(
        { weight: 10, arbitrary: jsonString(text(20)) },
        { weight: 2, arbitrary: jsonString(nearLimit) },
        { weight: 1, arbitrary: jsonString(whiteOnly) },
        { weight: 1, arbitrary: jsonString(huge) },
        { weight: 2, arbitrary: wrongType },
      ),
      { freq: 6 },
    ),
    detail: fc.option(fc.oneof({ weight: 8, arbitrary: jsonString(text(40)) }, { weight: 2, arbitrary: jsonString(nearLimit) }, { weight: 1, arbitrary: jsonString(huge) }, { weight: 2, arbitrary: wrongType }), {
      freq: 2,
    }),
    dueAt: fc.option(
      fc.oneof({ weight: 6, arbitrary: jsonString(dateTime) }, { weight: 2, arbitrary: jsonString(calendarEdge) }, { weight: 1, arbitrary: jsonString(fc.constantFrom(...badDates)) }, { weight: 1, arbitrary: wrongType }),
      { freq: 3 },
    ),
    isComplete: fc.option(fc.oneof({ weight: 8, arbitrary: fc.constantFrom('true', 'false') }, { weight: 1, arbitrary: wrongType }), { freq: 3 }),
    junk: fc.array(fc.tuple(key, jsonText), { maxLength: 3 }),
    padTo: fc.option(fc.constantFrom(MAX_BODY - 1, MAX_BODY, MAX_BODY + 1, 100_000), { freq: 8 }),
    space: fc.constantFrom('', ' ', '\n\t '),
  })
  .map(({ title, detail, dueAt, isComplete, junk, padTo, space }) => {
    const entries: Array<[string, string]> = [...junk]
    for (const [name, value] of [['title', title], ['detail', detail], ['dueAt', dueAt], ['isComplete', isComplete]] as const) {
      if (value !== null) entries.splice(entries.length ? name.length % (entries.length + 1) : 0, 0, [name, value])
    }
    let body = `${space}{${entries.map(([k, v]) => `${JSON.stringify(k)}${space}:${space}${v}`).join(',')}}${space}`
    if (padTo !== null) {
      const room = padTo - Buffer.byteLength(body) - Buffer.byteLength(',"pad":""')
      if (room >= 0 && body.trim().endsWith('}') && entries.length) body = `${body.trimEnd().slice(0, -1)},"pad":"${'p'.repeat(room)}"}`
    }
    return body
  })

/** A body that is valid or nearly so, every field at or near a limit: the success path, at its edges. */
export const edgeTaskBody: fc.Arbitrary<string> = fc
  .record(
    {
      title: fc.oneof(text(20), nearLimit.filter((title) => codePoints(title) <= 101)),
      detail: fc.oneof(text(40), nearLimit, fc.constant(null)),
      dueAt: fc.oneof(calendarEdge, dateTime, fc.constant(null)),
      isComplete: fc.boolean(),
    },
    { requiredKeys: ['title', 'isComplete'] },
  )
  .map((body) => JSON.stringify(body))

/** Any JSON body: task-shaped most of the time, else anything, or nested very deep. */
export const anyJsonBody: fc.Arbitrary<string> = fc.oneof({ weight: 5, arbitrary: taskBody }, { weight: 3, arbitrary: edgeTaskBody }, { weight: 2, arbitrary: jsonText }, { weight: 1, arbitrary: deep })


// ---------------------------------------------------------------- arbitraries: raw bodies and headers

export const JSON_TYPES = ['application/json', 'application/json; charset=utf-8', 'Application/JSON;Charset=UTF-8', 'application/json ; charset="utf-8"', 'application/problem+json', 'application/vnd.api+json; ext=x', 'application/merge-patch+json']
export const OTHER_TYPES = ['text/plain', 'text/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/octet-stream', 'image/gif', 'application/jsonp', 'application/json-seq', 'application/xml', '*/*', 'json', ';application/json', '']

/** Printable ASCII and some bytes above 0x7F (latin1), as a header value may carry. */
export const headerText = (maxLength: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) }, { weight: 1, arbitrary: fc.integer({ min: 0x80, max: 0xff }) }).map((c) => String.fromCharCode(c)), maxLength }).map((value) => value.trim())

export const contentType: fc.Arbitrary<string | null> = fc.option(
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...JSON_TYPES) },
    { weight: 3, arbitrary: fc.constantFrom(...OTHER_TYPES) },
    { weight: 1, arbitrary: headerText(40) },
    { weight: 1, arbitrary: fc.integer({ min: 100, max: 300 }).map((n) => `application/json; ${'p=v; '.repeat(n)}q=1`) },
  ),
  { freq: 6 },
)


export const validTask: fc.Arbitrary<string> = fc
  .record({ title: text(30).filter((title) => title.trim() !== '' && codePoints(title) <= 100), isComplete: fc.boolean() })
  .map((body) => JSON.stringify(body))

export const rawBody: fc.Arbitrary<{ kind: RawBodyKind; bytes: Buffer | undefined }> = fc.oneof(
  { weight: 3, arbitrary: anyJsonBody.map((body) => ({ kind: 'json' as const, bytes: Buffer.from(body) })) },
  { weight: 2, arbitrary: validTask.map((body) => ({ kind: 'json' as const, bytes: Buffer.from(body) })) },
  { weight: 2, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes) => ({ kind: 'bytes' as const, bytes: Buffer.from(bytes) })) },
  {
    weight: 2,
    arbitrary: fc.tuple(validTask, fc.uint8Array({ minLength: 1, maxLength: 4 }).map((b) => Buffer.from(b.map((x) => x | 0x80)))).map(([body, junk]) => {
      // Bytes that are no UTF-8 inside the title string: `{"title":"<bytes>...`.
      const start = Buffer.from(body.slice(0, '{"title":"'.length))
      return { kind: 'invalid-utf8' as const, bytes: Buffer.concat([start, junk, Buffer.from(body.slice('{"title":"'.length))]) }
    }),
  },
  { weight: 1, arbitrary: validTask.map((body) => ({ kind: 'base64' as const, bytes: Buffer.from(Buffer.from(body).toString('base64')) })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'empty' as const, bytes: Buffer.alloc(0) }) },
  { weight: 1, arbitrary: fc.constantFrom(' ', '\n', '\r\n\t  ', ' '.repeat(70_000)).map((body) => ({ kind: 'white' as const, bytes: Buffer.from(body) })) },
  {
    weight: 1,
    arbitrary: fc.tuple(validTask, fc.boolean()).map(([body, le]) => {
      const bytes = Buffer.from(body, 'utf16le')
      if (!le) bytes.swap16()
      return { kind: 'utf16' as const, bytes }
    }),
  },
  { weight: 1, arbitrary: validTask.map((body) => ({ kind: 'bom' as const, bytes: Buffer.from(`\ufeff${body}`) })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const, bytes: undefined }) },
)

export const IF_MATCH = ['*', ' * ', '"1"', 'W/"1"', '"1", "2", "3"', '"999"', '1', '""', '"', ',', '*, "1"', 'W/*', '"-1"', '"1.0"', '" 1"']

export const oddHeader: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constant('If-Match'), fc.oneof(fc.constantFrom(...IF_MATCH), headerText(30))),
  fc.tuple(fc.constantFrom('X-Long', 'Accept', 'User-Agent', 'Cookie', 'X-Forwarded-For'), fc.integer({ min: 1, max: 4_000 }).map((n) => 'v'.repeat(n))),
  // Not Authorization: a request of its own credentials is property 3b's, whose oracle knows what they decide.
  fc.tuple(fc.constantFrom('Accept', 'Accept-Charset', 'Content-Language', 'X-Amzn-Trace-Id', 'Origin', 'X-Odd_Name'), headerText(60)),
  fc.tuple(fc.constant('Content-Encoding'), fc.constantFrom('gzip', 'br', 'identity', 'x')),
)


// ---------------------------------------------------------------- paths

/** Percent-encodes everything a path segment may not carry as is (UTF-8 bytes, so a lone surrogate goes as U+FFFD). */
export const encodeSegment = (value: string): string =>
  [...Buffer.from(value, 'utf8')].map((byte) => (byte < 0x80 && /[A-Za-z0-9\-._~!$&'()*+,;=:@]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)).join('')

export const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'] as const
export type Method = (typeof METHODS)[number]

/** A segment as written on the request line. `@id` stands for an existing task's id, filled in at run time. */
export const segment: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('tasks', 'tasks', 'tasks', 'TASKS', 'Tasks', 'notifications', 'NOTIFICATIONS', '..', '.', '', 'task', 'tasks.json', 'index.html') },
  { weight: 3, arbitrary: text(12).map(encodeSegment) },
  { weight: 2, arbitrary: fc.constantFrom('@id', '@id', '@ID') },
  { weight: 1, arbitrary: fc.constantFrom('%00', '%2F', '%2e%2e', '%2e', '%252F', '..%2F..%2F', '%C0%AE', '%E2%80%AE', '%F0%9F%98%80', '00000000-0000-4000-8000-000000000000') },
  { weight: 1, arbitrary: fc.constantFrom('%', '%zz', '%ff', '%c3%28', 'a%2', '%u0041', '%%') },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 7_000 }).map((n) => 'x'.repeat(n)) }, // a DynamoDB key holds at most 2048 bytes
)

export const QUERY_LIMITS = ['0', '1', '2', '7', '50', '100', '101', '-1', '1.0', '1e2', 'abc', '', '%00', '%ff', '1%20', '%201', '+1', '0x10', '01', '001', '0100', '%D9%A1', '9'.repeat(400), '1&limit=2', '[]']
export const query: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  { weight: 3, arbitrary: fc.constantFrom(...QUERY_LIMITS).map((limit) => `?limit=${limit}`) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.constantFrom('garbage', '', '%', '%ff', 'eyJ9', 'e30', '@cursor', 'eyJhZnRlciI6MX0'),
        fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.constant('x'.repeat(3_000))).map((after) => Buffer.from(JSON.stringify({ after })).toString('base64url')),
        text(20).map(encodeSegment),
      )
      .chain((cursor) => fc.constantFrom(`?cursor=${cursor}`, `?limit=2&cursor=${cursor}`, `?cursor=${cursor}&cursor=${cursor}`)),
  },
  { weight: 1, arbitrary: fc.constantFrom('?', '?&&', '?limit', '?limit=1&limit=1', '?__proto__[limit]=1', '?constructor=1&limit=3', '?limit[]=1', '?%ff=1') },
)

export interface PathCase {
  method: Method
  segments: string[]
  trailingSlash: boolean
  query: string
  /** Only for POST and PUT: none, or a valid task. */
  body: string | null
  contentType: string
}

export const pathCase: fc.Arbitrary<PathCase> = fc.record({
  method: fc.constantFrom(...METHODS),
  segments: fc.oneof(
    fc.array(segment, { minLength: 1, maxLength: 5 }),
    fc.tuple(fc.constantFrom('tasks', 'TASKS'), segment).map((pair) => [...pair]),
    fc.tuple(fc.constant('tasks'), segment, fc.constantFrom('notifications', 'x', 'NOTIFICATIONS')).map((triple) => [...triple]),
  ),
  trailingSlash: fc.constantFrom(false, false, false, true),
  query,
  body: fc.option(validTask, { freq: 2 }),
  contentType: fc.constantFrom('application/json', 'text/plain'),
})
  // The request line counts against Node's 16 KiB header limit: a longer one never reaches the app.
  .filter((c) => c.segments.join('/').length <= 9_000)


// ---------------------------------------------------------------- arbitraries: Authorization

/**
 * What the server makes of an Authorization header as written on the wire:
 * - `app`: it reaches the app, which answers (401 on a task route);
 * - `server`: Node's HTTP parser refuses the request (a bare CR or LF, NUL,
 *   DEL, folding) with a plain 400 before any Lambda runs, as API Gateway
 *   refuses malformed requests with its own 400;
 * - `either`: one of those two, when the bytes sneak a second header in that
 *   the parser may or may not accept;
 * - `too-large`: over Node's 16 KiB header limit: a 431, or the connection
 *   closed while the request is still being written;
 * - `size-edge`: within a few hundred bytes of that limit, either way.
 */
export type AuthFate = 'app' | 'server' | 'either' | 'too-large' | 'size-edge'

export interface AuthCase {
  what: string
  /** Authorization lines as sent (none, one, or two), `@forged<n>` standing for forged token n, filled in at run time. */
  lines: string[]
  fate: AuthFate
  /** No credentials at all (no header, or a blank one): `WWW-Authenticate: Bearer` exactly, no error code. */
  none: boolean
}

export const authCase = (what: string, lines: string[], fate: AuthFate = 'app', none = false): AuthCase => ({ what, lines, fate, none })

export const b64 = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
export const SCHEMES = ['Bearer ', 'Bearer ', 'bearer ', 'BEARER ', 'Bearer   ']

export const OTHER_SCHEMES = [
  'Bearer',
  'Bearer ',
  'Bearer=abc',
  'BearerAbc.def.ghi',
  'Bearer\tabc.def.ghi',
  'Bearer abc def',
  'Bearer "abc.def.ghi"',
  'Bearer abc.def.ghi, Bearer abc.def.ghi',
  'Bearer ../../etc/passwd',
  "Bearer ' OR '1'='1",
  'Bearer ${jndi:ldap://127.0.0.1/x}',
  'Bearer <script>alert(1)</script>',
  'Bearer null',
  'Bearer undefined',
  'Basic dGVzdC11c2VyOnBhc3N3b3Jk',
  'Basic Og==',
  'Digest username="test-user", realm="tasks", nonce="x", response="y"',
  'Token abc',
  'JWT abc.def.ghi',
  'Negotiate YIIBhg==',
  'AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20250101/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=abc',
  'ApiKey 00000000-0000-4000-8000-000000000000',
]

/** JWT headers worth trying: `none` in its spellings, HMAC, other families, and keys pointed elsewhere. */
export const JWT_HEADERS = [
  { alg: 'none', typ: 'JWT' },
  { alg: 'None' },
  { alg: 'NONE' },
  { alg: 'nOnE' },
  { alg: 'HS256', typ: 'JWT' },
  { alg: 'RS256', typ: 'JWT' },
  { alg: 'RS256', kid: '../../../../dev/null' },
  { alg: 'RS256', kid: "' OR 1=1 --" },
  { alg: 'RS256', jku: 'http://127.0.0.1:1/jwks.json', kid: 'x' },
  { alg: 'RS256', x5u: 'http://127.0.0.1:1/cert.pem' },
  { alg: 'RS256', jwk: { kty: 'oct', k: 'c2VjcmV0' } },
  { alg: 'ES256' },
  { alg: 'PS256' },
  { alg: 'EdDSA' },
  { alg: 'RS256', crit: ['exp'] },
  { alg: 'RS256', b64: false, crit: ['b64'] },
]

/** Three (or two, four, five) base64url parts that look like a token and are not one. */
export const jwtShaped: fc.Arbitrary<string> = fc
  .record({
    header: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...JWT_HEADERS).map(b64) }, { weight: 1, arbitrary: jsonText.map(b64) }, { weight: 1, arbitrary: fc.constantFrom('', 'e30', 'eyJ', '%%%', 'bnVsbA') }),
    payload: fc.oneof(
      {
        weight: 3,
        arbitrary: fc
          .record({ sub: fc.constantFrom('test-user', 'admin', '', '*'), exp: fc.constantFrom(0, 4_102_444_800, -1, 1e308), scope: fc.constantFrom('tasks:read tasks:write', '*', 'admin') }, { requiredKeys: [] })
          .map(b64),
      },
      { weight: 1, arbitrary: jsonText.map(b64) },
      { weight: 1, arbitrary: fc.constantFrom('', 'e30', '!!!') },
    ),
    signature: fc.oneof(fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('base64url')), fc.constantFrom('', 'AA', 'A', '=', 'AAAA==')),
    parts: fc.constantFrom(3, 3, 3, 3, 2, 4, 5),
  })
  .map(({ header, payload, signature, parts }) => [header, payload, signature, 'AAAA', 'BBBB'].slice(0, parts).join('.'))

/** Bytes Node's HTTP parser refuses inside a header value, each spliced into an otherwise plain one. */
export const REFUSED_BYTES = ['\u0000', '\u0001', '\u0008', '\u000b', '\u000c', '\u001f', '\u007f', '\r', '\n']

export const authorization: fc.Arbitrary<AuthCase> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(authCase('no Authorization header', [], 'app', true)) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\t', '   ').map((value) => authCase(`blank ${JSON.stringify(value)}`, [value], 'app', true)) },
  { weight: 2, arbitrary: fc.constantFrom(...OTHER_SCHEMES).map((value) => authCase('another scheme, or Bearer misspelt', [value])) },
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom(...SCHEMES), fc.oneof(headerText(200), fc.stringMatching(/^[A-Za-z0-9\-._~+/]{1,300}=*$/))).map(([scheme, value]) => authCase('Bearer and a random string', [`${scheme}${value}`])) },
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...SCHEMES), jwtShaped).map(([scheme, token]) => authCase('Bearer and JWT-shaped garbage', [`${scheme}${token}`])) },
  {
    weight: 6,
    arbitrary: fc.tuple(fc.constantFrom(...SCHEMES), fc.nat({ max: 999 }), fc.constantFrom('', ' ')).map(([scheme, n, tail]) => authCase('Bearer and a forged token', [`${scheme}@forged${n}${tail}`])),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom(4_000, 8_000, 12_000, 15_000, 15_500, 16_000, 16_300, 16_600, 17_000, 24_000, 65_000), fc.constantFrom('a', 'eyJhbGciOiJub25lIn0.', '.')).map(([size, piece]) => {
      const value = `Bearer ${piece.repeat(Math.ceil(size / piece.length))}`.slice(0, size)
      const fate: AuthFate = size <= 15_500 ? 'app' : size >= 17_000 ? 'too-large' : 'size-edge'
      return authCase(`a ${size}-byte value`, [value], fate)
    }),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(jwtShaped, fc.constantFrom('X-Injected: 1', 'Authorization: Bearer @forged1', 'Set-Cookie: session=stolen', 'Host: evil.example.com', 'X-Forwarded-For: 127.0.0.1')).map(([token, injected]) => {
      // CRLF then a header line: the parser reads a second header (Host may clash with ours, so either fate).
      return authCase(`header injection: ${injected.split(':')[0]}`, [`Bearer ${token}\r\n${injected}`], injected.startsWith('Host') ? 'either' : 'app')
    }),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom(...REFUSED_BYTES), fc.constantFrom('X-Injected: 1', ' folded', '', '\r\nGET /tasks HTTP/1.1')).map(([byte, rest]) => authCase(`a refused byte ${JSON.stringify(byte)}`, [`Bearer abc${byte}${rest}`], 'server')),
  },
  { weight: 1, arbitrary: fc.constant(authCase('obsolete line folding', ['Bearer abc\r\n def'], 'server')) },
  {
    weight: 1,
    arbitrary: fc.tuple(jwtShaped, fc.nat({ max: 999 })).map(([token, n]) => authCase('two Authorization headers, neither valid', [`Bearer ${token}`, `Bearer @forged${n}`])),
  },
)

/**
 * Tokens that look right and are not: `alg: none`, HMAC keyed with the
 * issuer's public key, a valid token's payload changed, signatures swapped or
 * cut, the issuer's own key with a claim wrong (expired, not yet valid, other
 * issuer or audience, no subject), unknown keys. Each carries both scopes, so
 * one the app wrongly took would be a 2xx, never a 403.

/** A request of property 3b: its route, `@id` a live task and `@none` an id that is no task. */
export interface AuthRoute {
  method: Method
  path: string
  query: string
  target: number
  body: 'valid' | 'invalid JSON' | 'too large' | 'text/plain'
}

/** Every route and method a token opens, and (less often) anything else, the catch-all's preflight and JSON 404 included. */
export const authRoute: fc.Arbitrary<AuthRoute> = fc.record({
  pair: fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constantFrom<[Method, string]>(
        ['GET', '/tasks'], ['HEAD', '/tasks'], ['POST', '/tasks'], ['GET', '/TASKS'], ['POST', '/tasks/'],
        ['GET', '/tasks/@id'], ['HEAD', '/tasks/@id'], ['PUT', '/tasks/@id'], ['DELETE', '/tasks/@id'],
        ['GET', '/tasks/@none'], ['PUT', '/tasks/@none'], ['DELETE', '/tasks/@none'],
        ['GET', '/tasks/@id/notifications'], ['GET', '/tasks/@none/notifications'],
      ),
    },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...METHODS), fc.constantFrom('/tasks', '/tasks/@id', '/tasks/@id/notifications', '/', '/nope', '/tasks/@id/x', '/tasks/a/b/c')) },
  ),
  query: fc.constantFrom('', '', '?limit=1', '?limit=abc', '?cursor=garbage'),
  target: fc.nat({ max: 2 }),
  // A write that got past authentication would store this; the body is never read before the token is checked, so 413/415/400 never come first.
  body: fc.constantFrom('valid', 'valid', 'invalid JSON', 'too large', 'text/plain'),
}).map(({ pair: [method, path], ...rest }) => ({ method, path, ...rest }))
