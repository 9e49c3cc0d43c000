/**
 * The signed-in visitor: OpenID Connect authorization code + PKCE against the issuer config.json
 * names, with oauth4webapi (vendored, web/js/vendor) doing every protocol step and check.
 *
 * - Tokens are kept in this object only (memory): a reload forgets them, and the visitor signs in
 *   again, usually without typing anything, since the identity provider remembers its own session.
 * - The access token goes on every `/api/*` request. Before a request needs it, it is renewed with the
 *   refresh token if it has less than `RENEW_MARGIN` of its life left; a timer also renews it ahead of
 *   time, so a reconnect mid-call does not wait for the token endpoint.
 * - When it can no longer be renewed (or the API refuses it), the session is 'expired': the page asks
 *   the visitor to sign in again, and the transcript travels through the redirect (redirect-state.js).
 *
 * States: 'signed_out' → (redirect) → 'signed_in' ⇄ 'expired'; every change dispatches `change`.
 */
import * as oauth from '../vendor/oauth4webapi.js';
import { UserFacingError } from '../user-facing-error.js';
import { rememberSignedIn, rememberSignIn, takeSignIn, wasSignedIn } from './redirect-state.js';

/** @typedef {'signed_out' | 'signed_in' | 'expired'} SignInState */

/**
 * @typedef {object} AuthConfig  config.json's `auth`
 * @property {string} issuer
 * @property {string} clientId
 * @property {string} audience
 * @property {string} scope   what the API's routes require (in the access token's scope or scp)
 * @property {string} requestScope  how to ask the provider for it (Entra ID: `api://<app>/Call` for `Call`)
 */

/** Renew when less than this much of the token's life is left (and at most a minute before expiry). */
const RENEW_FRACTION = 0.3;
const RENEW_MARGIN_MS = 60_000;
const RETRY_AFTER_NETWORK_ERROR_MS = 5_000;
/** The callback's own query parameters, removed from the address bar once read. */
const CALLBACK_PARAMETERS = ['code', 'state', 'iss', 'error', 'error_description', 'error_uri', 'session_state'];

const EXPIRED_MESSAGE = 'Your sign-in has expired. Sign in again to continue; the conversation stays on screen.';

export class SignInSession extends EventTarget {
  /** @type {SignInState} */
  #state = 'signed_out';
  /** @type {oauth.AuthorizationServer | null} */
  #server = null;
  #accessToken = '';
  #refreshToken = '';
  #idToken = '';
  /** when the access token expires and when it was issued, epoch ms */
  #expiresAt = 0;
  #issuedAt = 0;
  /** @type {Promise<void> | null} one renewal at a time */
  #renewing = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #renewTimer;
  /** @type {string} */
  #user = '';

