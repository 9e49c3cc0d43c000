/**
 * Warms the connection to the realtime endpoint while the user is still reading the page, so the
 * SDP offer after the click does not also pay for DNS, TCP and TLS (two to three round trips to a
 * far-away API). It sends nothing and needs neither the microphone nor a client secret.
 */

/**
 * Adds a `<link rel="preconnect">` for the origin of `url`.
 * @param {string} url
 */
export function preconnect(url) {
  const link = document.createElement('link');
  link.rel = 'preconnect';
  link.href = new URL(url).origin;
  // The offer is a CORS request without credentials: only an anonymous preconnect can be reused by it.
  link.crossOrigin = 'anonymous';
  document.head.append(link);
}
