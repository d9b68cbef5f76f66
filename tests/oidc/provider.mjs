#!/usr/bin/env node
// A real OpenID Connect provider for Space Data Lab login tests.
//
// panva/oidc-provider (a certified OP implementation) with one confidential client and a
// fixed set of users, each with a password and groups. The login form checks passwords
// (the library's own devInteractions form accepts any password, so it is switched off);
// consent is granted automatically for the one registered (first-party) client.
//
// Settings, each from (highest first) a command-line flag, an environment variable, or
// the JSON file given with --config / OIDC_CONFIG:
//
//   --host H              OIDC_HOST              listen address       (default 127.0.0.1)
//   --port N              OIDC_PORT              0 picks a free port  (default 0)
//   --issuer URL          OIDC_ISSUER            default http://<host>:<port>
//   --client-id ID        OIDC_CLIENT_ID         (default sdl-hub)
//   --client-secret S     OIDC_CLIENT_SECRET     (required)
//   --redirect-uri URL    OIDC_REDIRECT_URIS     repeat the flag; the variable is comma-separated
//   --token-auth-method M OIDC_TOKEN_AUTH_METHOD client_secret_post (OAuthenticator's default,
//                                                basic_auth=False) or client_secret_basic
//   --users FILE          OIDC_USERS_FILE        JSON {"name": {"password": "...", "groups": [...],
//                                                "email": "..."}}; OIDC_USERS may hold the JSON
//                                                itself; the config file may have "users" inline
//
// Once listening it prints one line to stdout:
//   OIDC-PROVIDER-READY {"issuer": "...", "port": N, "client_id": "..."}
// and then one line per request. SIGINT/SIGTERM stop it.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

function fail(message) {
  process.stderr.write(`provider.mjs: ${message}\n`);
  process.exit(2);
}

// oidc-provider 9 needs Node.js >= 20 (on Debian 12's Node 18.20 it dies with
// "TypeError: URL.parse is not a function"); say so before loading it.
const MIN_NODE = 20;
if (Number(process.versions.node.split('.')[0]) < MIN_NODE) {
  fail(`needs Node.js >= ${MIN_NODE}, this is ${process.version}`);
}
const { default: Provider } = await import('oidc-provider');

function readJson(path, what) {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    return fail(`cannot read ${what} ${path}: ${err.message}`);
  }
}