  /**
   * @param {AuthConfig} config
   * @param {{redirectUri?: string}} [options]  where the provider sends the visitor back: this page
   */
  constructor(config, { redirectUri = new URL('.', location.href).href } = {}) {
    super();
    this.config = config;
    this.client = /** @type {oauth.Client} */ ({ client_id: config.clientId });
    this.redirectUri = redirectUri;
    // http only for an issuer on this machine (the local stack's provider); anything else is https.
    const issuer = new URL(config.issuer);
    const loopback = issuer.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname);
    this.requestOptions = loopback ? { [oauth.allowInsecureRequests]: true } : {};
  }

  /** @returns {SignInState} */
  get state() {
    return this.#state;
  }

  /** @returns {string} who is signed in, as the identity provider names them */
  get user() {
    return this.#user;
  }

  /**
   * Loads the provider's metadata and, when the page is the sign-in callback, finishes signing in.
   * @returns {Promise<Array<{role: 'user' | 'assistant', text: string}> | null>} the transcript that
   *   was on screen before the redirect, or null when this load is not a callback
   * @throws {UserFacingError} when the provider cannot be reached or the sign-in failed
   */
  async start() {
    const url = new URL(location.href);
    const callback = url.searchParams.has('state') && (url.searchParams.has('code') || url.searchParams.has('error'));
    const parameters = new URLSearchParams(url.search);
    const pending = callback ? takeSignIn() : null;
    if (callback) {
      // Off the address bar at once: a reload, a bookmark or a shared link must not carry the code.
      // The page's own query (`?mode=`, say) comes back as it was before the redirect.
      for (const name of CALLBACK_PARAMETERS) url.searchParams.delete(name);
      if (pending) url.search = pending.returnQuery;
      history.replaceState(history.state, '', url.href);
    }
    const server = await this.#discover();
    if (!callback && wasSignedIn()) {
      // A reload of a signed-in tab: back through the provider without a prompt. The mark goes first,
      // so an attempt that fails cannot loop.
      rememberSignedIn(false);
      await this.signIn([], { silent: true });
      return new Promise(() => {}); // the page is leaving
    }
    // Not a sign-in this tab started (a used link, or the provider's own sign-in page opened directly):
    // nothing to redeem; the visitor signs in from the page, usually without typing again.
    if (!callback || !pending) return null;
    try {
      // Checks the state (CSRF), the issuer (mix-up) and turns an error response into an exception.
      const validated = oauth.validateAuthResponse(server, this.client, parameters, pending.state);
      await this.#finishSignIn(validated, pending);
    } catch (error) {
      // A silent attempt the provider answered with "needs the visitor" (login_required and the like):
      // simply signed out, as before the reload.
      if (pending.silent && error instanceof oauth.AuthorizationResponseError) return null;
      throw signInFailure(error);
    }
    rememberSignedIn();
    return pending.transcript;
  }

  /**
   * Sends the visitor to the provider's sign-in page (a full-page redirect).
   * @param {Array<{role: 'user' | 'assistant', text: string}>} [transcript]  kept for the return
   * @param {{silent?: boolean}} [options]  `silent`: `prompt=none`, the provider answers at once
   */
  async signIn(transcript = [], { silent = false } = {}) {
    const server = await this.#discover();
    const codeVerifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    const authorize = new URL(/** @type {string} */ (server.authorization_endpoint));
    authorize.searchParams.set('client_id', this.config.clientId);
    authorize.searchParams.set('redirect_uri', this.redirectUri);
    authorize.searchParams.set('response_type', 'code');
    authorize.searchParams.set('scope', this.#scopes(server));
    authorize.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(codeVerifier));
    authorize.searchParams.set('code_challenge_method', 'S256');
    authorize.searchParams.set('state', state);
    authorize.searchParams.set('nonce', nonce);
    if (silent) authorize.searchParams.set('prompt', 'none');
    // Auth0 issues a JWT access token only for a named API (its `audience`); a provider whose access
    // tokens name the page's own client needs nothing, and others ignore the parameter.
    if (this.config.audience && this.config.audience !== this.config.clientId) {
      authorize.searchParams.set('audience', this.config.audience);
    }
    rememberSignIn({ state, nonce, codeVerifier, transcript, returnQuery: location.search, silent });
    location.assign(authorize.href);
  }

  /**
   * Forgets the tokens and, where the provider offers it, ends its session too (another redirect), so
   * the next visitor at this browser is asked to sign in.
   */
  signOut() {
    const idToken = this.#idToken;
    this.#forget('signed_out');
    rememberSignedIn(false);
    const endSession = this.#server?.end_session_endpoint;
    if (!endSession) return;
    const logout = new URL(endSession);
    logout.searchParams.set('client_id', this.config.clientId);
    logout.searchParams.set('post_logout_redirect_uri', this.redirectUri);
    if (idToken) logout.searchParams.set('id_token_hint', idToken);
    // Cognito's /logout takes `logout_uri` instead of the standard parameter.
    logout.searchParams.set('logout_uri', this.redirectUri);
    location.assign(logout.href);
  }

  /** The API refused the token (revoked, or the clock was off): the visitor has to sign in again. */
  expire() {
    if (this.#state === 'signed_in') this.#forget('expired');
  }

  /**
   * `Authorization` for a request about to leave, renewing the token first if it expires soon.
   * @returns {Promise<string>}
   * @throws {UserFacingError} `sign_in_required` when the visitor has to sign in (again)
   */
  async authorization() {
    if (this.#state !== 'signed_in') throw this.#signInRequired();
    if (Date.now() >= this.#renewAt()) await this.#renew();
    if (this.#state !== 'signed_in' || Date.now() >= this.#expiresAt) throw this.#signInRequired();
    return `Bearer ${this.#accessToken}`;
  }

  /** @returns {string} `Authorization` as it stands, without waiting; empty when there is none */
  authorizationNow() {
    return this.#state === 'signed_in' && Date.now() < this.#expiresAt ? `Bearer ${this.#accessToken}` : '';
  }

  /** @returns {import('./credentials.js').ApiCredentials} for the call's requests */
  credentials() {
    return {
      headers: async () => ({ Authorization: await this.authorization() }),
      headersNow: () => {
        const value = this.authorizationNow();
        return value ? { Authorization: value } : {};
      },
    };
  }

  /** @returns {Promise<oauth.AuthorizationServer>} */
  async #discover() {
    if (this.#server) return this.#server;
    const issuer = new URL(this.config.issuer);
    try {
      const response = await oauth.discoveryRequest(issuer, { ...this.requestOptions, algorithm: 'oidc' });
      this.#server = await oauth.processDiscoveryResponse(issuer, response);
    } catch (error) {
      throw new UserFacingError('The sign-in service could not be reached. Check your connection and reload the page.', {
        code: 'sign_in_unavailable',
        cause: error,
      });
    }
    return this.#server;
  }

  /**
   * The scopes to ask for: openid, the API's, profile/email to show who is signed in, and
   * offline_access where the provider needs it for a refresh token (Cognito refuses it: it is left
   * out unless the provider's metadata lists it).
   * @param {oauth.AuthorizationServer} server
   */
  #scopes(server) {
    const supported = new Set(server.scopes_supported ?? []);
    const optional = ['profile', 'email', 'offline_access'].filter((scope) => supported.has(scope));
    const api = (this.config.requestScope || this.config.scope).split(' ').filter(Boolean);
    return [...new Set(['openid', ...optional, ...api])].join(' ');
  }

  /**
   * @param {URLSearchParams} parameters  the validated callback parameters
   * @param {{codeVerifier: string, nonce: string}} pending
   */
  async #finishSignIn(parameters, pending) {
    const server = await this.#discover();
    const response = await oauth.authorizationCodeGrantRequest(
      server,
      this.client,
      oauth.None(),
      parameters,
      this.redirectUri,
      pending.codeVerifier,
      this.requestOptions,
    );
    const tokens = await oauth.processAuthorizationCodeResponse(server, this.client, response, {
      expectedNonce: pending.nonce,
      requireIdToken: true,
    });
    const claims = oauth.getValidatedIdTokenClaims(tokens);
    const name = claims?.preferred_username ?? claims?.email ?? claims?.name ?? claims?.sub ?? '';
    this.#user = typeof name === 'string' ? name : String(name);
    this.#accept(tokens);
  }

  /** @param {oauth.TokenEndpointResponse} tokens */
  #accept(tokens) {
    if (tokens.token_type.toLowerCase() !== 'bearer' || !tokens.access_token) {
      throw new Error('the token endpoint answered without a bearer access token');
    }
    this.#accessToken = tokens.access_token;
    if (tokens.refresh_token) this.#refreshToken = tokens.refresh_token;
    if (tokens.id_token) this.#idToken = tokens.id_token;
    this.#issuedAt = Date.now();
    // A token without expires_in is taken to last five minutes: it will be renewed or refused by then.
    this.#expiresAt = this.#issuedAt + (tokens.expires_in ?? 300) * 1000;
    this.#setState('signed_in');
    this.#scheduleRenewal();
  }

  #renewAt() {
    const margin = Math.min(RENEW_MARGIN_MS, (this.#expiresAt - this.#issuedAt) * RENEW_FRACTION);
    return this.#expiresAt - margin;
  }

  /** @param {number} [delayMs]  by default, when the token reaches its renewal point */
  #scheduleRenewal(delayMs = this.#renewAt() - Date.now()) {
    clearTimeout(this.#renewTimer);
    if (!this.#refreshToken) return;
    this.#renewTimer = setTimeout(() => void this.#renew(), Math.max(0, delayMs));
  }

  /** Renews with the refresh token; without one, or refused, the session expires with the token. */
  #renew() {
    this.#renewing ??= this.#refresh().finally(() => {
      this.#renewing = null;
    });
    return this.#renewing;
  }

  async #refresh() {
    if (!this.#refreshToken || !this.#server) {
      if (Date.now() >= this.#expiresAt) this.#forget('expired');
      return;
    }
    try {
      const response = await oauth.refreshTokenGrantRequest(
        this.#server,
        this.client,
        oauth.None(),
        this.#refreshToken,
        this.requestOptions,
      );
      this.#accept(await oauth.processRefreshTokenResponse(this.#server, this.client, response));
    } catch (error) {
      // A refused refresh token (revoked, expired session) will not work later either; a network error
      // might, so the token in hand stays usable until it expires.
      if (error instanceof oauth.ResponseBodyError || Date.now() >= this.#expiresAt) this.#forget('expired');
      else this.#scheduleRenewal(RETRY_AFTER_NETWORK_ERROR_MS);
    }
  }

  /** @param {SignInState} state */
  #forget(state) {
    clearTimeout(this.#renewTimer);
    this.#accessToken = '';
    this.#refreshToken = '';
    this.#idToken = '';
    this.#expiresAt = 0;
    if (state === 'signed_out') this.#user = '';
    this.#setState(state);
  }

  /** @param {SignInState} state */
  #setState(state) {
    if (this.#state === state) return;
    this.#state = state;
    this.dispatchEvent(new CustomEvent('change', { detail: { state } }));
  }

  #signInRequired() {
    const message = this.#state === 'expired' ? EXPIRED_MESSAGE : 'Sign in to start a call.';
    return new UserFacingError(message, { code: 'sign_in_required' });
  }
}

/**
 * @param {unknown} error
 * @returns {UserFacingError}
 */
function signInFailure(error) {
  if (error instanceof UserFacingError) return error;
  if (error instanceof oauth.AuthorizationResponseError && error.error === 'access_denied') {
    return new UserFacingError('Sign-in was cancelled. Sign in to start a call.', { code: 'sign_in_cancelled', cause: error });
  }
  return new UserFacingError("Signing in did not work. Sign in again; if it keeps failing, the site's sign-in settings need checking.", {
    code: 'sign_in_failed',
    cause: error,
  });
}
