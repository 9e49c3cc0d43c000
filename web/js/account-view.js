/**
 * The signed-in state on the page: who is signed in with a sign-out, or a Sign in button in place of
 * Connect. Text only; it decides nothing about the session itself. Loaded with sign-in, only on a
 * stack that signs visitors in.
 */

export class AccountView {
  /** the "sign in" hint this view put in place of the status's own, while it is still shown */
  #asked = '';
  /** the status's hint that it replaced, put back once the visitor is signed in */
  #replaced = '';

  /**
   * @param {object} elements
   * @param {HTMLElement} elements.account   "Signed in as …" and Sign out; hidden when nobody is
   * @param {HTMLElement} elements.name
   * @param {HTMLElement} elements.signIn    shown instead of Connect while nobody is signed in
   * @param {HTMLElement} elements.connect
   * @param {HTMLElement} elements.hint      the status's "what to do next", which then says to sign in
   */
  constructor({ account, name, signIn, connect, hint }) {
    this.account = account;
    this.name = name;
    this.signIn = signIn;
    this.connect = connect;
    this.hint = hint;
  }

  /**
   * @param {'signed_out' | 'signed_in' | 'expired'} state
   * @param {string} user
   * @param {boolean} busy  a call is being set up or is live: it keeps its Disconnect button
   */
  render(state, user, busy) {
    const signedIn = state === 'signed_in';
    this.account.hidden = !signedIn;
    this.name.textContent = signedIn ? user : '';
    this.signIn.hidden = signedIn || busy;
    this.signIn.textContent = state === 'expired' ? 'Sign in again' : 'Sign in';
    const shown = this.hint.textContent;
    if (!signedIn && !busy) {
      this.connect.hidden = true;
      if (shown !== this.#asked) this.#replaced = shown;
      this.#asked =
        state === 'expired' ? 'Sign in again to continue; the conversation stays on screen.' : 'Sign in to talk to the assistant.';
      this.hint.textContent = this.#asked;
    } else {
      // Unless the status has written a hint of its own since, its hint comes back.
      if (this.#asked && shown === this.#asked) this.hint.textContent = this.#replaced;
      this.#asked = '';
    }
  }
}