function loadSettings() {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        config: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        issuer: { type: 'string' },
        'client-id': { type: 'string' },
        'client-secret': { type: 'string' },
        'redirect-uri': { type: 'string', multiple: true },
        'token-auth-method': { type: 'string' },
        users: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    });
  } catch (err) {
    return fail(err.message);
  }
  const args = parsed.values;
  if (args.help) {
    process.stdout.write(readFileSync(new URL(import.meta.url), 'utf8').split('\n')
      .filter((line) => line.startsWith('//')).map((line) => line.slice(3)).join('\n'));
    process.stdout.write('\n');
    process.exit(0);
  }
  const env = process.env;
  const configPath = args.config ?? env.OIDC_CONFIG;
  const file = configPath ? readJson(configPath, 'config file') : {};
  const pick = (flag, variable, key, fallback) => args[flag] ?? env[variable] ?? file[key] ?? fallback;

  const host = pick('host', 'OIDC_HOST', 'host', '127.0.0.1');
  const port = Number(pick('port', 'OIDC_PORT', 'port', 0));
  if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid port ${port}`);

  let redirectUris = args['redirect-uri'];
  if (!redirectUris && env.OIDC_REDIRECT_URIS) {
    redirectUris = env.OIDC_REDIRECT_URIS.split(',').map((s) => s.trim()).filter(Boolean);
  }
  redirectUris ??= file.redirect_uris ?? (file.redirect_uri ? [file.redirect_uri] : undefined);
  if (!redirectUris?.length) fail('at least one --redirect-uri is required');

  let users;
  if (args.users) users = readJson(args.users, 'users file');
  else if (env.OIDC_USERS_FILE) users = readJson(env.OIDC_USERS_FILE, 'users file');
  else if (env.OIDC_USERS) {
    try {
      users = JSON.parse(env.OIDC_USERS);
    } catch (err) {
      fail(`OIDC_USERS is not JSON: ${err.message}`);
    }
  } else if (typeof file.users === 'string') users = readJson(file.users, 'users file');
  else users = file.users;
  if (!users || typeof users !== 'object' || !Object.keys(users).length) {
    fail('no users: pass --users FILE (JSON {"name": {"password": "...", "groups": [...]}})');
  }
  for (const [name, user] of Object.entries(users)) {
    if (typeof user?.password !== 'string' || !user.password) fail(`user ${name} has no password`);
    if (user.groups !== undefined && !Array.isArray(user.groups)) fail(`groups of ${name} must be a list`);
  }

  const clientSecret = pick('client-secret', 'OIDC_CLIENT_SECRET', 'client_secret', undefined);
  if (!clientSecret) fail('--client-secret is required');
  const tokenAuthMethod = pick('token-auth-method', 'OIDC_TOKEN_AUTH_METHOD', 'token_auth_method', 'client_secret_post');
  if (!['client_secret_post', 'client_secret_basic'].includes(tokenAuthMethod)) {
    fail(`--token-auth-method must be client_secret_post or client_secret_basic, not ${tokenAuthMethod}`);
  }

  return {
    host,
    port,
    issuer: pick('issuer', 'OIDC_ISSUER', 'issuer', undefined),
    clientId: pick('client-id', 'OIDC_CLIENT_ID', 'client_id', 'sdl-hub'),
    clientSecret,
    redirectUris,
    tokenAuthMethod,
    users,
  };
}

const esc = (value) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(title, body, status = 200) {
  return {
    status,
    html: `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${esc(title)}</title></head>
<body><h1>${esc(title)}</h1>
${body}
</body></html>`,
  };
}

function loginPage(uid, { login = '', error = '' } = {}) {
  const message = error ? `<p class="error" role="alert">${esc(error)}</p>\n` : '';
  return page('Sign in to the test provider', `${message}<form method="post" action="/interaction/${esc(uid)}/login" autocomplete="off">
  <input type="text" name="login" placeholder="Username" required value="${esc(login)}">
  <input type="password" name="password" placeholder="Password" required>
  <button type="submit">Sign in</button>
