// The page's files come from the service itself, with strong ETags (a browser revalidates them to a 304), without a
// token even when the API needs one, and under a content security policy that allows nothing from elsewhere.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestApp, type TestApp } from '../../helpers/app.js';
import { TokenVerifier, parseTokens } from '../../../src/auth/tokens.js';

let t: TestApp;
before(async () => {
  t = await openTestApp({ auth: { tokens: new TokenVerifier(parseTokens('reader:read:page-test-reader-token-0123', 'AUTH_TOKENS'), undefined), jwt: undefined } });
});
after(() => t.close());

test('the page and its files: served without a token, with ETags, revalidated to 304', async () => {
  for (const [path, type] of [['/', /^text\/html/], ['/ui/app.js', /^text\/javascript/], ['/ui/style.css', /^text\/css/]] as const) {
    const res = await t.app.inject(path);
    assert.equal(res.statusCode, 200, path);
    assert.match(res.headers['content-type'] as string, type);
    const tag = res.headers.etag as string;
    assert.match(tag, /^"[\w-]{22}"$/);
    assert.equal(res.headers['cache-control'], 'no-cache');
    const again = await t.app.inject({ url: path, headers: { 'if-none-match': `W/${tag}` } });
    assert.equal(again.statusCode, 304, `${path} revalidates`);
    assert.equal(again.body, '');
    assert.equal((await t.app.inject({ url: path, headers: { 'if-none-match': '"something-else"' } })).statusCode, 200);
  }
  // The API itself still asks for the token.
  assert.equal((await t.app.inject('/v1/topologies')).statusCode, 401);
});

test('the page loads nothing from elsewhere', async () => {
  const res = await t.app.inject('/');
  assert.match(res.headers['content-security-policy'] as string, /default-src 'none'; script-src 'self'; style-src 'self';.* connect-src 'self'/);
  assert.doesNotMatch(res.body, /(src|href)="(https?:)?\/\//);
  const script = (await t.app.inject('/ui/app.js')).body;
  assert.doesNotMatch(script, /https?:\/\/|innerHTML|outerHTML|insertAdjacentHTML|eval\(/);
});

test('an unknown file is a 404 problem document; the page is at / only', async () => {
  for (const path of ['/ui/nope.js', '/ui/index.html']) {
    const res = await t.app.inject(path);
    assert.equal(res.statusCode, 404, path);
    assert.match(res.headers['content-type'] as string, /^application\/problem\+json/);
  }
  assert.equal((await t.app.inject('/ui/..%2Fpackage.json')).statusCode, 400, 'a path is never a file name');
});

test("the matrix's colours keep its letters readable (WCAG AA, 4.5:1)", async () => {
  const css = (await t.app.inject('/ui/style.css')).body;
  const luminance = (hex: string) => {
    const [r, g, b] = [1, 3, 5].map((i) => {
      const c = parseInt(hex.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
  };
  const rules = [...css.matchAll(/\.o-([\w-]+) \{ background: (#[0-9a-f]{6}); color: (#[0-9a-f]{6});/g)];
  assert.ok(rules.length >= 12, 'a rule per letter, the pod itself and no common family');
  for (const [, name, background, colour] of rules) {
    const [light, dark] = [luminance(background!), luminance(colour!)].sort((a, b) => b - a);
    const ratio = (light! + 0.05) / (dark! + 0.05);
    assert.ok(ratio >= 4.5, `.o-${name}: ${ratio.toFixed(2)}:1`);
  }
});
