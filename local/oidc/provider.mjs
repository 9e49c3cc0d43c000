#!/usr/bin/env node
/*
 * A real OpenID Connect provider on loopback for the local stack and its tests: oidc-provider 8.8.1
 * (panva, OpenID Certified), in memory, with its own development login page.
 *
 *   node provider.mjs --redirect-uri http://127.0.0.1:8080/ [--redirect-uri ...]
 *       [--post-logout-redirect-uri URL ...]   (default: the redirect URIs)
 *       [--host 127.0.0.1] [--port 0] [--client-id realtime-vend-local]
 *       [--audience realtime-vend-local] [--scope realtime-vend/call] [--access-token-ttl 600]
 *       [--exit-on-stdin-eof]
 *
 * Prints one JSON line, {"issuer": "http://127.0.0.1:N", "port": N}, once it listens; the issuer is its
 * own address, so --port 0 (a free port) still gives tokens a known `iss`. Stops on SIGTERM/SIGINT and,
 * with --exit-on-stdin-eof, when its stdin closes (a parent holding the pipe takes it along when it dies).
 *
 * What a browser page (another loopback origin) gets:
 * - one public client: no secret (token_endpoint_auth_method none), PKCE S256 required, grant types
 *   authorization_code + refresh_token, response type code, the redirect URIs given.
 * - CORS: discovery and JWKS are open to any origin (oidc-provider's own choice); the token and
 *   revocation endpoints answer the origins of the redirect URIs (clientBasedCORS).
 * - sign-in: our own login page at /interaction/<uid> (loginPage below; oidc-provider's development one
 *   imports a web font, which fails offline). It fetches nothing, not even a favicon (the provider
 *   answers /favicon.ico with an empty 204 too). Any login name and any password sign in, and the
 *   login name is the subject (`sub`), so two names are two users. Consent is granted automatically
 *   (loadExistingGrant below grants what the client asks for), so sign-in is one form.
 * - access tokens: RS256 JWTs (resource indicators with a default resource, so the page never sends
 *   `resource`) with aud = --audience, client_id, and scope = the requested scopes among --scope; their
 *   lifetime is --access-token-ttl seconds (a test uses a few).
 * - refresh tokens for every code exchange (issueRefreshToken below), without offline_access; they are
 *   rotated on use (oidc-provider's default for public clients) and die with the sign-in session.
 * - sign-out: RP-initiated logout at end_session_endpoint. Its confirmation form submits itself (as
 *   Cognito's /logout signs out without asking), then it redirects to post_logout_redirect_uri.
 *
 * oidc-provider 8.8.1 is the newest release that supports Node 20 (v9 warns "Unsupported runtime" below
 * Node 22). It is a development stand-in on loopback only: keys, sessions and grants live in memory and
 * die with the process.
 */

import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';

// oidc-provider prints its notices with console.info; stdout carries only the ready line.
console.info = console.error;
console.log = console.error;
// Its warning that the in-memory store is development-only is what
// this stand-in is for: left out, so that `scripts/local --auth oidc` prints nothing alarming.
const warn = console.warn;
console.warn = (...args) => {
  if (!String(args[0]).includes('quick start development-only')) warn(...args);
};

// The one resource server. Resource indicators must be absolute URIs; `aud` is set apart (--audience).
const RESOURCE = 'urn:realtime-vend:api';