</form>
<p><a href="/interaction/${esc(uid)}/abort">Cancel</a></p>`, error ? 401 : 200);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function claimsOf(name, user) {
  return {
    sub: name,
    preferred_username: name,
    name: user.name ?? name,
    email: user.email ?? `${name}@example.org`,
    email_verified: true,
    groups: [...(user.groups ?? [])],
  };
}

function buildProvider(settings, issuer) {
  const { users } = settings;
  const configuration = {
    clients: [{
      client_id: settings.clientId,
      client_secret: settings.clientSecret,
      redirect_uris: settings.redirectUris,
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: settings.tokenAuthMethod,
    }],
    // The scope `groups` releases the claim `groups` (like Keycloak's or Dex's groups scope).
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    scopes: ['openid', 'offline_access', 'profile', 'email', 'groups'],
    // Claims in the ID token as well as at userinfo, so either way of reading them works.
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx, id) {
      if (!Object.hasOwn(users, id)) return undefined;
      return { accountId: id, claims: async () => claimsOf(id, users[id]) };
    },
    // The one client is first-party: grant what it asks for without a consent screen.
    async loadExistingGrant(ctx) {
      const { oidc } = ctx;
      const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
      if (grantId) {
        const existing = await oidc.provider.Grant.find(grantId);
        if (existing) return existing;
      }
      const grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
      grant.addOIDCScope(oidc.params.scope ?? 'openid');
      await grant.save();
      return grant;
    },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 120,
      IdToken: 3600,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      RefreshToken: 86400,
    },
    renderError(ctx, out) {
      const body = Object.entries(out).map(([k, v]) => `<p><strong>${esc(k)}</strong>: ${esc(v)}</p>`).join('\n');
      const rendered = page('Error at the test provider', body);
      ctx.type = 'html';
      ctx.body = rendered.html;
    },
  };
  const provider = new Provider(issuer, configuration);

  provider.on('server_error', (_ctx, err) => process.stderr.write(`server_error: ${err.stack}\n`));
  for (const event of ['grant.error', 'userinfo.error', 'authorization.error', 'backchannel.error']) {
    provider.on(event, (_ctx, err) => process.stdout.write(`${event}: ${err.name}: ${err.message} ${err.error_description ?? ''}\n`));
  }

  // Log every request, then handle /interaction/<uid>[/login|/abort] ourselves.
  provider.use(async (ctx, next) => {
    const start = Date.now();
    try {
      await next();
    } finally {
      process.stdout.write(`${ctx.method} ${ctx.path} -> ${ctx.status} (${Date.now() - start} ms)\n`);
    }
  });
  provider.use(async (ctx, next) => {
    const match = /^\/interaction\/([\w-]+)(?:\/(login|abort))?$/.exec(ctx.path);
    if (!match) return next();
    const [, uid, action] = match;
    ctx.set('cache-control', 'no-store');
    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch (err) {
      const out = page('Login session expired', `<p>${esc(err.message)}</p><p>Start the login again from the application.</p>`, 400);
      ctx.status = out.status;
      ctx.type = 'html';
      ctx.body = out.html;
      return undefined;
    }
    if (details.uid !== uid) ctx.throw(400, 'interaction mismatch');

    if (action === 'abort') {
      return provider.interactionFinished(ctx.req, ctx.res, {
        error: 'access_denied', error_description: 'End-User aborted interaction',
      }, { mergeWithLastSubmission: false });
    }
    if (details.prompt.name !== 'login') {
      // Consent is handled by loadExistingGrant; nothing else is implemented.
      ctx.throw(501, `prompt ${details.prompt.name} not implemented`);
    }
    if (action === 'login') {
      if (ctx.method !== 'POST') ctx.throw(405);
      const form = await readForm(ctx.req);
      const login = form.get('login') ?? '';
      const password = form.get('password') ?? '';
      const user = Object.hasOwn(settings.users, login) ? settings.users[login] : undefined;
      if (!user || user.password !== password) {
        process.stdout.write(`login refused for ${JSON.stringify(login)}\n`);
        const out = loginPage(uid, { login, error: 'Invalid username or password.' });
        ctx.status = out.status;
        ctx.type = 'html';
        ctx.body = out.html;
        return undefined;
      }
      process.stdout.write(`login ok for ${JSON.stringify(login)}\n`);
      return provider.interactionFinished(ctx.req, ctx.res, {
        login: { accountId: login },
      }, { mergeWithLastSubmission: false });
    }
    if (ctx.method !== 'GET') ctx.throw(405);
    const out = loginPage(uid, { login: details.params.login_hint ?? '' });
    ctx.status = out.status;
    ctx.type = 'html';
    ctx.body = out.html;
    return undefined;
  });
  return provider;
}

const settings = loadSettings();
let handler = (_req, res) => { res.statusCode = 503; res.end('starting'); };
const server = http.createServer((req, res) => handler(req, res));
server.on('error', (err) => fail(`cannot listen on ${settings.host}:${settings.port}: ${err.message}`));
server.listen(settings.port, settings.host, () => {
  const { port } = server.address();
  const issuer = settings.issuer ?? `http://${settings.host}:${port}`;
  const provider = buildProvider(settings, issuer);
  handler = provider.callback();
  const ready = { issuer, port, client_id: settings.clientId, redirect_uris: settings.redirectUris };
  process.stdout.write(`OIDC-PROVIDER-READY ${JSON.stringify(ready)}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    server.close();
    server.closeAllConnections?.();
    process.exit(0);
  });
}
