/**
 * The signed-in state on the page: who is signed in with a sign-out, or a Sign in button in place of
 * Connect. Text only; it decides nothing about the session itself.
 */

export class AccountView {
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
    if (!signedIn && !busy) {
      this.connect.hidden = true;
      this.hint.textContent =
        state === 'expired' ? 'Sign in again to continue; the conversation stays on screen.' : 'Sign in to talk to the assistant.';
    }
  }
}
