/**
 * Performance marks, so the connection timeline can be measured (bench/connect) without a global hook.
 * Each call clears them when it starts, so the latest call's timeline is the one on record.
 */
export const MARKS = Object.freeze({
  connect: 'realtime-vend:connect',
  secretReady: 'realtime-vend:secret-ready',
  answer: 'realtime-vend:answer',
  channelOpen: 'realtime-vend:channel-open',
  remoteTrack: 'realtime-vend:remote-track',
});
