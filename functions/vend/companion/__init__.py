"""The companion: a Lambda invocation that holds one relayed call's sideband until the call ends.

handler (the Lambda entry) → session (the loop) → sideband (the WebSocket), dispatch (one server
event → metering, tool answers), timer (cap, hand-over, deadline), handover, finalise. docs/companion.md
tells the whole story and its failure modes.
"""
