// Zod, the SDK's schema library, builds its first object schema by probing `new Function`. Under
// a CSP without 'unsafe-eval' (ours) the probe is refused and reported as a violation on every
// load, though parsing still works. `jitless` skips the probe; main.js imports this module before
// the SDK so the setting exists when the SDK's modules build their schemas.
import { config } from 'zod/v4/core';

config({ jitless: true });