function usage(message) {
  process.stderr.write(`provider.mjs: ${message}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const options = {
    host: '127.0.0.1',
    port: 0,
    clientId: 'realtime-vend-local',
    audience: 'realtime-vend-local',
    scope: 'realtime-vend/call',
    accessTokenTtl: 600,
    redirectUris: [],
    postLogoutRedirectUris: [],
    exitOnStdinEof: false,
  };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--exit-on-stdin-eof') {
      options.exitOnStdinEof = true;
      continue;
    }
    const [flag, inline] = argv[i].split(/=(.*)/s);
    const value = inline !== undefined ? inline : argv[++i];
    if (value === undefined) usage(`${flag} needs a value`);
    if (flag === '--host') options.host = value;
    else if (flag === '--port') options.port = Number(value);
    else if (flag === '--client-id') options.clientId = value;
    else if (flag === '--audience') options.audience = value;
    else if (flag === '--scope') options.scope = value;
    else if (flag === '--access-token-ttl') options.accessTokenTtl = Number(value);
    else if (flag === '--redirect-uri') options.redirectUris.push(value);
    else if (flag === '--post-logout-redirect-uri') options.postLogoutRedirectUris.push(value);
    else usage(`unknown option ${flag}`);
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) usage('--port must be 0..65535');
  if (!Number.isInteger(options.accessTokenTtl) || options.accessTokenTtl < 1) usage('--access-token-ttl must be a whole number of seconds');
  if (!options.redirectUris.length) usage('at least one --redirect-uri is needed');
  if (!options.postLogoutRedirectUris.length) options.postLogoutRedirectUris = [...options.redirectUris];
  if (/\s/.test(options.scope) || !options.scope) usage('--scope is one scope value');
  return options;
}

const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// Every page of the provider: self-contained, with an empty icon so the browser asks for none.
function page(title, body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"></head>
<body style="font-family: system-ui, sans-serif; max-width: 30em; margin: 2em auto">${body}</body></html>`;
}

function loginPage(uid, loginHint) {
  const action = `/interaction/${encodeURIComponent(uid)}/login`;
  return page('Sign in', `<h1>Sign in</h1>
<p>Local stand-in: any name and any password sign in; the name is who you are.</p>
<form method="post" action="${action}" autocomplete="off">
<p><label>Name <input required name="login" value="${escapeHtml(loginHint || '')}" autofocus></label></p>
<p><label>Password <input required type="password" name="password"></label></p>
<button type="submit">Sign in</button>
</form>`);
}

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
      if (body.length > 10_000) reject(new Error('form too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

// The interaction routes oidc-provider leaves to the application (it finishes them): the login page and
// its form, and a consent that loadExistingGrant already gave (answered as granted, should it come).
async function interaction(provider, req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new errors.InvalidRequest('interaction mismatch');
  if (details.prompt.name === 'login' && req.method === 'GET' && !action) {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(loginPage(uid, details.params.login_hint));
    return;
  }
  if (details.prompt.name === 'login' && req.method === 'POST' && action === 'login') {
    const login = (await readForm(req)).get('login')?.trim();
    if (!login) throw new errors.InvalidRequest('a login name is needed');
    await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
    return;
  }
  if (details.prompt.name === 'consent') {
    // As oidc-provider's own development interactions grant it.
    const { prompt: { details: missing }, grantId, session, params } = details;
    const grant = grantId
      ? await provider.Grant.find(grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scope] of Object.entries(missing.missingResourceScopes || {})) {
      grant.addResourceScope(indicator, scope.join(' '));
    }
    await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
    return;
  }
  res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(`unexpected ${req.method} for the ${details.prompt.name} prompt`);
}

// Consent is implied for our own client: the grant covers whatever this authorization request asks for
// (its OpenID scopes, and every scope of the resource server), so the login page is never followed by a
// consent page. The access token still carries only the scopes the request named.
async function autoGrant(ctx) {
  const { oidc } = ctx;
  const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
  let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  if (!grant) {
    grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
  }
  grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
  for (const [indicator, resourceServer] of Object.entries(oidc.resourceServers)) {
    grant.addResourceScope(indicator, resourceServer.scope);
  }
  await grant.save();
  return grant;
}

function configuration(options, signingKey) {
  const origins = new Set(options.redirectUris.map((uri) => new URL(uri).origin));
  const ttl = options.accessTokenTtl;
  return {
    clients: [{
      client_id: options.clientId,
      application_type: 'web',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: options.redirectUris,
      post_logout_redirect_uris: options.postLogoutRedirectUris,
    }],
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    // Every login name is an account whose subject is that name.
    findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    loadExistingGrant: autoGrant,
    issueRefreshToken: (ctx, client) => client.grantTypeAllowed('refresh_token'),
    clientBasedCORS: (ctx, origin) => origins.has(origin),
    pkce: { methods: ['S256'], required: () => true },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      revocation: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource(ctx, form) {
          ctx.body = page('Sign out', `${form}
<p>Signing out of ${escapeHtml(ctx.host)}…</p>
<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>
<script>document.getElementById('op.logoutForm').requestSubmit(document.querySelector('button[name=logout]'))</script>`);
        },
        postLogoutSuccessSource(ctx) {
          ctx.body = page('Signed out', '<h1>Signed out</h1>');
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo(ctx, indicator) {
          if (indicator !== RESOURCE) throw new errors.InvalidTarget();
          return {
            scope: options.scope,
            audience: options.audience,
            accessTokenTTL: ttl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    ttl: {
      AccessToken: ttl,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 3600,
      Grant: 14 * 24 * 3600,
      Session: 14 * 24 * 3600,
      RefreshToken: 14 * 24 * 3600,
    },
    renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page('Error', `<h1>${escapeHtml(out.error)}</h1><p>${escapeHtml(out.error_description || '')}</p>`);
    },
  };
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };

  // Listen first: the issuer names the port, and --port 0 only knows it once bound.
  const server = http.createServer();
  server.listen(options.port, options.host, function () {
    const { port } = server.address();
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    const issuer = `http://${host}:${port}`;
    const provider = new Provider(issuer, configuration(options, signingKey));
    const callback = provider.callback();
    server.on('request', (req, res) => {
      const { pathname } = new URL(req.url, issuer);
      if (pathname === '/favicon.ico') {
        res.writeHead(204, { 'Cache-Control': 'max-age=86400' });
        res.end();
        return;
      }
      const found = /^\/interaction\/([^/]+)(?:\/(login))?$/.exec(pathname);
      if (!found) {
        callback(req, res);
        return;
      }
      interaction(provider, req, res, decodeURIComponent(found[1]), found[2]).catch((err) => {
        if (res.headersSent) return;
        res.writeHead(err.statusCode || 400, { 'Content-Type': 'text/html; charset=utf-8' });
        res.end(page('Error', `<h1>${escapeHtml(err.error || 'error')}</h1><p>${escapeHtml(err.error_description || err.message)}</p>`));
      });
    });
    process.stdout.write(JSON.stringify({ issuer, port }) + '\n');
  });
  server.on('error', function (err) {
    process.stderr.write(`provider.mjs: ${err.message}\n`);
    process.exit(1);
  });

  const stop = function () { process.exit(0); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (options.exitOnStdinEof) {
    process.stdin.on('end', stop);
    process.stdin.on('error', stop);
    process.stdin.resume();
  }
}

main();
