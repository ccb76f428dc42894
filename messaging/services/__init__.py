"""Messaging's writes, one module a concern:

- `sending`: accept a message for sending (`message_send`).
- `routing`: which handle sends it, on which channel, in which chat.
- `lifecycle`: status transitions, retry, cancel, expiry; `dispatch_soon`.
- `dispatch`: paced dispatch per handle, in batches, and the sweeper behind it.
- `dispatch_wakeups`: waking the dispatcher through Redis (coalesced runs and timers).
- `inbound`: what devices report (send results, receipts, inbound messages, reactions and
  group changes by others).
- `actions`: edit, react, unsend, typing and read, through the device.
- `groups`: create, rename, add and remove people, through the device.
- `attachments`: uploads, claiming them for a message, purging unused ones.
- `pausing`: what an operator's pause of a handle means for its queued messages.

Reads are in `messaging.selectors`; event payloads in `messaging.events`.
"""
